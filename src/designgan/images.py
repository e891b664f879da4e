"""Conversions between image tensors, uint8 arrays and PIL images, and image grids."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def uint8_to_float(images: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) or (B, 3, H, W) uint8 in [0, 255] -> float in [-1, 1], same layout."""
    return images.float().mul_(2.0 / 255.0).sub_(1.0)


def float_to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) float in [-1, 1] -> (B, H, W, 3) uint8, rounded to nearest."""
    scaled = ((images.detach().float().clamp(-1.0, 1.0) + 1.0) * 127.5).round()
    return scaled.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    return [Image.fromarray(array) for array in float_to_uint8(images)]


def make_grid(images: np.ndarray, columns: int, padding_px: int = 2, background: int = 255) -> Image.Image:
    """Tile (N, H, W, 3) uint8 images row by row into one picture."""
    count, height, width, _ = images.shape
    columns = max(1, min(columns, count))
    rows = (count + columns - 1) // columns
    canvas = np.full(
        (rows * (height + padding_px) + padding_px, columns * (width + padding_px) + padding_px, 3),
        background,
        dtype=np.uint8,
    )
    for i, image in enumerate(images):
        top = padding_px + (i // columns) * (height + padding_px)
        left = padding_px + (i % columns) * (width + padding_px)
        canvas[top : top + height, left : left + width] = image
    return Image.fromarray(canvas)
