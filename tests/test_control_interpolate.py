"""slerp and the morph between two ideas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from designgan import load_model
from designgan.control import IdeaSpec, MorphConfig, morph, save_strip, slerp, slerp_path
from designgan.control.interpolate import path_angles
from control_fixtures import control_model_dir  # noqa: F401  (pytest fixture)


def vectors(seed: int = 0, dim: int = 128):
    rng = torch.Generator().manual_seed(seed)
    return torch.randn(dim, generator=rng), 1.5 * torch.randn(dim, generator=rng)


def test_slerp_endpoints_equal_inputs():
    a, b = vectors()
    assert torch.equal(slerp(a, b, 0.0), a)
    assert torch.equal(slerp(a, b, 1.0), b)


def test_slerp_norm_linear_in_t():
    a, b = vectors()
    for t in (0.1, 0.25, 0.5, 0.9):
        expected = (1 - t) * a.norm() + t * b.norm()
        assert slerp(a, b, t).norm().item() == pytest.approx(expected.item(), rel=1e-5)


def test_slerp_path_equal_angle_steps():
    a, b = vectors(1)
    angles = path_angles(slerp_path(a, b, 9))
    total = math.acos(float(a @ b / (a.norm() * b.norm())))
    assert sum(angles) == pytest.approx(total, rel=1e-4)
    assert max(angles) - min(angles) < 1e-4


def test_slerp_stays_on_shell_unlike_lerp():
    a, b = vectors(2)
    b = b / b.norm() * a.norm()
    assert slerp(a, b, 0.5).norm().item() == pytest.approx(a.norm().item(), rel=1e-5)
    assert torch.lerp(a, b, 0.5).norm() < 0.8 * a.norm()


def test_slerp_parallel_vectors_finite():
    a = torch.ones(16)
    result = slerp(a, 2 * a, 0.5)
    assert torch.isfinite(result).all()
    assert torch.allclose(result, 1.5 * a)


@pytest.mark.parametrize("t", [-0.1, 1.1])
def test_slerp_rejects_t_out_of_range(t):
    a, b = vectors()
    with pytest.raises(ValueError, match="out of range"):
        slerp(a, b, t)


def test_morph_ends_equal_generated_ideas(control_model_dir):
    model = load_model(control_model_dir, similarity_threshold=None)
    strip = morph(model, MorphConfig(IdeaSpec(("cat",), 1), IdeaSpec(("heart", "red"), 5, 0.7), steps=5))
    first = model.generate(["cat"], n=1, seed=1)[0]
    last = model.generate(["heart", "red"], n=1, seed=5, truncation=0.7)[0]
    assert len(strip.frames) == 5
    assert np.array_equal(np.asarray(strip.frames[0]), np.asarray(first))
    assert np.array_equal(np.asarray(strip.frames[-1]), np.asarray(last))


def test_morph_middle_differs_from_ends(control_model_dir):
    model = load_model(control_model_dir, similarity_threshold=None)
    strip = morph(model, MorphConfig(IdeaSpec(("cat",), 1), IdeaSpec(("cat",), 2), steps=3))
    middle = np.asarray(strip.frames[1])
    assert not np.array_equal(middle, np.asarray(strip.frames[0]))
    assert not np.array_equal(middle, np.asarray(strip.frames[2]))


def test_morph_same_ideas_rejected(control_model_dir):
    model = load_model(control_model_dir, similarity_threshold=None)
    with pytest.raises(ValueError, match="same"):
        morph(model, MorphConfig(IdeaSpec(("cat",), 1), IdeaSpec(("cat",), 1)))


def test_morph_steps_one_rejected(control_model_dir):
    model = load_model(control_model_dir, similarity_threshold=None)
    with pytest.raises(ValueError, match="steps=1"):
        morph(model, MorphConfig(IdeaSpec(("cat",), 1), IdeaSpec(("cat",), 2), steps=1))


@pytest.mark.parametrize("animation", ["gif", "webp"])
def test_morph_animation_frames(control_model_dir, tmp_path, animation):
    model = load_model(control_model_dir, similarity_threshold=None)
    strip = morph(model, MorphConfig(IdeaSpec(("cat",), 1), IdeaSpec(("heart",), 2), steps=4))
    written = save_strip(strip, tmp_path / "morph.png", animation=animation)
    assert [path.suffix for path in written] == [".png", ".json", f".{animation}"]
    with Image.open(written[2]) as image:
        assert image.n_frames == 6  # 4 forward, then the 2 inner frames back
