"""The Python API: load_model, generate, keyword resolution and recipes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from designgan import KeywordError, load_model
from designgan.export import ModelFileError
from designgan.recipes import RECIPE_TEXT_KEY, save_idea
from model_fixtures import tiny_model_dir  # noqa: F401  (pytest fixture)


def pixels(images):
    return np.stack([np.asarray(image) for image in images])


def test_generate_returns_pil_images(tiny_model_dir):
    images = load_model(tiny_model_dir).generate(["cat", "heart"], n=3, seed=0)
    assert len(images) == 3
    assert all(isinstance(image, Image.Image) and image.size == (32, 32) for image in images)


def test_generate_same_seed_same_pixels(tiny_model_dir):
    model = load_model(tiny_model_dir)
    first = pixels(model.generate("cat heart", n=4, seed=7))
    second = pixels(load_model(tiny_model_dir).generate("cat heart", n=4, seed=7))
    assert np.array_equal(first, second)


def test_generate_other_seed_other_pixels(tiny_model_dir):
    model = load_model(tiny_model_dir)
    assert not np.array_equal(pixels(model.generate("cat", n=2, seed=1)), pixels(model.generate("cat", n=2, seed=2)))


def test_idea_independent_of_batch(tiny_model_dir):
    model = load_model(tiny_model_dir)
    batch = pixels(model.generate("cat", n=5, seed=10))
    alone = pixels(model.generate("cat", n=1, seed=13))
    assert np.array_equal(batch[3], alone[0])


def test_keywords_change_the_design(tiny_model_dir):
    model = load_model(tiny_model_dir)
    assert not np.array_equal(pixels(model.generate("cat", n=2, seed=0)), pixels(model.generate("heart", n=2, seed=0)))


def test_unknown_keyword_named_with_suggestions(tiny_model_dir):
    ideas, resolution = load_model(tiny_model_dir).generate_ideas("smiling kat heart", n=1, seed=0)
    assert resolution.known == ["heart"]
    assert "kat" in resolution.unknown
    assert "cat" in resolution.unknown["kat"]
    assert ideas[0].recipe["keywords"][0] == "heart"  # then the keyword context of a real design
    assert ideas[0].recipe.get("requested_keywords", ["heart"]) == ["heart"]


def test_multi_word_keyword_resolved(tiny_model_dir):
    _, resolution = load_model(tiny_model_dir).generate_ideas("woman dark skin tone", n=1, seed=0)
    assert resolution.known == ["dark skin tone"]


def test_no_known_keyword_raises(tiny_model_dir):
    with pytest.raises(KeywordError, match="rocket"):
        load_model(tiny_model_dir).generate("rocket", n=1)


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 0}, "n=0"),
    ({"n": 1025}, "n=1025"),
    ({"seed": -1}, "seed=-1"),
    ({"seed": 2**63}, "seed="),
    ({"truncation": 1.5}, "truncation=1.5"),
])
def test_generate_rejects_out_of_range(tiny_model_dir, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_model(tiny_model_dir).generate("cat", **kwargs)


def test_truncation_zero_ignores_seed(tiny_model_dir):
    model = load_model(tiny_model_dir)
    # Without keyword context: with it, the seed also draws the context.
    a = pixels(model.generate("cat", n=1, seed=1, truncation=0.0, context=False))
    b = pixels(model.generate("cat", n=1, seed=2, truncation=0.0, context=False))
    assert np.array_equal(a, b)


def test_recipe_reproduces_idea(tiny_model_dir, tmp_path):
    model = load_model(tiny_model_dir)
    ideas, _ = model.generate_ideas("heart red", n=4, seed=100, truncation=0.7)
    path = save_idea(ideas[2], tmp_path)

    recipe = json.loads(path.with_suffix(".json").read_text())
    again = load_model(recipe["model"]).generate(recipe["keywords"], n=1, seed=recipe["seed"],
                                                 truncation=recipe["truncation"])
    assert recipe["model_sha256"] == model.files.sha256
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), np.asarray(again[0]))


def test_recipe_in_png_text_chunk(tiny_model_dir, tmp_path):
    ideas, _ = load_model(tiny_model_dir).generate_ideas("cat", n=1, seed=5)
    path = save_idea(ideas[0], tmp_path)
    assert json.loads(Image.open(path).text[RECIPE_TEXT_KEY])["seed"] == 5


def test_load_model_missing_folder(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nope")


def test_load_model_corrupt_weights(tiny_model_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_bytes((tiny_model_dir / "config.json").read_bytes())
    (broken / "model.safetensors").write_bytes((tiny_model_dir / "model.safetensors").read_bytes()[:100])
    with pytest.raises(ModelFileError, match="model.safetensors"):
        load_model(broken)
