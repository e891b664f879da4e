// designgan studio: a page over the HTTP API of the same server, with no build step.
// Server text is only ever inserted with textContent, never as HTML.

import { ApiError, MAX_KEYWORDS, MAX_KEYWORD_CHARS, api } from "./api.js";
import { closeSuggestions, setUpAutocomplete } from "./autocomplete.js";
import { altText, describe, fileStem, isGenerated, makeIdea, newKey, recipeKey } from "./ideas.js";

const MAX_FAVOURITES = 60; // each favourite stores its PNG in localStorage, which browsers cap at about 5 MB
const SLIDER_DELAY_MS = 150;

const byId = (id) => document.getElementById(id);

const state = {
  model: null, // the /v1/model response
  paths: new Set(), // API paths the server offers, from its OpenAPI document
  ideas: [], // the current grid
  selected: null, // the generated idea in the detail panel
  shown: null, // what the detail panel shows: the selected idea or an edit of it
  picked: [], // up to two generated ideas to morph or blend
  favourites: [],
};

function setStatus(text, isError = false) {
  const status = byId("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

// ---- the grid of ideas -----------------------------------------------------

function renderGrid(container, ideas, { pickable = false } = {}) {
  // Re-rendering replaces the buttons, so remember which one had the focus and
  // focus its replacement: keyboard users keep their place after a click.
  const focused = container.contains(document.activeElement) ? document.activeElement : null;
  const focusedTile = focused ? focused.closest(".idea") : null;
  const focusKey = focusedTile ? focusedTile.dataset.key : null;
  const focusRole = focused ? focused.dataset.role : null;
  container.replaceChildren();
  for (const idea of ideas) {
    const tile = document.createElement("figure");
    tile.className = "idea";
    tile.setAttribute("role", "listitem");
    tile.dataset.key = String(idea.key);
    tile.classList.toggle("selected", state.shown !== null && state.shown.key === idea.key);
    tile.classList.toggle("picked", state.picked.some((p) => p.key === idea.key));

    const open = document.createElement("button");
    open.type = "button";
    open.className = "idea-open";
    open.dataset.role = "open";
    open.setAttribute("aria-label", `Open ${altText(idea)}`);
    const image = document.createElement("img");
    image.src = idea.src;
    image.alt = altText(idea);
    image.width = 128;
    image.height = 128;
    open.append(image);
    open.addEventListener("click", () => openDetail(idea));

    const caption = document.createElement("figcaption");
    caption.textContent = describe(idea);

    const actions = document.createElement("div");
    actions.className = "idea-actions";
    const star = document.createElement("button");
    star.type = "button";
    star.dataset.role = "star";
    const favourite = isFavourite(idea);
    star.textContent = favourite ? "★" : "☆";
    star.setAttribute("aria-pressed", String(favourite));
    star.setAttribute("aria-label", `Favourite: ${describe(idea)}`);
    star.addEventListener("click", () => toggleFavourite(idea));
    actions.append(star);
    if (pickable && state.paths.has("/v1/morph")) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.dataset.role = "pick";
      box.checked = state.picked.some((p) => p.key === idea.key);
      box.addEventListener("change", () => togglePick(idea, box.checked));
      label.append(box, document.createTextNode(" Pick"));
      label.title = "Pick two ideas to morph or blend them";
      actions.append(label);
    }
    tile.append(open, caption, actions);
    container.append(tile);
  }
  if (focusKey !== null && focusRole) {
    const target = container.querySelector(`[data-key="${focusKey}"] [data-role="${focusRole}"]`);
    if (target) target.focus();
  }
}

// ---- generate --------------------------------------------------------------

function keywordItems(text) {
  // Commas separate keywords; a part longer than the API's limit is split at spaces.
  const items = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    if (part.length <= MAX_KEYWORD_CHARS) {
      items.push(part);
      continue;
    }
    let chunk = "";
    for (const word of part.split(/\s+/)) {
      if (chunk && chunk.length + 1 + word.length > MAX_KEYWORD_CHARS) {
        items.push(chunk);
        chunk = "";
      }
      chunk = chunk ? `${chunk} ${word}` : word.slice(0, MAX_KEYWORD_CHARS);
    }
    if (chunk) items.push(chunk);
  }
  return items;
}

