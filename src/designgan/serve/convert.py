"""Turn library results (PIL images, recipes, keyword resolutions) into response bodies."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from ..pipeline import DesignModel, KeywordResolution, builtin_model_path
from ..recipes import RECIPE_TEXT_KEY
from .schemas import IdeaOut, KeywordMappingOut, KeywordResolutionOut


def model_name(model: DesignModel) -> str:
    """Return the name that stands for the model in responses: "builtin" or the model folder's name."""
    if model.path.resolve() == builtin_model_path().resolve():
        return "builtin"
    return model.path.name


def public_recipe(recipe: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the recipe with the model's folder path replaced by its name.

    The absolute path would tell every client how the server's disk is laid out;
    model_sha256 still identifies the weights exactly.
    """
    recipe = dict(recipe)
    if "model" in recipe:
        recipe["model"] = name
    return recipe


def png_base64(image: Image.Image, recipe: dict[str, Any]) -> str:
    """Encode an image as PNG with the recipe in its text chunk, as `designgan generate --out-dir` writes it."""
    info = PngInfo()
    info.add_text(RECIPE_TEXT_KEY, json.dumps(recipe, indent=2, sort_keys=True))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def idea_out(image: Image.Image, recipe: dict[str, Any], name: str) -> IdeaOut:
    recipe = public_recipe(recipe, name)
    return IdeaOut(image_png_base64=png_base64(image, recipe), recipe=recipe)


def resolution_out(resolution: KeywordResolution) -> KeywordResolutionOut:
    return KeywordResolutionOut(
        requested=resolution.requested,
        known=resolution.known,
        mappings=[KeywordMappingOut(word=m.word, keyword=m.keyword, method=m.method, score=m.score)
                  for m in resolution.mappings],
        unknown=resolution.unknown,
        dropped=resolution.dropped,
        notes=resolution.describe_mappings() + resolution.describe_unknown(),
    )
