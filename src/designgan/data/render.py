"""SVG rasterization onto an opaque background."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import resvg_py
from PIL import Image

RGB = tuple[int, int, int]


def rasterize_svg(svg: str | os.PathLike[str] | bytes, width_px: int, height_px: int) -> Image.Image:
    """Render an SVG file (path) or SVG markup (bytes) with resvg to an RGBA image.

    resvg draws antialiased straight at the requested size, so no resampling
    step is needed. It keeps the aspect ratio and fits the drawing inside
    `width_px` x `height_px`, so the result is that size or smaller along one
    side; it never allocates more than width_px * height_px pixels for the
    canvas. System fonts are not loaded, because fonts would make the output
    depend on the machine, so <text> elements are not drawn.
    NOTE: resvg-py 0.5 reads <image> files named by absolute or relative paths;
    pass untrusted markup through `designgan.data.svg.check_svg` first.
    """
    if width_px < 1 or height_px < 1:
        raise ValueError(f"SVG render size must be positive, got {width_px}x{height_px} px.")
    options = dict(width=width_px, height=height_px, skip_system_fonts=True, background=None)
    if isinstance(svg, bytes):
        png = resvg_py.svg_to_bytes(svg_string=svg.decode("utf-8"), **options)
    else:
        png = resvg_py.svg_to_bytes(svg_path=str(Path(svg)), **options)
    with Image.open(io.BytesIO(png)) as decoded:
        return decoded.convert("RGBA")


def composite_on_background(rgba: Image.Image, background: RGB) -> Image.Image:
    """Composite an RGBA image onto an opaque `background` colour and return it as RGB.

    Pillow's integer alpha blending makes the result exact and repeatable.
    """
    opaque = Image.new("RGBA", rgba.size, (*background, 255))
    return Image.alpha_composite(opaque, rgba).convert("RGB")


def render_svg(
    svg: str | os.PathLike[str] | bytes,
    resolution_px: int,
    background: RGB = (255, 255, 255),
) -> np.ndarray:
    """Render a square SVG file (path) or SVG markup (bytes) to a uint8 (H, W, 3) RGB array.

    The drawing is rasterized at `resolution_px` x `resolution_px` (see
    `rasterize_svg`) and composited onto `background`, so the same SVG always
    gives the same bytes. No OpenMoji 17.0.0 SVG contains text.
    """
    if resolution_px < 1:
        raise ValueError(f"resolution_px must be a positive number of pixels, got {resolution_px}.")
    rgba = rasterize_svg(svg, resolution_px, resolution_px)
    if rgba.size != (resolution_px, resolution_px):
        # resvg keeps the aspect ratio and fits the width, so a 16x8 viewBox gives 8x4 px at 8 px.
        raise ValueError(
            f"Rendering {svg if not isinstance(svg, bytes) else 'SVG bytes'} gave {rgba.size[0]}x{rgba.size[1]} px, "
            f"expected {resolution_px}x{resolution_px}; only square SVGs are supported."
        )
    return np.asarray(composite_on_background(rgba, background), dtype=np.uint8)
