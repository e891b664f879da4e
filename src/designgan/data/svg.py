"""Untrusted SVG files: safety checks, then rendering straight at the target size.

resvg-py 0.5 expands XML entities, and it reads any local file that an
<image href> names, by absolute path (whatever resources_dir says) or relative
to the working folder. So before resvg sees markup, `check_svg`
rejects entity declarations, DOCTYPE internal subsets, external style sheets,
and every reference that is not "#id" within the file or a small embedded
raster image. The checks run on the decoded text with regular expressions
and Python's expat parser, in time and memory linear in the file size.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import math
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from designgan.data.images import (
    PILLOW_OPENERS,
    DecodedImage,
    ImageRejected,
    ImageSettings,
    check_pixel_count,
    fit_square,
    pillow_pixel_limit,
)
from designgan.data.render import composite_on_background, rasterize_svg

# Both guards bound the work of one SVG. Detailed illustrations are a few MB
# with tens of thousands of elements; OpenMoji SVGs are a few kB.
MAX_SVG_BYTES = 32 * 1024 * 1024
MAX_EXPANDED_ELEMENTS = 250_000  # elements after expanding every <use>, as resvg renders them
SNIFF_BYTES = 16 * 1024  # how far into a file `looks_like_svg` searches for the <svg> tag
RASTER_DATA_TYPES = frozenset({"image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp"})
DEFAULT_SIZE_PX = 100.0  # what resvg assumes for a missing width or height without a viewBox
# Absolute CSS units in px, as CSS defines them (96 px per inch). em and ex assume a 16 px font.
_UNIT_PX = {"": 1.0, "px": 1.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "pt": 96 / 72, "pc": 16.0,
            "em": 16.0, "ex": 8.0}

_SVG_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?svg[\s>/]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml\s[^>]*\?>")
_ENCODING_DECLARATION = re.compile(rb"^\s*<\?xml\s[^>]*\bencoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_ENTITY = re.compile(r"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_DOCTYPE_WITHOUT_SUBSET = re.compile(r"<!DOCTYPE[^\[>]*>", re.IGNORECASE)
_STYLESHEET_INSTRUCTION = re.compile(r"<\?xml-stylesheet", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
_CSS_IMPORT = re.compile(r"@import", re.IGNORECASE)
_LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-z]*)\s*$")


def _local_name(tag: str) -> str:
    """Return "href" for "{http://www.w3.org/1999/xlink}href", and any name without a namespace as is."""
    return tag.rsplit("}", 1)[-1]


def looks_like_svg(head: bytes) -> bool:
    """Tell whether the first bytes of a file look like SVG markup (a "<" first, then an <svg> tag)."""
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            head = head[len(bom) :].decode(encoding, errors="ignore").encode("utf-8")
    head = head.removeprefix(codecs.BOM_UTF8).lstrip()
    return head.startswith(b"<") and _SVG_TAG.search(head) is not None


def decode_svg_text(data: bytes) -> str:
    """Decode SVG bytes by their byte-order mark, else their XML encoding declaration, else as UTF-8."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        declared = _ENCODING_DECLARATION.match(data)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return data.decode(encoding)
    except LookupError:
        raise ImageRejected("svg_invalid", f"unknown XML encoding {encoding!r}") from None
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ImageRejected("svg_invalid", f"line {line} is not valid {encoding}. Save the file as UTF-8.") from None


def _check_data_uri(uri: str, max_pixels: int) -> None:
    """Allow an embedded PNG, JPEG, GIF or WebP image whose pixel count is within `max_pixels`."""
    header, _, payload = uri[len("data:") :].partition(",")
    media_type = header.split(";")[0].strip().lower()
    if media_type not in RASTER_DATA_TYPES:
        raise ImageRejected(
            "svg_unsupported_data_uri",
            f"embedded data of type {media_type or 'text/plain'!r}. Only PNG, JPEG, GIF and WebP images may be embedded.",
        )
    try:
        data = base64.b64decode(payload) if ";base64" in header.lower() else payload.encode("latin-1")
    except (binascii.Error, UnicodeEncodeError) as error:
        raise ImageRejected("svg_invalid", f"embedded {media_type} image is not valid base64 ({error})") from None
    with pillow_pixel_limit(max_pixels):
        try:
            with Image.open(io.BytesIO(data), formats=PILLOW_OPENERS) as embedded:
                check_pixel_count(embedded.width, embedded.height, max_pixels)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError) as error:
            raise ImageRejected("svg_invalid", f"embedded {media_type} image cannot be read ({error})") from None


