"""Blends between keyword sets and variations of one idea."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from designgan import load_model
from designgan.control import BlendConfig, IdeaSpec, VariationConfig, blend, variations
from designgan.control.variations import perturb
from control_fixtures import control_model_dir  # noqa: F401  (pytest fixture)


@pytest.fixture
def model(control_model_dir):  # noqa: F811  (pytest fixture argument)
    return load_model(control_model_dir, similarity_threshold=None)


def pixels(image):
    return np.asarray(image)


def test_blend_ends_equal_generated_ideas(model):
    strip = blend(model, BlendConfig(IdeaSpec(("cat",), 4, 0.9), ("heart",), steps=5))
    assert len(strip.frames) == 5
    assert np.array_equal(pixels(strip.frames[0]), pixels(model.generate(["cat"], n=1, seed=4, truncation=0.9)[0]))
    assert np.array_equal(pixels(strip.frames[-1]), pixels(model.generate(["heart"], n=1, seed=4, truncation=0.9)[0]))


def test_blend_midpoint_is_pair_condition(model):
    strip = blend(model, BlendConfig(IdeaSpec(("cat",), 4), ("heart",), steps=3))
    pair = model.generate(["cat", "heart"], n=1, seed=4)[0]
    assert np.abs(pixels(strip.frames[1]).astype(int) - pixels(pair).astype(int)).max() <= 1


def test_blend_same_sets_rejected(model):
    with pytest.raises(ValueError, match="two different sets"):
        blend(model, BlendConfig(IdeaSpec(("cat",), 0), ("cat",)))


def test_variations_first_frame_is_idea(model):
    strip = variations(model, VariationConfig(IdeaSpec(("red",), 9, 0.8), count=3, radius=0.5))
    assert len(strip.frames) == 4
    assert np.array_equal(pixels(strip.frames[0]), pixels(model.generate(["red"], n=1, seed=9, truncation=0.8)[0]))


def test_variations_keep_idea_norm(model):
    strip = variations(model, VariationConfig(IdeaSpec(("cat",), 2, 0.5), count=4, radius=1.0))
    norms = strip.latents.norm(dim=1)
    assert torch.allclose(norms, norms[0].expand(len(norms)), rtol=1e-5)


def test_variations_radius_sets_distance():
    z = torch.randn(512, generator=torch.Generator().manual_seed(0))
    near = (perturb(z, 0.1, 8, seed=1) - z).norm(dim=1).mean()
    far = (perturb(z, 1.0, 8, seed=1) - z).norm(dim=1).mean()
    assert near < far
    angle = torch.arccos(perturb(z, 1.0, 1, seed=1)[0] @ z / z.norm() ** 2)
    assert angle.item() == pytest.approx(np.pi / 4, abs=0.1)  # about atan(radius)


def test_variations_earlier_stable_when_count_grows():
    z = torch.randn(32, generator=torch.Generator().manual_seed(0))
    assert torch.equal(perturb(z, 0.3, 2, seed=5), perturb(z, 0.3, 5, seed=5)[:2])


def test_variations_truncation_scales_all(model):
    full = variations(model, VariationConfig(IdeaSpec(("cat",), 2, 1.0), count=3, radius=0.3))
    half = variations(model, VariationConfig(IdeaSpec(("cat",), 2, 0.5), count=3, radius=0.3))
    assert torch.allclose(half.latents, 0.5 * full.latents)


@pytest.mark.parametrize("radius", [0.0, -0.1, 2.5])
def test_variations_radius_out_of_range(model, radius):
    with pytest.raises(ValueError, match=f"radius={radius}"):
        variations(model, VariationConfig(IdeaSpec(("cat",), 0), radius=radius))
