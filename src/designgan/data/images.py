"""Raster image decoding to square RGB training images.

Every decoder returns the same thing: a uint8 (R, R, 3) RGB array at the
target resolution, whatever the source format, mode, bit depth, orientation
or transparency. Transparent pixels are composited onto a background colour
at full size, before resampling, so colours hidden by transparency never
bleed into visible edges.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageColor, ImageOps, UnidentifiedImageError

from designgan.data.render import RGB, composite_on_background

FitMode = Literal["pad", "crop", "stretch"]
FIT_MODES: tuple[str, ...] = ("pad", "crop", "stretch")
RESOLUTIONS_PX: tuple[int, ...] = (32, 64, 128)
# 64 MP admits the largest common camera sensors (61 MP full-frame). One decoded
# image of that size takes 256 MB as RGBA in a worker, so the limit also bounds
# the memory of each decoding process.
DEFAULT_MAX_PIXELS = 64_000_000
# Image.resize first shrinks by an integer factor with a box filter until the
# image is at most this many times the target, then applies Lanczos. At 3 the
# result is indistinguishable from pure Lanczos and large images decode much faster.
REDUCING_GAP = 3.0

# The only Pillow parsers offered untrusted files; Pillow's other plugins (EPS
# runs Ghostscript, for one) never see them.
PILLOW_OPENERS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "DIB", "TIFF")
# Image.format as Pillow reports it -> the format reported and compared with the extension.
PILLOW_FORMATS: dict[str, str] = {
    "PNG": "PNG",
    "JPEG": "JPEG",
    "MPO": "JPEG",  # the JPEG opener returns this for JPEGs with extra pictures, as phone cameras write
    "WEBP": "WEBP",
    "GIF": "GIF",
    "BMP": "BMP",
    "DIB": "BMP",
    "TIFF": "TIFF",
}
EXTENSION_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jfif": "JPEG",
    ".webp": "WEBP",
    ".gif": "GIF",
    ".bmp": "BMP",
    ".dib": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".svg": "SVG",
}
_SIXTEEN_BIT_GRAY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


@dataclass(frozen=True)
class ImageSettings:
    """How source images become training images."""

    resolution_px: int = 64  # side of the square output
    fit: FitMode = "pad"  # non-square sources: pad with `background`, crop the centre, or stretch
    background: RGB = (255, 255, 255)  # colour behind transparency and padding
    max_pixels: int = DEFAULT_MAX_PIXELS  # larger sources are rejected from their header, before decoding

    def validate(self) -> ImageSettings:
        if self.resolution_px not in RESOLUTIONS_PX:
            raise ValueError(f"resolution_px {self.resolution_px} is not supported; use one of {RESOLUTIONS_PX}.")
        if self.fit not in FIT_MODES:
            raise ValueError(f"fit {self.fit!r} is invalid; use one of {', '.join(FIT_MODES)}.")
        if len(self.background) != 3 or not all(0 <= value <= 255 for value in self.background):
            raise ValueError(f"background {self.background} must be three values in 0..255.")
        if self.max_pixels < self.resolution_px**2:
            raise ValueError(
                f"max_pixels {self.max_pixels} is below one output image ({self.resolution_px**2} pixels). Raise it."
            )
        return self


@dataclass(frozen=True)
class DecodedImage:
    """One source file turned into a training image."""

    pixels: np.ndarray  # uint8 (R, R, 3)
    source_format: str  # "PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF" or "SVG"
    source_mode: str  # Pillow mode as stored ("P", "LA", "I;16", "CMYK", ...); "SVG" for SVG
    warnings: tuple[tuple[str, str], ...] = ()  # (reason, detail) pairs


class ImageRejected(Exception):
    """A source file that is left out of the dataset, with a reason code and details for the report."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class NotARasterImage(Exception):
    """A file that none of the `PILLOW_OPENERS` recognises."""


def parse_color(text: str) -> RGB:
    """Parse "#ffffff", "#fff", "255,255,255" or a CSS colour name such as "white" into an RGB triple."""
    parts = [part.strip() for part in text.split(",")]
    try:
        if len(parts) == 3:
            values = tuple(int(part) for part in parts)
            if all(0 <= value <= 255 for value in values):
                return values  # type: ignore[return-value]
            raise ValueError("out of range")
        rgb = ImageColor.getrgb(text.strip())
    except ValueError:
        raise ValueError(
            f"Invalid colour {text!r}: use #rrggbb, #rgb, r,g,b with values 0..255, or a CSS colour name."
        ) from None
    return (int(rgb[0]), int(rgb[1]), int(rgb[2]))


@contextmanager
def pillow_pixel_limit(max_pixels: int) -> Iterator[None]:
    """Set Pillow's decompression-bomb limit to `max_pixels` for the duration of the block.

    Pillow raises DecompressionBombError at open for more than twice its limit
    and warns above it. Our own check rejects anything above `max_pixels`, so
    the warning is silenced. NOTE: Image.MAX_IMAGE_PIXELS is process-wide, so
    this is not safe while other threads open images.
    """
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def check_pixel_count(width: int, height: int, max_pixels: int) -> None:
    """Raise ImageRejected("too_many_pixels") when width x height exceeds `max_pixels`."""
    if width * height > max_pixels:
        raise ImageRejected(
            "too_many_pixels",
            f"{width}x{height} = {width * height:,} pixels is above --max-pixels {max_pixels:,}",
        )


