"""Recipes of outputs and their bit-identical re-creation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from control_fixtures import TinyClassifier, control_model_dir, model_copy  # noqa: F401  (pytest fixtures)
from designgan import load_model
from designgan.control import (
    BlendConfig,
    BoundaryConfig,
    EditConfig,
    IdeaSpec,
    MorphConfig,
    RecipeError,
    VariationConfig,
    blend,
    compare_pixels,
    compute_directions,
    edit,
    morph,
    read_recipe,
    reproduce,
    save_strip,
    store_directions,
    variations,
)
from designgan.control.directions import single_keyword_conditions
from designgan.recipes import RECIPE_TEXT_KEY, save_idea


@pytest.fixture(scope="module")
def model(control_model_dir):  # noqa: F811  (pytest fixture argument)
    return load_model(control_model_dir, similarity_threshold=None)


def assert_reproduced(model, path, **resources):
    """Reload the model, re-create the file's image from its recipe and compare every pixel."""
    fresh = load_model(model.path, similarity_threshold=None)
    reproduction = reproduce(fresh, read_recipe(path), **resources)
    assert compare_pixels(path, reproduction.image) == (0, Image.open(path).width * Image.open(path).height)


def test_reproduce_generated_idea(model, tmp_path):
    ideas, _ = model.generate_ideas("cat heart", n=2, seed=11, truncation=0.6)
    assert_reproduced(model, save_idea(ideas[1], tmp_path))


def test_reproduce_morph(model, tmp_path):
    strip = morph(model, MorphConfig(IdeaSpec(("cat",), 1), IdeaSpec(("red",), 2, 0.5), steps=4))
    assert_reproduced(model, save_strip(strip, tmp_path / "morph.png")[0])


def test_reproduce_blend(model, tmp_path):
    strip = blend(model, BlendConfig(IdeaSpec(("cat",), 3), ("heart", "red"), steps=5))
    assert_reproduced(model, save_strip(strip, tmp_path / "blend.png")[0])


def test_reproduce_variations(model, tmp_path):
    strip = variations(model, VariationConfig(IdeaSpec(("heart",), 4, 0.9), count=5, radius=0.7, columns=3))
    assert_reproduced(model, save_strip(strip, tmp_path / "vary.png")[0])


def test_reproduce_gradient_edit(model, tmp_path):
    config = EditConfig(IdeaSpec(("cat",), 5), more=("heart",), less=("red",), strength=0.4, steps=4, penalty=2.0)
    strip = edit(model, config, classifier=TinyClassifier())
    assert_reproduced(model, save_strip(strip, tmp_path / "edit.png")[0], classifier=TinyClassifier())


def test_reproduce_sefa_edit(model, tmp_path):
    strip = edit(model, EditConfig(IdeaSpec(("cat",), 5), method="sefa", component=2, steps=4))
    assert_reproduced(model, save_strip(strip, tmp_path / "sefa.png")[0])


@pytest.mark.parametrize("method", ["direction", "direction-projected"])
def test_reproduce_direction_edit(model_copy, tmp_path, method):  # noqa: F811  (pytest fixture argument)
    model = load_model(model_copy, similarity_threshold=None)
    directions = compute_directions(model, TinyClassifier(), single_keyword_conditions(model),
                                    BoundaryConfig(conditions=4, samples_per_condition=20, iterations=10))
    store_directions(model, directions)
    config = EditConfig(IdeaSpec(("red", "heart"), 6), more=("cat",), method=method, steps=3)
    path = save_strip(edit(model, config, directions=directions), tmp_path / "edit.png")[0]
    assert_reproduced(model, path, directions=directions)


def test_recipe_carries_edit_parameters(model, tmp_path):
    config = EditConfig(IdeaSpec(("cat",), 5, 0.8), more=("heart",), strength=0.3, steps=2, penalty=4.0)
    path = save_strip(edit(model, config, classifier=TinyClassifier()), tmp_path / "edit.png")[0]
    recipe = read_recipe(path)
    assert recipe["model_sha256"] == model.files.sha256
    assert (recipe["keywords"], recipe["seed"], recipe["truncation"]) == (["cat"], 5, 0.8)
    assert recipe["parameters"]["penalty"] == 4.0
    assert recipe["parameters"]["strength"] == 0.3
    assert len(recipe["parameters"]["classifier_sha256"]) == 64