def _check_reference(reference: str, max_pixels: int) -> None:
    """Allow "#id" and embedded raster images, and reject any reference to another file or URL."""
    target = reference.strip()
    if not target or target.startswith("#"):
        return
    if target[:5].lower() == "data:":
        _check_data_uri(target, max_pixels)
        return
    shortened = target if len(target) <= 80 else target[:77] + "..."
    raise ImageRejected(
        "svg_external_reference",
        f"reference {shortened!r} points outside the SVG. External files and URLs are never read or fetched.",
    )


def _check_expanded_size(root: ElementTree.Element) -> None:
    """Reject <use> chains that expand to more than MAX_EXPANDED_ELEMENTS elements, or that loop.

    Each <use> stands for a copy of its target, so ten levels of ten <use>
    each ask the renderer for 10^10 elements from a file of a few kB. The count
    is computed once per element, bottom-up, without recursion.
    """
    by_id = {element.get("id"): element for element in root.iter() if element.get("id")}

    def dependencies(element: ElementTree.Element) -> list[ElementTree.Element]:
        found = list(element)
        if _local_name(element.tag) == "use":
            for name, value in element.attrib.items():
                if _local_name(name) == "href" and value.strip().startswith("#") and value.strip()[1:] in by_id:
                    found.append(by_id[value.strip()[1:]])
        return found

    in_progress, done = 1, 2
    state: dict[int, int] = {}
    sizes: dict[int, int] = {}
    stack = [root]
    while stack:
        element = stack[-1]
        key = id(element)
        if key not in state:
            state[key] = in_progress
            for dependency in dependencies(element):
                if state.get(id(dependency)) == in_progress:
                    raise ImageRejected("svg_invalid", "a <use> element refers to itself or to an ancestor")
                if id(dependency) not in state:
                    stack.append(dependency)
            continue
        stack.pop()
        if state[key] == done:
            continue
        sizes[key] = 1 + sum(sizes[id(dependency)] for dependency in dependencies(element))
        state[key] = done
        if sizes[key] > MAX_EXPANDED_ELEMENTS:
            raise ImageRejected(
                "svg_too_complex",
                f"<use> references expand to more than {MAX_EXPANDED_ELEMENTS:,} elements",
            )


def check_svg(text: str, max_pixels: int) -> tuple[str, ElementTree.Element]:
    """Check untrusted SVG markup and return (markup safe to hand to resvg, parsed root).

    Raises ImageRejected with reason svg_entity_declaration (any <!ENTITY, or a
    DOCTYPE with an internal subset), svg_external_reference, svg_unsupported_data_uri,
    svg_too_complex, too_many_pixels (an embedded image) or svg_invalid.
    A DOCTYPE without internal subset and the XML declaration are removed.
    """
    # Entities are rejected before any XML parser runs, so nested expansion never starts.
    if _ENTITY.search(text):
        raise ImageRejected(
            "svg_entity_declaration",
            "the file declares XML entities (<!ENTITY), which can expand without bound. Export it without them.",
        )
    markup = _XML_DECLARATION.sub("", text, count=1)
    markup = _DOCTYPE_WITHOUT_SUBSET.sub("", markup, count=1)
    if _DOCTYPE.search(markup):
        raise ImageRejected(
            "svg_entity_declaration", "the DOCTYPE has an internal subset ([...]). Export the file without it."
        )
    if _STYLESHEET_INSTRUCTION.search(markup):
        raise ImageRejected(
            "svg_external_reference", "an <?xml-stylesheet?> instruction names an external style sheet"
        )

    try:
        root = ElementTree.fromstring(markup)
    except ElementTree.ParseError as error:
        raise ImageRejected("svg_invalid", f"not well-formed XML ({error})") from None
    if _local_name(root.tag) != "svg":
        raise ImageRejected("svg_invalid", f"the root element is <{_local_name(root.tag)}>, not <svg>")

    for element in root.iter():
        for name, value in element.attrib.items():
            if _local_name(name) == "href":
                _check_reference(value, max_pixels)
            for _, target in _CSS_URL.findall(value):
                _check_reference(target, max_pixels)
        if _local_name(element.tag) == "style" and element.text:
            if _CSS_IMPORT.search(element.text):
                raise ImageRejected("svg_external_reference", "a <style> element uses @import")
            for _, target in _CSS_URL.findall(element.text):
                _check_reference(target, max_pixels)
    _check_expanded_size(root)
    return markup, root


