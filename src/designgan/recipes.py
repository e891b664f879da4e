"""Save generated ideas as PNG files with their reproducible recipes."""

from __future__ import annotations

import json
from pathlib import Path

from PIL.PngImagePlugin import PngInfo

from .files import atomic_write
from .pipeline import Idea

RECIPE_TEXT_KEY = "designgan-recipe"  # PNG text chunk that carries the recipe JSON


def idea_file_stem(idea: Idea) -> str:
    keywords = "-".join(k.replace(" ", "_") for k in idea.recipe["keywords"])[:60] or "idea"
    return f"{keywords}-seed{idea.recipe['seed']}"


def save_idea(idea: Idea, out_dir: str | Path) -> Path:
    """Write IDEA.png (the recipe also in a PNG text chunk) and IDEA.json beside it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = idea_file_stem(idea)
    text = json.dumps(idea.recipe, indent=2, sort_keys=True)
    info = PngInfo()
    info.add_text(RECIPE_TEXT_KEY, text)
    png_path = out_dir / f"{stem}.png"
    atomic_write(png_path, lambda handle: idea.image.save(handle, format="PNG", pnginfo=info))
    atomic_write(out_dir / f"{stem}.json", lambda handle: handle.write((text + "\n").encode("utf-8")))
    return png_path
