"""Read the recipe stored with an output image and re-create the image from it.

A recipe is the JSON that `designgan generate` and every control command store in
the PNG's "designgan-recipe" text chunk and in a .json file beside it. It contains
the model's SHA-256, the starting idea (keywords, seed, truncation) and, for control
outputs, the operation with all of its parameters. Re-creating runs the same
computation, so on the same software and hardware the pixels are identical.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import nn

from ..images import make_grid
from ..pipeline import DesignModel
from ..recipes import RECIPE_TEXT_KEY
from .blend import BlendConfig, blend
from .direction_store import DirectionSet
from .edit import EditConfig, edit
from .interpolate import MorphConfig, morph
from .latent import IdeaSpec, module_sha256
from .strip import Strip
from .variations import VariationConfig, variations

RECIPE_VERSION = 1
OPERATIONS: tuple[str, ...] = ("generate", "edit", "morph", "blend", "variations")
DIRECTION_METHODS: tuple[str, ...] = ("direction", "direction-projected")


class RecipeError(ValueError):
    """A recipe is missing, invalid or does not match the model; the message names the file and the fix."""


@dataclass
class Reproduction:
    """An image re-created from a recipe."""

    image: Image.Image
    recipe: dict[str, Any]
    strip: Strip | None = None  # the frames, for control operations and generate grids


def read_recipe(path: str | Path) -> dict[str, Any]:
    """Return the recipe of an output: from a PNG's text chunk, else from the .json beside it (or a .json path)."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path} not found; pass a PNG written by designgan (or its .json recipe).")
    if path.suffix.lower() == ".json":
        return _parse_recipe(path.read_text(encoding="utf-8"), path)

    try:
        with Image.open(path) as image:
            text = getattr(image, "text", {}).get(RECIPE_TEXT_KEY)
    except (UnidentifiedImageError, OSError) as error:
        raise RecipeError(f"{path} is not a readable image ({error}); pass a PNG written by designgan.") from error
    if text is not None:
        return _parse_recipe(text, path)
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        return _parse_recipe(sidecar.read_text(encoding="utf-8"), sidecar)
    raise RecipeError(f"{path} has no designgan recipe (no {RECIPE_TEXT_KEY!r} text chunk and no {sidecar.name} beside it); "
                      "pass an image written by `designgan generate --out-dir`, edit, morph, blend or vary.")


def _parse_recipe(text: str, source: Path) -> dict[str, Any]:
    try:
        recipe = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecipeError(f"the recipe in {source} is not valid JSON ({error}).") from error
    if not isinstance(recipe, dict) or recipe.get("designgan_recipe") != RECIPE_VERSION:
        raise RecipeError(f"{source} does not contain a designgan recipe of version {RECIPE_VERSION}.")
    missing = [key for key in ("model_sha256", "keywords", "seed", "truncation") if key not in recipe]
    if missing:
        raise RecipeError(f"the recipe in {source} lacks {', '.join(missing)}; it cannot be reproduced.")
    operation = recipe.get("operation", "generate")
    if operation not in OPERATIONS:
        raise RecipeError(f"the recipe in {source} has operation {operation!r}; this designgan reproduces "
                          f"{', '.join(OPERATIONS)}.")
    return recipe


def needs_classifier(recipe: dict[str, Any]) -> bool:
    return recipe.get("operation") == "edit" and recipe["parameters"].get("method") == "gradient"


def needs_directions(recipe: dict[str, Any]) -> bool:
    return recipe.get("operation") == "edit" and recipe["parameters"].get("method") in DIRECTION_METHODS


def reproduce(model: DesignModel, recipe: dict[str, Any], classifier: nn.Module | None = None,
              directions: DirectionSet | None = None) -> Reproduction:
    """Re-create the image of a recipe with `model`, which must be the recipe's weights.

    Gradient edits need the classifier that guided them, and direction edits the
    saved directions they used; both are checked against the hashes in the recipe.
    """
    if recipe["model_sha256"] != model.files.sha256:
        raise RecipeError(f"the recipe was made with model sha256 {recipe['model_sha256'][:16]}..., but {model.path} "
                          f"has {model.model_id}...; pass the model that made it with --model.")
    operation = recipe.get("operation", "generate")
    parameters = recipe.get("parameters", {})
    try:
        idea = _idea_spec(model, recipe, "")
        if operation == "generate":
            return _reproduce_generate(model, recipe, idea)
        if operation == "morph":
            end = _idea_spec(model, parameters["end"], "parameters.end.")
            strip = morph(model, MorphConfig(idea, end, int(parameters["steps"])))
        elif operation == "blend":
            strip = blend(model, BlendConfig(idea, tuple(parameters["to_keywords"]), int(parameters["steps"])))
        elif operation == "variations":
            strip = variations(model, VariationConfig(idea, int(parameters["count"]), float(parameters["radius"]),
                                                      int(parameters["variation_seed"]), recipe.get("columns")))
        else:
            strip = _reproduce_edit(model, idea, parameters, classifier, directions)
    except KeyError as error:
        raise RecipeError(f"the {operation} recipe lacks the parameter {error}; it cannot be reproduced.") from error
    except (TypeError, ValueError) as error:
        if isinstance(error, RecipeError):
            raise
        raise RecipeError(f"the {operation} recipe has an invalid value ({error}); "
                          "it cannot be reproduced: restore the file that designgan wrote.") from error
    return Reproduction(strip.image(), recipe, strip)