def fit_square(image: Image.Image, resolution_px: int, fit: FitMode, background: RGB) -> Image.Image:
    """Resize an RGB image to resolution_px x resolution_px.

    pad: scale the long side to the target and centre on `background`;
    crop: scale the short side to the target and cut the centre square;
    stretch: scale each side to the target, changing the aspect ratio.
    """
    width, height = image.size
    if (width, height) == (resolution_px, resolution_px):
        return image
    target = (resolution_px, resolution_px)
    if fit == "stretch":
        return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    if fit == "crop":
        side = min(width, height)
        left, top = (width - side) / 2, (height - side) / 2
        box = (left, top, left + side, top + side)
        return image.resize(target, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)

    scale = resolution_px / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    canvas = Image.new("RGB", target, background)
    canvas.paste(resized, ((resolution_px - size[0]) // 2, (resolution_px - size[1]) // 2))
    return canvas


def _sixteen_bit_gray_to_8(image: Image.Image) -> Image.Image:
    """Scale 16-bit grayscale to 8 bits (v >> 8), keeping a tRNS transparent value as alpha.

    Pillow's own conversion clips at 255 instead of scaling, which turns
    almost every 16-bit gray pixel white. Mode "I" (32-bit) is assumed to
    hold 16-bit values, as Pillow reads 16-bit PNGs on some versions.
    """
    values = np.asarray(image).astype(np.int64)
    gray = (np.clip(values, 0, 65535) >> 8).astype(np.uint8)
    transparent = image.info.get("transparency")
    if isinstance(transparent, int):
        alpha = np.where(values == transparent, 0, 255).astype(np.uint8)
        return Image.fromarray(np.stack([gray, alpha], axis=-1), "LA")
    return Image.fromarray(gray, "L")


def _invert_plain_cmyk(image: Image.Image, source_format: str) -> Image.Image:
    """Invert CMYK JPEG data that lacks an Adobe APP14 marker.

    Adobe applications write CMYK JPEGs with inverted values and mark them with
    an APP14 "Adobe" segment, which Pillow records as info["adobe"]. Pillow
    13 reads every CMYK JPEG as inverted ("CMYK;I"), so data stored plainly,
    without the marker, comes out with each channel reversed, and this undoes that.
    """
    if image.mode == "CMYK" and source_format == "JPEG" and "adobe" not in image.info:
        return image.point([255 - value for value in range(256)] * 4)
    return image


def to_rgb(image: Image.Image, source_format: str, background: RGB) -> Image.Image:
    """Convert a loaded image of any Pillow mode to RGB, compositing transparency onto `background`."""
    if image.mode in _SIXTEEN_BIT_GRAY_MODES:
        image = _sixteen_bit_gray_to_8(image)
    image = _invert_plain_cmyk(image, source_format)
    # "transparency" in info covers palette tRNS chunks and a single transparent L or RGB value.
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return composite_on_background(image.convert("RGBA"), background)
    return image.convert("RGB")


def decode_raster(path: Path, settings: ImageSettings) -> DecodedImage:
    """Decode a raster file (first frame or page) into a training image.

    Checks the pixel count from the header before decoding, applies the EXIF
    orientation, and for JPEG lets libjpeg decode at 1/2, 1/4 or 1/8 scale
    when the result stays at least the target size. Raises NotARasterImage
    when none of the `PILLOW_OPENERS` recognises the file, ImageRejected for
    a file over the pixel limit, and the decoder's own error for a corrupt or
    truncated file.
    """
    with pillow_pixel_limit(settings.max_pixels):
        try:
            image = Image.open(path, formats=PILLOW_OPENERS)
        except UnidentifiedImageError as error:
            raise NotARasterImage(str(error)) from None
        except Image.DecompressionBombError:
            # Pillow raises this at open for more than twice its limit, which is ours here.
            raise ImageRejected(
                "too_many_pixels", f"the header declares more than twice --max-pixels {settings.max_pixels:,} pixels"
            ) from None

        with image:
            check_pixel_count(image.width, image.height, settings.max_pixels)
            source_format = PILLOW_FORMATS[image.format or ""]
            source_mode = image.mode
            if source_format == "JPEG":
                image.draft(None, (settings.resolution_px, settings.resolution_px))
            image.load()
            found_warnings: list[tuple[str, str]] = []
            try:
                upright = ImageOps.exif_transpose(image)
            except (ValueError, SyntaxError, OSError, KeyError, TypeError) as error:
                found_warnings.append(("exif_invalid", f"EXIF orientation ignored: {error}"))
                upright = image
            rgb = to_rgb(upright, source_format, settings.background)

    pixels = np.asarray(fit_square(rgb, settings.resolution_px, settings.fit, settings.background), dtype=np.uint8)
    return DecodedImage(pixels, source_format, source_mode, tuple(found_warnings))