def _length_px(value: str | None) -> float | None:
    """Parse an SVG length such as "24", "10mm" or "1e3px" into px; None for %, missing or invalid."""
    match = _LENGTH.match(value or "")
    if match is None or match.group(2) not in _UNIT_PX:
        return None
    length = float(match.group(1)) * _UNIT_PX[match.group(2)]
    return length if math.isfinite(length) and length > 0 else None


def svg_aspect_ratio(root: ElementTree.Element) -> float:
    """Return width / height of the SVG's intrinsic size, from width and height, else the viewBox."""
    width, height = _length_px(root.get("width")), _length_px(root.get("height"))
    if width and height:
        return width / height
    view_box = re.split(r"[\s,]+", (root.get("viewBox") or "").strip())
    try:
        box_width, box_height = float(view_box[2]), float(view_box[3])
    except (IndexError, ValueError):
        box_width = box_height = 0.0
    if box_width > 0 and box_height > 0 and math.isfinite(box_width / box_height):
        return box_width / box_height
    return (width or DEFAULT_SIZE_PX) / (height or DEFAULT_SIZE_PX)


def svg_canvas_size(aspect_ratio: float, settings: ImageSettings) -> tuple[int, int]:
    """Return the (width, height) in px to render at, so that `fit_square` gets what it needs.

    pad needs the long side at the target. crop and stretch need the short side
    at the target, so an extreme aspect ratio gives a long canvas. Raises
    ImageRejected when that canvas exceeds max_pixels, before anything is allocated.
    """
    side = settings.resolution_px
    if settings.fit == "pad":
        return side, side  # resvg fits the drawing inside the square
    if not (aspect_ratio > 0 and math.isfinite(aspect_ratio)):
        width = height = math.inf
    elif aspect_ratio >= 1:
        width, height = side * aspect_ratio, float(side)
    else:
        width, height = float(side), side / aspect_ratio
    if not (math.isfinite(width) and math.isfinite(height)) or width * height > settings.max_pixels:
        raise ImageRejected(
            "too_many_pixels",
            f"--fit {settings.fit} needs a {width:.0f}x{height:.0f} px render for aspect ratio "
            f"{aspect_ratio:.3g}, above --max-pixels {settings.max_pixels:,}",
        )
    return max(1, round(width)), max(1, round(height))


def decode_svg(path: Path, settings: ImageSettings) -> DecodedImage:
    """Check an SVG file, render it with resvg straight at the target size, and fit it to a square.

    The intrinsic size (width, height, viewBox) only sets the aspect ratio, so a
    huge viewBox costs no more than a small one. A square SVG gives exactly the
    pixels of `render_svg`.
    """
    size_bytes = path.stat().st_size
    if size_bytes > MAX_SVG_BYTES:
        raise ImageRejected("svg_too_large", f"{size_bytes:,} bytes is above the {MAX_SVG_BYTES:,}-byte SVG limit")
    markup, root = check_svg(decode_svg_text(path.read_bytes()), settings.max_pixels)
    width, height = svg_canvas_size(svg_aspect_ratio(root), settings)

    try:
        rgba = rasterize_svg(markup.encode("utf-8"), width, height)
    except ValueError as error:
        raise ImageRejected("svg_invalid", f"resvg cannot render it ({error})") from None
    rgb = composite_on_background(rgba, settings.background)
    pixels = fit_square(rgb, settings.resolution_px, settings.fit, settings.background)
    return DecodedImage(np.asarray(pixels, dtype=np.uint8), "SVG", "SVG")
