"""Decoding of any supported image file by its content, whatever its extension says."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from designgan.data.images import EXTENSION_FORMATS, DecodedImage, ImageRejected, ImageSettings, NotARasterImage, decode_raster
from designgan.data.svg import SNIFF_BYTES, decode_svg, looks_like_svg

SUPPORTED_FORMATS = "PNG, JPEG, WebP, GIF, BMP, TIFF or SVG"


def decode_file(path: Path, settings: ImageSettings) -> DecodedImage:
    """Decode one image file into a training image, choosing the decoder by content.

    SVG is recognised by its markup, raster formats by Pillow's signature
    checks. A file whose content is another format than its extension names
    is decoded anyway and gets an "extension_mismatch" warning. Raises
    ImageRejected for empty, unrecognised or rejected files. A corrupt or
    truncated file raises its decoder's error, which the caller reports.
    """
    if path.stat().st_size == 0:
        raise ImageRejected("empty_file", "the file is empty (0 bytes)")
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)

    if looks_like_svg(head):
        decoded = decode_svg(path, settings)
    else:
        try:
            decoded = decode_raster(path, settings)
        except NotARasterImage:
            raise ImageRejected("not_an_image", f"the content is not {SUPPORTED_FORMATS}") from None

    expected = EXTENSION_FORMATS.get(path.suffix.lower())
    if expected is not None and decoded.source_format != expected:
        mismatch = ("extension_mismatch", f"the extension {path.suffix!r} suggests {expected}, "
                    f"but the content is {decoded.source_format}, so it was decoded as {decoded.source_format}")
        decoded = replace(decoded, warnings=(*decoded.warnings, mismatch))
    return decoded
