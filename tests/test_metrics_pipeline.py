"""The evaluator's image pipeline: one conversion for arrays, tensors and PNG files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from designgan.metrics.pipeline import to_model_input


def test_pipeline_array_and_png_equal(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(2, 16, 16, 3), dtype=np.uint8)
    paths = []
    for i, image in enumerate(images):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image).save(paths[-1])
    assert torch.equal(to_model_input(images, 32), to_model_input(paths, 32))


def test_pipeline_range_and_shape():
    images = np.array([[[[0, 255, 0]]]], dtype=np.uint8).repeat(8, axis=1).repeat(8, axis=2)
    tensor = to_model_input(images, 8)
    assert tensor.shape == (1, 3, 8, 8)
    assert tensor[0, 0].max().item() == -1.0
    assert tensor[0, 1].min().item() == 1.0


def test_pipeline_float_rounded_like_png():
    generated = torch.linspace(-1, 1, 3 * 4 * 4).reshape(1, 3, 4, 4)
    from designgan.images import float_to_uint8

    expected = to_model_input(float_to_uint8(generated), 4)
    assert torch.equal(to_model_input(generated, 4), expected)


def test_pipeline_transparent_png_on_white(tmp_path):
    path = tmp_path / "clear.png"
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(path)
    assert to_model_input([path], 4).min().item() == 1.0


def test_pipeline_rejects_wrong_array():
    with pytest.raises(ValueError, match="uint8"):
        to_model_input(np.zeros((1, 4, 4, 3), dtype=np.float32), 4)
