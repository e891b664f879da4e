"""The one image pipeline of the evaluator: every image the metrics see goes through here.

    uint8 (N, H, W, 3) in [0, 255]  ->  float (N, 3, H, W) in [-1, 1]  ->  resize to (N, 3, R, R)

Real designs (uint8 arrays from a dataset file), PNG files and generated images all take
the same path. Generated images are first rounded to uint8 exactly as `designgan generate`
rounds them before writing a PNG, so real and generated images carry the same
quantisation. Resizing, when the side differs from the evaluator's R, is bilinear with
antialiasing (`torch.nn.functional.interpolate(..., antialias=True)`) for both.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..images import float_to_uint8, uint8_to_float

ImageInput = np.ndarray | torch.Tensor | Sequence["Image.Image | str | os.PathLike[str]"]


def resize_images(images: torch.Tensor, resolution_px: int) -> torch.Tensor:
    """Resize float images (N, 3, H, W) to (N, 3, R, R); differentiable, a no-op at the same size."""
    if images.shape[-2:] == (resolution_px, resolution_px):
        return images
    return F.interpolate(images, size=(resolution_px, resolution_px), mode="bilinear", align_corners=False,
                         antialias=True)


def load_image_files(images: Sequence[Image.Image | str | os.PathLike[str]],
                     background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """Read PIL images or image files into uint8 (N, H, W, 3).

    Transparent pixels are composited onto `background` (white, as the built-in
    OpenMoji renderings are). All images must have the same size; resizing happens
    later, in `to_model_input`, the same way as for arrays.
    """
    arrays = []
    for item in images:
        image = item if isinstance(item, Image.Image) else Image.open(item)
        image.load()
        if image.mode != "RGB":
            rgba = image.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, background + (255,))
            image = Image.alpha_composite(canvas, rgba).convert("RGB")
        arrays.append(np.asarray(image, dtype=np.uint8))
    sizes = {array.shape for array in arrays}
    if len(sizes) > 1:
        raise ValueError(f"images have different sizes {sorted(sizes)}; pass images of one size.")
    if not arrays:
        return np.zeros((0, 1, 1, 3), dtype=np.uint8)
    return np.stack(arrays)


def to_uint8(images: ImageInput) -> np.ndarray:
    """Return any supported input as uint8 (N, H, W, 3).

    Accepted inputs are uint8 arrays or tensors (N, H, W, 3), float tensors (N, 3, H, W)
    in [-1, 1] as a generator returns them, and sequences of PIL images or image file
    paths. Float tensors are rounded like a saved PNG.
    """
    if isinstance(images, torch.Tensor):
        if images.dtype == torch.uint8:
            images = images.cpu().numpy()
        else:
            if images.ndim != 4 or images.shape[1] != 3:
                raise ValueError(f"float images must be (N, 3, H, W) in [-1, 1], got shape {tuple(images.shape)}.")
            return float_to_uint8(images)
    if isinstance(images, np.ndarray):
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
            raise ValueError(f"image arrays must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}.")
        return images
    return load_image_files(images)


def to_model_input(images: ImageInput, resolution_px: int) -> torch.Tensor:
    """Convert images to the evaluator's input: float (N, 3, R, R) in [-1, 1]."""
    array = np.ascontiguousarray(to_uint8(images))
    if not array.flags.writeable:
        array = array.copy()  # torch.from_numpy warns on read-only arrays, such as a memory-mapped dataset
    tensor = uint8_to_float(torch.from_numpy(array)).permute(0, 3, 1, 2).contiguous()  # (N, 3, H, W)
    return resize_images(tensor, resolution_px)
