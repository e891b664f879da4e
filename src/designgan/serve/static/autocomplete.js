// Keyword autocomplete for the keyword box: a combobox over GET /v1/keywords?prefix=.

import { MAX_KEYWORD_CHARS, api } from "./api.js";

const SUGGESTION_DELAY_MS = 120;
const byId = (id) => document.getElementById(id);

let suggestionTimer = null;
let activeSuggestion = -1;

function currentFragment(input) {
  const before = input.value.slice(0, input.selectionStart);
  const match = before.match(/([^\s,]*)$/);
  return { text: match[1], start: before.length - match[1].length };
}

export function closeSuggestions() {
  const list = byId("suggestions");
  list.hidden = true;
  list.replaceChildren();
  activeSuggestion = -1;
  const input = byId("keywords");
  input.setAttribute("aria-expanded", "false");
  input.removeAttribute("aria-activedescendant");
}

async function suggest() {
  const input = byId("keywords");
  const fragment = currentFragment(input);
  if (!fragment.text) {
    closeSuggestions();
    return;
  }
  let result;
  try {
    result = await api(`/v1/keywords?limit=8&prefix=${encodeURIComponent(fragment.text.slice(0, MAX_KEYWORD_CHARS))}`);
  } catch (error) {
    closeSuggestions(); // suggestions are optional; generation still works
    return;
  }
  if (currentFragment(input).text !== fragment.text) return; // the user typed on meanwhile

  const list = byId("suggestions");
  list.replaceChildren();
  activeSuggestion = -1;
  result.keywords.forEach((entry, index) => {
    const item = document.createElement("li");
    item.id = `suggestion-${index}`;
    item.setAttribute("role", "option");
    item.setAttribute("aria-selected", "false");
    const word = document.createElement("span");
    word.textContent = entry.keyword;
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = `${entry.count} designs`;
    item.append(word, count);
    item.addEventListener("mousedown", (event) => {
      event.preventDefault(); // keep the focus in the input
      acceptSuggestion(entry.keyword);
    });
    list.append(item);
  });

  const open = result.keywords.length > 0;
  list.hidden = !open;
  input.setAttribute("aria-expanded", String(open));
}

function moveSuggestion(step) {
  const items = [...byId("suggestions").children];
  if (!items.length) return;
  activeSuggestion = (activeSuggestion + step + items.length) % items.length;
  items.forEach((item, index) => item.setAttribute("aria-selected", String(index === activeSuggestion)));
  items[activeSuggestion].scrollIntoView({ block: "nearest" });
  byId("keywords").setAttribute("aria-activedescendant", items[activeSuggestion].id);
}

function acceptSuggestion(keyword) {
  const input = byId("keywords");
  const fragment = currentFragment(input);
  const after = input.value.slice(input.selectionStart);
  input.value = `${input.value.slice(0, fragment.start)}${keyword}, ${after.trimStart()}`;
  const caret = fragment.start + keyword.length + 2;
  input.setSelectionRange(caret, caret);
  closeSuggestions();
}

function onKeywordKey(event) {
  const list = byId("suggestions");
  if (list.hidden) return;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    moveSuggestion(event.key === "ArrowDown" ? 1 : -1);
  } else if ((event.key === "Enter" || event.key === "Tab") && activeSuggestion >= 0) {
    event.preventDefault();
    acceptSuggestion(list.children[activeSuggestion].firstChild.textContent);
  } else if (event.key === "Escape") {
    closeSuggestions();
  }
}

/** Attach autocomplete to the keyword box. */
export function setUpAutocomplete() {
  const input = byId("keywords");
  input.addEventListener("input", () => {
    clearTimeout(suggestionTimer);
    suggestionTimer = setTimeout(suggest, SUGGESTION_DELAY_MS);
  });
  input.addEventListener("keydown", onKeywordKey);
  input.addEventListener("blur", () => setTimeout(closeSuggestions, 100));
}
