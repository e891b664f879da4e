"""Pictures of the evaluation report: sample grids, keyword-set rows and closest pairs."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from ..images import make_grid

GRID_COLUMNS = 8
DISPLAY_SCALE = 2  # 64 px icons are enlarged 2x (nearest neighbour) so that details stay visible


def _enlarge(picture: Image.Image) -> Image.Image:
    return picture.resize((picture.width * DISPLAY_SCALE, picture.height * DISPLAY_SCALE), Image.NEAREST)


def sample_grid(images: np.ndarray, columns: int = GRID_COLUMNS) -> Image.Image:
    """Tile uint8 images (N, H, W, 3) into an enlarged grid."""
    return _enlarge(make_grid(images, columns=columns))


def image_row(generated: np.ndarray, real: np.ndarray, columns: int = GRID_COLUMNS) -> Image.Image:
    """Return one row: up to `columns` generated images, a gap, then up to `columns` real ones.

    Both sides are padded with white to `columns` images so that the rows of one report
    line up. Real and generated images of different sizes are shown at the generated size.
    """
    side = generated.shape[1]
    real = np.stack([np.asarray(Image.fromarray(image).resize((side, side), Image.BILINEAR)) for image in real])

    def padded(images: np.ndarray) -> np.ndarray:
        blank = np.full((columns - len(images[:columns]), side, side, 3), 255, dtype=np.uint8)
        return np.concatenate([images[:columns], blank])

    gap = np.full((1, side, side // 2, 3), 255, dtype=np.uint8)  # half an image of white between the two sides
    left = make_grid(padded(generated), columns=columns)
    right = make_grid(padded(real), columns=columns)
    canvas = Image.new("RGB", (left.width + gap.shape[2] + right.width, left.height), "white")
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width + gap.shape[2], 0))
    return _enlarge(canvas)


def pair_strip(generated: np.ndarray, nearest: np.ndarray) -> Image.Image:
    """Return two rows: generated images on top, the nearest training design under each."""
    side = generated.shape[1]
    nearest = np.stack([np.asarray(Image.fromarray(image).resize((side, side), Image.BILINEAR)) for image in nearest])
    return _enlarge(make_grid(np.concatenate([generated, nearest]), columns=len(generated)))


def png_data_uri(picture: Image.Image) -> str:
    """Return a picture as a data: URI of PNG bytes, so that the HTML report needs no other file."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
