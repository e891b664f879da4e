"""Variations, edit, morph, blend and directions over a real server, checked against the library."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from serve_fixtures import decode_png, load_builtin_model, serving  # noqa: I001  (skips this module without the serve extra)
from designgan.control import IdeaSpec, MorphConfig, morph
from designgan.recipes import RECIPE_TEXT_KEY
from designgan.serve import ServeConfig, create_app

IDEA = {"keywords": ["cat"], "seed": 3, "truncation": 1.0}


@pytest.fixture(scope="module")
def model():
    return load_builtin_model()


@pytest.fixture(scope="module")
def client(model, tmp_path_factory):
    # An empty cache folder: keyword directions that a developer computed for the
    # built-in model must not change what these tests see.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESIGNGAN_CACHE", str(tmp_path_factory.mktemp("cache")))
        app = create_app(model, ServeConfig())
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def pixels(frames):
    return np.stack([np.asarray(decode_png(frame["image_png_base64"]).convert("RGB")) for frame in frames])


def generated(client, keywords, seed):
    """The generated idea for exactly these keywords, as the idea specs below name them."""
    body = {"keywords": keywords, "n": 1, "seed": seed, "context": False}
    return pixels(client.post("/v1/generate", json=body).json()["ideas"])[0]


def test_variations_first_frame_is_idea(client):
    response = client.post("/v1/variations", json={"idea": IDEA, "count": 3, "radius": 0.3, "variation_seed": 1})
    assert response.status_code == 200
    frames = response.json()["frames"]
    assert len(frames) == 4
    assert np.array_equal(pixels(frames)[0], generated(client, ["cat"], 3))


def test_variations_random_seed_in_recipe(client):
    recipe = client.post("/v1/variations", json={"idea": IDEA, "count": 1}).json()["recipe"]
    assert recipe["operation"] == "variations"
    assert isinstance(recipe["parameters"]["variation_seed"], int)


def test_morph_matches_library(client, model):
    end = {"keywords": ["heart"], "seed": 8, "truncation": 0.8}
    body = client.post("/v1/morph", json={"start": IDEA, "end": end, "steps": 4}).json()
    strip = morph(model, MorphConfig(IdeaSpec(("cat",), 3), IdeaSpec(("heart",), 8, 0.8), 4))
    assert np.array_equal(pixels(body["frames"]), np.stack([np.asarray(frame) for frame in strip.frames]))


def test_morph_ends_equal_generated(client):
    end = {"keywords": ["heart"], "seed": 8, "truncation": 1.0}
    frames = pixels(client.post("/v1/morph", json={"start": IDEA, "end": end, "steps": 3}).json()["frames"])
    assert np.array_equal(frames[0], generated(client, ["cat"], 3))
    assert np.array_equal(frames[-1], generated(client, ["heart"], 8))


def test_strip_png_carries_recipe(client):
    body = client.post("/v1/blend", json={"idea": IDEA, "to_keywords": ["heart"], "steps": 3}).json()
    strip = decode_png(body["strip_png_base64"])
    assert json.loads(strip.text[RECIPE_TEXT_KEY]) == body["recipe"]
    assert body["recipe"]["operation"] == "blend"
    assert [frame["recipe"]["frame"] for frame in body["frames"]] == [0, 1, 2]


def test_edit_sefa_strip(client):
    body = {"idea": IDEA, "method": "sefa", "component": 1, "strength": 0.5, "steps": 2}
    response = client.post("/v1/edit", json=body)
    assert response.status_code == 200
    frames = pixels(response.json()["frames"])
    assert len(frames) == 3
    assert np.array_equal(frames[1], generated(client, ["cat"], 3))  # the idea sits in the middle


def test_directions_list_sefa(client, model):
    body = client.get("/v1/directions").json()
    assert body["methods"] == ["sefa"]  # no keyword directions in the empty cache
    assert body["keyword_directions"] == []
    assert len(body["sefa_directions"]) == min(8, model.config.latent_dim)


INVALID_CONTROL = [
    ("/v1/edit", {"idea": IDEA, "more": ["cat"]}, ["body", "method"]),  # no keyword directions here
    ("/v1/edit", {"idea": IDEA, "method": "gradient", "more": ["cat"]}, ["body", "method"]),
    ("/v1/edit", {"idea": IDEA, "method": "sefa", "component": 10_000}, ["body", "component"]),
    ("/v1/edit", {"idea": IDEA, "method": "sefa", "strength": 0}, ["body", "strength"]),
    ("/v1/edit", {"idea": IDEA, "method": "sefa", "more": ["cat"]}, ["body", "more"]),
    ("/v1/variations", {"idea": IDEA, "count": 100000}, ["body", "count"]),
    ("/v1/variations", {"idea": IDEA, "radius": 0}, ["body", "radius"]),
    ("/v1/variations", {"idea": {**IDEA, "seed": -1}}, ["body", "idea", "seed"]),
    ("/v1/variations", {"idea": {**IDEA, "keywords": ["kat"]}}, ["body", "idea", "keywords"]),
    ("/v1/morph", {"start": IDEA, "end": IDEA}, ["body", "end"]),
    ("/v1/morph", {"start": IDEA, "end": IDEA, "steps": 1}, ["body", "steps"]),
    ("/v1/blend", {"idea": IDEA, "to_keywords": ["cat"]}, ["body", "to_keywords"]),
    ("/v1/blend", {"idea": IDEA, "to_keywords": ["../x"]}, ["body", "to_keywords"]),
]


@pytest.mark.parametrize("path, body, loc", INVALID_CONTROL, ids=[f"{p}:{'.'.join(map(str, l[1:]))}" for p, _, l in INVALID_CONTROL])
def test_control_invalid_422(client, path, body, loc):
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][: len(loc)] == loc
    assert client.get("/healthz").status_code == 200
    assert client.post("/v1/variations", json={"idea": IDEA, "count": 1}).status_code == 200