function showKeywordNotes(resolution) {
  const list = byId("keyword-notes");
  list.replaceChildren();
  resolution.notes.forEach((note, index) => {
    const item = document.createElement("li");
    item.textContent = note;
    if (index >= resolution.mappings.length) item.className = "warning"; // unknown or dropped words
    list.append(item);
  });
}

async function generate(event) {
  event.preventDefault();
  const keywords = keywordItems(byId("keywords").value);
  if (keywords.length > MAX_KEYWORDS) {
    setStatus(`Use at most ${MAX_KEYWORDS} comma-separated keywords.`, true);
    return;
  }
  const n = Number(byId("count").value);
  const seedText = byId("seed").value.trim();
  const body = {
    keywords,
    n: Number.isInteger(n) ? n : 8,
    seed: seedText === "" ? -1 : Number(seedText),
    truncation: Number(byId("truncation").value),
    context: byId("context").checked,
  };
  closeSuggestions();
  const button = byId("generate");
  button.disabled = true;
  setStatus("Drawing ideas…");
  try {
    const result = await api("/v1/generate", body);
    state.ideas = result.ideas.map(makeIdea);
    state.picked = [];
    showKeywordNotes(result.keywords);
    renderIdeas();
    const words = result.keywords.known.join(", ") || "no keywords";
    setStatus(`${state.ideas.length} ideas for ${words}, seeds ${result.seed}–${result.seed + state.ideas.length - 1}.`);
  } catch (error) {
    setStatus(error instanceof ApiError ? error.message : `Request failed: ${error}`, true);
  } finally {
    button.disabled = false;
  }
}

function renderIdeas() {
  renderGrid(byId("ideas"), state.ideas, { pickable: true });
  updatePairTools();
}


// ---- detail panel: variations, directions, downloads -----------------------

function ideaRequest(idea) {
  const recipe = idea.recipe;
  return { keywords: recipe.keywords, seed: recipe.seed, truncation: recipe.truncation };
}

function openDetail(idea) {
  if (isGenerated(idea)) state.selected = idea;
  showInDetail(idea);
  const generated = isGenerated(idea);
  byId("variations-tools").hidden = !(generated && state.paths.has("/v1/variations"));
  byId("directions-tools").hidden = !(generated && state.paths.has("/v1/edit") && byId("directions").children.length);
  resetSliders();
  if (generated) byId("detail-results-panel").hidden = true;
  const panel = byId("detail");
  panel.hidden = false;
  panel.focus();
  renderIdeas();
}

function showInDetail(idea) {
  state.shown = idea;
  const image = byId("detail-image");
  image.src = idea.src;
  image.alt = altText(idea);
  byId("detail-title").textContent = isGenerated(idea) ? "Idea" : `Idea (${idea.recipe.operation})`;
  byId("detail-caption").textContent = describe(idea);
  byId("detail-recipe").textContent = JSON.stringify(idea.recipe, null, 2);
  const link = byId("download-png");
  link.href = idea.src;
  link.download = `${fileStem(idea)}.png`;
  const favourite = isFavourite(idea);
  const button = byId("favourite");
  button.setAttribute("aria-pressed", String(favourite));
  button.textContent = favourite ? "Remove from favourites" : "Add to favourites";
}

function closeDetail() {
  const key = state.selected ? state.selected.key : null;
  byId("detail").hidden = true;
  state.shown = null;
  renderIdeas();
  // Return the focus to the idea that was open, or to the keyword box.
  const tile = key === null ? null : byId("ideas").querySelector(`[data-key="${key}"] .idea-open`);
  (tile || byId("keywords")).focus();
}

