// An idea in the studio: an image (data: URL) with its recipe, and how it is described.

let nextKey = 1;

/** Return a key that identifies one idea on this page. */
export function newKey() {
  return nextKey++;
}

export function makeIdea(out) {
  return { key: newKey(), src: `data:image/png;base64,${out.image_png_base64}`, recipe: out.recipe };
}

export function isGenerated(idea) {
  return idea.recipe.operation === undefined; // frames of strips carry an operation
}

export function describe(idea) {
  const recipe = idea.recipe;
  const words = recipe.keywords.length ? recipe.keywords.join(", ") : "no keywords";
  let text = `${words} · seed ${recipe.seed}`;
  if (recipe.truncation !== 1) text += ` · truncation ${recipe.truncation}`;
  if (idea.note) {
    text += ` · ${idea.note}`;
  } else if (recipe.operation) {
    text += ` · ${recipe.operation} frame ${recipe.frame + 1} of ${recipe.frames}`;
  }
  return text;
}

export function altText(idea) {
  const recipe = idea.recipe;
  const words = recipe.keywords.length ? recipe.keywords.join(", ") : "no keywords";
  const what = recipe.operation ? `${recipe.operation} frame ${recipe.frame + 1} of ${recipe.frames}` : "Generated design";
  return `${what} for ${words}, seed ${recipe.seed}`;
}

export function fileStem(idea) {
  const recipe = idea.recipe;
  const words = recipe.keywords.join("-").replace(/[^a-z0-9-]+/g, "_").slice(0, 60) || "idea";
  const frame = recipe.operation ? `-${recipe.operation}${recipe.frame}` : "";
  return `${words}-seed${recipe.seed}${frame}`;
}

export function recipeKey(recipe) {
  return JSON.stringify(recipe);
}