def test_sidecar_read_when_text_chunk_missing(model, tmp_path):
    path = save_strip(blend(model, BlendConfig(IdeaSpec(("cat",), 3), ("heart",), steps=3)), tmp_path / "b.png")[0]
    Image.open(path).save(path)  # re-saved by another program: the text chunk is gone, the JSON beside it stays
    assert RECIPE_TEXT_KEY not in Image.open(path).text
    assert read_recipe(path)["operation"] == "blend"
    assert_reproduced(model, path)


def test_changed_pixels_detected(model, tmp_path):
    path = save_strip(blend(model, BlendConfig(IdeaSpec(("cat",), 3), ("heart",), steps=3)), tmp_path / "b.png")[0]
    pixels = np.asarray(Image.open(path)).copy()
    pixels[5, 5] = 255 - pixels[5, 5]
    Image.fromarray(pixels).save(path)
    assert compare_pixels(path, reproduce(model, read_recipe(path)).image)[0] == 1


def test_reproduce_rejects_other_classifier(model, tmp_path):
    config = EditConfig(IdeaSpec(("cat",), 5), more=("heart",), steps=2)
    path = save_strip(edit(model, config, classifier=TinyClassifier(seed=0)), tmp_path / "edit.png")[0]
    with pytest.raises(RecipeError, match="classifier differs"):
        reproduce(model, read_recipe(path), classifier=TinyClassifier(seed=1))


def test_reproduce_rejects_other_model(model, tmp_path):
    ideas, _ = model.generate_ideas("cat", n=1, seed=0)
    recipe = {**ideas[0].recipe, "model_sha256": "f" * 64}
    with pytest.raises(RecipeError, match="--model"):
        reproduce(model, recipe)


def test_read_recipe_missing_file(tmp_path):
    with pytest.raises(RecipeError, match="not found"):
        read_recipe(tmp_path / "nothing.png")


def test_read_recipe_png_without_recipe(tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(path)
    with pytest.raises(RecipeError, match="no designgan recipe"):
        read_recipe(path)


def test_read_recipe_not_an_image(tmp_path):
    path = tmp_path / "text.png"
    path.write_text("hello")
    with pytest.raises(RecipeError, match="not a readable image"):
        read_recipe(path)


def test_read_recipe_unknown_operation(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"designgan_recipe": 1, "model_sha256": "0", "keywords": [], "seed": 0,
                                "truncation": 1.0, "operation": "paint"}))
    with pytest.raises(RecipeError, match="'paint'"):
        read_recipe(path)


@pytest.mark.parametrize("field, value, message", [
    ("seed", "abc", "seed is 'abc'"),
    ("truncation", 5, "truncation is 5"),
    ("keywords", "cat", "must be a list"),
    ("keywords", ["zzqx"], "'zzqx', which model"),
])
def test_reproduce_names_a_damaged_recipe_field(model, tmp_path, field, value, message):
    ideas, _ = model.generate_ideas("cat", n=1, seed=3)
    recipe = read_recipe(save_idea(ideas[0], tmp_path))
    recipe[field] = value
    with pytest.raises(RecipeError, match=message):
        reproduce(model, recipe)


def test_reproduce_damaged_morph_end(model, tmp_path):
    strip = morph(model, MorphConfig(IdeaSpec(("cat",), 1, 1.0), IdeaSpec(("heart",), 2, 1.0), 3))
    path = save_strip(strip, tmp_path / "morph.png")[0]
    recipe = read_recipe(path)
    recipe["parameters"]["end"]["seed"] = "x"
    with pytest.raises(RecipeError, match="parameters.end.seed"):
        reproduce(model, recipe)