function downloadRecipe() {
  const idea = state.shown;
  if (!idea) return;
  const blob = new Blob([`${JSON.stringify(idea.recipe, null, 2)}\n`], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = `${fileStem(idea)}.json`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function showVariations() {
  const idea = state.selected;
  if (!idea) return;
  const button = byId("variations");
  button.disabled = true;
  setStatus("Drawing variations…");
  try {
    const result = await api("/v1/variations", {
      idea: ideaRequest(idea), count: 7, radius: Number(byId("variation-radius").value),
    });
    const frames = result.frames.slice(1).map(makeIdea); // frame 0 is the idea itself
    byId("detail-results-title").textContent = `Variations of seed ${idea.recipe.seed}`;
    renderGrid(byId("detail-results"), frames);
    byId("detail-results-panel").hidden = false;
    setStatus(`${frames.length} variations drawn.`);
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    button.disabled = false;
  }
}

async function loadDirections() {
  if (!state.paths.has("/v1/directions")) return;
  let result;
  try {
    result = await api("/v1/directions");
  } catch (error) {
    return; // the studio works without sliders
  }
  const container = byId("directions");
  container.replaceChildren();
  const sliders = result.keyword_directions.filter((d) => d.reliable)
    .sort((a, b) => b.val_accuracy - a.val_accuracy).slice(0, 6)
    .map((d) => ({ label: d.keyword, method: "direction", keyword: d.keyword }));
  for (const sefa of result.sefa_directions.slice(0, sliders.length ? 2 : 4)) {
    sliders.push({ label: `Direction ${sefa.component + 1}`, method: "sefa", component: sefa.component });
  }
  byId("directions-help").textContent = result.keyword_directions.length
    ? "Move a slider to push the idea toward (right) or away from (left) a keyword. Numbered directions are the ones the generator varies most, without a keyword. One slider acts at a time."
    : "Numbered directions are the ones the generator varies most (SeFa); they have no keyword. Move a slider to see what one changes; one acts at a time.";
  sliders.forEach((spec, index) => {
    const row = document.createElement("div");
    row.className = "direction";
    const id = `direction-${index}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = spec.label;
    const slider = document.createElement("input");
    slider.type = "range";
    slider.id = id;
    slider.min = "-2";
    slider.max = "2";
    slider.step = "0.25";
    slider.value = "0";
    const output = document.createElement("output");
    output.htmlFor = id;
    output.textContent = "0";
    let timer = null;
    slider.addEventListener("input", () => {
      output.textContent = slider.value;
      clearTimeout(timer);
      timer = setTimeout(() => applyDirection(spec, slider), SLIDER_DELAY_MS);
    });
    row.append(label, slider, output);
    container.append(row);
  });
}

function resetSliders(except = null) {
  for (const slider of byId("directions").querySelectorAll("input[type=range]")) {
    if (slider === except) continue;
    slider.value = "0";
    slider.nextElementSibling.textContent = "0";
  }
}

async function applyDirection(spec, slider) {
  const idea = state.selected;
  if (!idea) return;
  resetSliders(slider); // one direction at a time, so the picture shows what this slider does
  const value = Number(slider.value);
  if (value === 0) {
    showInDetail(idea);
    return;
  }
  const body = { idea: ideaRequest(idea), method: spec.method, strength: Math.abs(value) };
  if (spec.method === "sefa") {
    body.component = spec.component;
    body.steps = 2; // a SeFa strip runs from -strength to +strength with the idea in the middle
  } else {
    body.steps = 1;
    body[value > 0 ? "more" : "less"] = [spec.keyword];
  }
  setStatus(`Moving along ${spec.label}…`);
  try {
    const result = await api("/v1/edit", body);
    if (Number(slider.value) !== value || state.selected !== idea) return; // moved or closed meanwhile
    const frames = result.frames;
    const frame = spec.method === "sefa" && value < 0 ? frames[0] : frames[frames.length - 1];
    const edited = makeIdea(frame);
    edited.note = `${spec.label} at ${value}`;
    showInDetail(edited);
    setStatus(`${spec.label} at ${value}.`);
  } catch (error) {
    setStatus(error.message, true);
  }
}

// ---- morph and blend -------------------------------------------------------

function togglePick(idea, picked) {
  state.picked = state.picked.filter((p) => p.key !== idea.key);
  if (picked) state.picked.push(idea);
  if (state.picked.length > 2) state.picked.shift(); // keep the two most recent picks
  renderIdeas();
}

function updatePairTools() {
  const tools = byId("pair-tools");
  tools.hidden = !state.paths.has("/v1/morph") || state.ideas.length < 2;
  const ready = state.picked.length === 2;
  byId("morph").disabled = !ready;
  byId("blend").disabled = !ready || !state.paths.has("/v1/blend");
  byId("picked-count").textContent = ready ? "Two ideas picked." : `Pick two ideas to morph or blend them (${state.picked.length} of 2).`;
}

async function showStrip(kind) {
  const [first, second] = state.picked;
  const body = kind === "morph"
    ? { start: ideaRequest(first), end: ideaRequest(second), steps: 8 }
    : { idea: ideaRequest(first), to_keywords: second.recipe.keywords, steps: 7 };
  setStatus(kind === "morph" ? "Morphing…" : "Blending…");
  try {
    const result = await api(`/v1/${kind}`, body);
    const frames = result.frames.map(makeIdea);
    const strip = byId("strip");
    strip.replaceChildren();
    renderGrid(strip, frames);
    byId("strip-title").textContent = kind === "morph"
      ? `Morph from seed ${first.recipe.seed} to seed ${second.recipe.seed}`
      : `Blend of ${first.recipe.keywords.join(", ")} into ${second.recipe.keywords.join(", ")}`;
    const link = byId("download-strip");
    link.href = `data:image/png;base64,${result.strip_png_base64}`;
    link.download = `${fileStem(first)}-${kind}.png`;
    byId("strip-panel").hidden = false;
    setStatus(`${kind === "morph" ? "Morph" : "Blend"}: ${frames.length} frames.`);
  } catch (error) {
    setStatus(error.message, true);
  }
}

// ---- favourites board ------------------------------------------------------

function boardStorageKey() {
  return `designgan-favourites-${state.model ? state.model.model_id : "unknown"}`;
}

function loadFavourites() {
  try {
    state.favourites = JSON.parse(localStorage.getItem(boardStorageKey()) || "[]");
  } catch (error) {
    state.favourites = []; // a damaged entry starts a new board
  }
  state.favourites.forEach((idea) => { idea.key = newKey(); });
}

function saveFavourites() {
  const stored = state.favourites.map(({ src, recipe }) => ({ src, recipe }));
  try {
    localStorage.setItem(boardStorageKey(), JSON.stringify(stored));
  } catch (error) {
    setStatus("The browser's storage is full; remove some favourites.", true);
  }
}

function isFavourite(idea) {
  const key = recipeKey(idea.recipe);
  return state.favourites.some((f) => recipeKey(f.recipe) === key);
}

function toggleFavourite(idea) {
  const key = recipeKey(idea.recipe);
  if (isFavourite(idea)) {
    state.favourites = state.favourites.filter((f) => recipeKey(f.recipe) !== key);
  } else {
    if (state.favourites.length >= MAX_FAVOURITES) {
      setStatus(`The board holds ${MAX_FAVOURITES} favourites; remove one first.`, true);
      return;
    }
    state.favourites.push({ key: newKey(), src: idea.src, recipe: idea.recipe });
  }
  saveFavourites();
  renderBoard();
  renderIdeas();
  if (state.shown) showInDetail(state.shown);
}

function renderBoard() {
  renderGrid(byId("board"), state.favourites);
  byId("board-empty").hidden = state.favourites.length > 0;
}

// ---- start -----------------------------------------------------------------

async function start() {
  byId("generate-form").addEventListener("submit", generate);
  setUpAutocomplete();
  byId("truncation").addEventListener("input", (event) => {
    byId("truncation-value").textContent = Number(event.target.value).toFixed(2);
  });
  byId("variation-radius").addEventListener("input", (event) => {
    byId("variation-radius-value").textContent = Number(event.target.value).toFixed(2);
  });
  byId("detail-close").addEventListener("click", closeDetail);
  byId("detail").addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeDetail();
  });
  byId("favourite").addEventListener("click", () => state.shown && toggleFavourite(state.shown));
  byId("download-recipe").addEventListener("click", downloadRecipe);
  byId("variations").addEventListener("click", showVariations);
  byId("morph").addEventListener("click", () => showStrip("morph"));
  byId("blend").addEventListener("click", () => showStrip("blend"));
  byId("clear-board").addEventListener("click", () => {
    state.favourites = [];
    saveFavourites();
    renderBoard();
    renderIdeas();
  });

  try {
    const [model, spec] = await Promise.all([api("/v1/model"), api("/openapi.json")]);
    state.model = model;
    state.paths = new Set(Object.keys(spec.paths));
    const vocabulary = model.conditional ? `${model.num_keywords} keywords` : "unconditional";
    byId("model-info").textContent = `Model ${model.name} (${model.model_id}) · ${model.resolution_px} px · ${vocabulary}`;
  } catch (error) {
    setStatus(`Cannot reach the API: ${error.message}`, true);
    return;
  }
  loadFavourites();
  renderBoard();
  await loadDirections();
}

start(); // module scripts run after the document is parsed