def _idea_spec(model: DesignModel, fields: dict[str, Any], prefix: str) -> IdeaSpec:
    """Read keywords, seed and truncation from a recipe, naming the field that is wrong."""
    keywords = _keyword_list(model, fields["keywords"], f"{prefix}keywords")
    seed, truncation = fields["seed"], fields["truncation"]
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise RecipeError(f"recipe field {prefix}seed is {seed!r}; it must be a whole number.")
    if not isinstance(truncation, (int, float)) or isinstance(truncation, bool) or not 0.0 <= truncation <= 1.0:
        raise RecipeError(f"recipe field {prefix}truncation is {truncation!r}; it must be a number in 0..1.")
    return IdeaSpec(tuple(keywords), seed, float(truncation))


def _keyword_list(model: DesignModel, keywords: Any, field: str) -> list[str]:
    """Return a recipe's keyword list after checking that `model` knows each keyword."""
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise RecipeError(f"recipe field {field} is {keywords!r}; it must be a list of keyword strings.")
    if model.vocabulary is not None:
        unknown = [k for k in keywords if k not in model.vocabulary]
        if unknown:
            raise RecipeError(f"recipe field {field} names {unknown[0]!r}, which model {model.path} does not "
                              "know; pass the model that made it with --model.")
    return keywords


def _reproduce_generate(model: DesignModel, recipe: dict[str, Any], idea: IdeaSpec) -> Reproduction:
    # A recipe without "operation" is one idea saved by `generate --out-dir`: the image
    # is the idea itself. With operation "generate" it is a grid of n ideas (seed + i).
    # With keyword context each idea of a grid has its own keyword set, listed in
    # parameters.idea_keywords; without it they all share the recipe's keywords.
    parameters = recipe.get("parameters", {})
    count = int(parameters.get("n", 1))
    z = torch.stack([model.latent(idea.seed + i, idea.truncation) for i in range(count)])
    idea_keywords = parameters.get("idea_keywords")
    if idea_keywords is None:
        conditions = model.keyword_vector(list(idea.keywords))
    else:
        if not isinstance(idea_keywords, list) or len(idea_keywords) != count:
            found = f"{len(idea_keywords)} entries" if isinstance(idea_keywords, list) else repr(idea_keywords)
            raise RecipeError(f"recipe field parameters.idea_keywords must list {count} keyword lists, one per "
                              f"idea; found {found}.")
        sets = [_keyword_list(model, keywords, f"parameters.idea_keywords[{i}]")
                for i, keywords in enumerate(idea_keywords)]
        conditions = None if model.vocabulary is None else torch.cat([model.keyword_vector(k) for k in sets])
    frames = model.render(z, conditions)
    if "operation" not in recipe:
        return Reproduction(frames[0], recipe)
    strip = Strip(frames, recipe)
    return Reproduction(make_grid(np.stack([np.asarray(f) for f in frames]), columns=strip.columns), recipe, strip)


def _reproduce_edit(model: DesignModel, idea: IdeaSpec, parameters: dict[str, Any], classifier: nn.Module | None,
                    directions: DirectionSet | None) -> Strip:
    method = parameters["method"]
    if method == "gradient":
        if classifier is None:
            raise RecipeError("this gradient edit needs the classifier that guided it.")
        if module_sha256(classifier) != parameters["classifier_sha256"]:
            raise RecipeError(f"the classifier differs from the one that guided this edit (sha256 "
                              f"{parameters['classifier_sha256'][:16]}...); the edit cannot be re-created bit for bit.")
    if method in DIRECTION_METHODS:
        if directions is None:
            raise RecipeError("this direction edit needs the directions it used; compute them with `designgan directions`.")
        if directions.sha256 != parameters["directions_sha256"]:
            raise RecipeError(f"the saved directions ({directions.path}) differ from the ones this edit used (sha256 "
                              f"{parameters['directions_sha256'][:16]}...); the edit cannot be re-created bit for bit.")
    keep = parameters.get("keep")
    config = EditConfig(
        idea, tuple(parameters["more"]), tuple(parameters["less"]), method, float(parameters["strength"]),
        int(parameters["steps"]), float(parameters.get("penalty", 1.0)),
        keep=tuple(keep) if keep is not None else None, component=int(parameters.get("component", 0)),
    )
    return edit(model, config, classifier=classifier, directions=directions)


def compare_pixels(path: str | Path, image: Image.Image) -> tuple[int, int]:
    """Return (differing pixels, total pixels) between the image at `path` and `image`; sizes must match."""
    with Image.open(path) as stored:
        expected = np.asarray(stored.convert("RGB"))
    actual = np.asarray(image.convert("RGB"))
    if expected.shape != actual.shape:
        raise RecipeError(f"{path} is {expected.shape[1]}x{expected.shape[0]} px but its recipe gives "
                          f"{actual.shape[1]}x{actual.shape[0]} px; the image was resized or cropped after it was made.")
    return int((expected != actual).any(axis=2).sum()), expected.shape[0] * expected.shape[1]
