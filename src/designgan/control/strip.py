"""The output of a control operation: a strip of frames with its recipe, saved as PNG, JSON and animation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from ..files import atomic_write
from ..images import make_grid
from ..pipeline import DesignModel
from ..recipes import RECIPE_TEXT_KEY
from .latent import IdeaSpec

AnimationFormat = Literal["gif", "webp"]
ANIMATION_FORMATS: tuple[str, ...] = ("gif", "webp")
STRIP_PADDING_PX = 2  # white gap between frames; part of the pixels that `reproduce` compares
MAX_FRAMES = 256  # frames per strip: a 64 px strip of 256 frames is already 16,898 px wide


@dataclass
class Strip:
    """Frames of one control operation, left to right, and the recipe that re-creates them."""

    frames: list[Image.Image]
    recipe: dict[str, Any]
    latents: torch.Tensor | None = None  # (F, latent_dim) noise of each frame, for measurements

    @property
    def columns(self) -> int:
        return int(self.recipe.get("columns") or len(self.frames))

    def image(self) -> Image.Image:
        """Tile the frames into one picture, `columns` per row, as `designgan generate` tiles its grid."""
        return make_grid(np.stack([np.asarray(frame) for frame in self.frames]), columns=self.columns,
                         padding_px=STRIP_PADDING_PX)


def strip_recipe(model: DesignModel, idea: IdeaSpec, operation: str, parameters: dict[str, Any],
                 frames: int, columns: int | None = None) -> dict[str, Any]:
    """Build a recipe: the generate recipe of the starting idea plus the operation and all its parameters."""
    recipe = model.recipe(list(idea.keywords), idea.seed, idea.truncation)
    recipe.update({
        "operation": operation,
        "parameters": parameters,
        "frames": frames,
        "columns": columns if columns is not None else frames,
    })
    return recipe


def recipe_text(recipe: dict[str, Any]) -> str:
    return json.dumps(recipe, indent=2, sort_keys=True)


def save_strip(strip: Strip, path: str | Path, animation: AnimationFormat | None = None,
               frame_ms: int = 120) -> list[Path]:
    """Write PATH.png (recipe in its text chunk), PATH.json and, if requested, PATH.gif or PATH.webp.

    frame_ms: display time of each animation frame in milliseconds. The animation
    plays the frames forward and then back, so a morph loops without a jump.
    Returns the written paths, the PNG first.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{path} must name a .png file, because a PNG can carry the recipe.")
    text = recipe_text(strip.recipe)
    info = PngInfo()
    info.add_text(RECIPE_TEXT_KEY, text)
    image = strip.image()
    atomic_write(path, lambda handle: image.save(handle, format="PNG", pnginfo=info))
    sidecar = path.with_suffix(".json")
    atomic_write(sidecar, lambda handle: handle.write((text + "\n").encode("utf-8")))
    written = [path, sidecar]

    if animation is not None:
        if animation not in ANIMATION_FORMATS:
            raise ValueError(f"animation={animation!r} is invalid; use one of {', '.join(ANIMATION_FORMATS)}.")
        animated = path.with_suffix(f".{animation}")
        frames = strip.frames + strip.frames[-2:0:-1]  # forward, then back without repeating the ends
        options: dict[str, Any] = {"save_all": True, "append_images": frames[1:], "duration": frame_ms, "loop": 0}
        if animation == "webp":
            options["lossless"] = True
        atomic_write(animated, lambda handle: frames[0].save(handle, format=animation.upper(), **options))
        written.append(animated)
    return written
