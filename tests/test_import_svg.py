"""Untrusted SVG: entity bombs, external references, huge sizes, and rendering at the target size."""

import base64
import io
import time
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from designgan.data import render_svg
from designgan.data import svg as svg_module
from designgan.data.decode import decode_file
from designgan.data.images import ImageRejected, ImageSettings
from designgan.data.svg import check_svg, looks_like_svg

SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
SETTINGS = ImageSettings(resolution_px=32)


def _svg(body, attributes='viewBox="0 0 10 10"'):
    return f'<svg {SVG_NS} {attributes}>{body}</svg>'


def _write(tmp_path, text, name="drawing.svg"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _rejection(path, **overrides):
    with pytest.raises(ImageRejected) as raised:
        decode_file(path, ImageSettings(**{**vars(SETTINGS), **overrides}))
    return raised.value


@pytest.fixture
def no_rendering(monkeypatch):
    """Fail the test if resvg is asked to render anything."""

    def refuse(*args, **kwargs):
        raise AssertionError("resvg was called")

    monkeypatch.setattr(svg_module, "rasterize_svg", refuse)


def test_square_svg_matches_render_svg(tmp_path):
    text = _svg('<circle cx="5" cy="5" r="4" fill="#e02020"/><rect x="1" y="1" width="3" height="2" fill="#2040f0"/>')
    path = _write(tmp_path, text)
    decoded = decode_file(path, SETTINGS)
    assert decoded.source_format == "SVG"
    assert np.array_equal(decoded.pixels, render_svg(path, 32, (255, 255, 255)))


def test_huge_viewbox_renders_at_target(tmp_path):
    text = _svg('<rect width="1e9" height="1e9" fill="#00ff00"/>', 'viewBox="0 0 1e9 1e9"')
    path = _write(tmp_path, text)
    started = time.perf_counter()
    pixels = decode_file(path, SETTINGS).pixels
    assert time.perf_counter() - started < 5
    assert tuple(pixels[16, 16]) == (0, 255, 0)


def test_huge_width_attributes_render_at_target(tmp_path):
    path = _write(tmp_path, _svg('<rect width="10" height="10" fill="blue"/>', 'width="100000000" height="100000000" viewBox="0 0 10 10"'))
    assert tuple(decode_file(path, SETTINGS).pixels[16, 16]) == (0, 0, 255)


def test_extreme_aspect_crop_rejected_before_render(tmp_path, no_rendering):
    path = _write(tmp_path, _svg('<rect width="1" height="1000000"/>', 'viewBox="0 0 1 1000000"'))
    rejection = _rejection(path, fit="crop")
    assert rejection.reason == "too_many_pixels"


def test_wide_svg_padded(tmp_path):
    path = _write(tmp_path, _svg('<rect width="20" height="10" fill="red"/>', 'viewBox="0 0 20 10"'))
    pixels = decode_file(path, SETTINGS).pixels
    assert tuple(pixels[2, 16]) == (255, 255, 255)
    assert tuple(pixels[16, 16]) == (255, 0, 0)


def test_wide_svg_cropped(tmp_path):
    path = _write(tmp_path, _svg('<rect width="20" height="10" fill="red"/>', 'viewBox="0 0 20 10"'))
    pixels = decode_file(path, ImageSettings(resolution_px=32, fit="crop")).pixels
    assert tuple(pixels[2, 16]) == (255, 0, 0)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE svg [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><text>&lol9;</text></svg>
"""


def test_billion_laughs_rejected_fast(tmp_path, no_rendering):
    path = _write(tmp_path, BILLION_LAUGHS)
    tracemalloc.start()
    started = time.perf_counter()
    rejection = _rejection(path)
    seconds = time.perf_counter() - started
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rejection.reason == "svg_entity_declaration"
    assert seconds < 1
    assert peak_bytes < 1_000_000  # the expansion would be 3 GB of "lol"


def test_doctype_internal_subset_rejected(no_rendering):
    with pytest.raises(ImageRejected) as raised:
        check_svg('<!DOCTYPE svg [<!ATTLIST svg x CDATA "1">]>' + _svg(""), 10**6)
    assert raised.value.reason == "svg_entity_declaration"


def test_plain_doctype_removed(tmp_path):
    doctype = '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
    path = _write(tmp_path, '<?xml version="1.0" encoding="UTF-8"?>\n' + doctype + _svg('<rect width="10" height="10" fill="red"/>'))
    assert tuple(decode_file(path, SETTINGS).pixels[16, 16]) == (255, 0, 0)


@pytest.mark.parametrize("reference", [
    '<image href="http://example.invalid/x.png" width="10" height="10"/>',
    '<image xlink:href="https://example.invalid/x.png" width="10" height="10"/>',
    '<image href="file:///etc/hostname" width="10" height="10"/>',
    '<image href="red.png" width="10" height="10"/>',
    '<image href="//example.invalid/x.png" width="10" height="10"/>',
    '<rect width="10" height="10" fill="url(http://example.invalid/p.svg#g)"/>',
    '<rect width="10" height="10" style="fill: url(\'other.svg#g\')"/>',
    '<style>@import url(theme.css);</style>',
    '<style>rect { fill: url(pattern.svg#p) }</style>',
    '<use href="library.svg#icon"/>',
])
def test_external_reference_rejected(tmp_path, no_rendering, reference):
    path = _write(tmp_path, _svg(reference))
    rejection = _rejection(path)
    assert rejection.reason == "svg_external_reference"


def test_local_file_reference_never_read(tmp_path, no_rendering):
    secret = tmp_path / "secret.png"
    Image.new("RGB", (10, 10), (255, 0, 0)).save(secret)
    path = _write(tmp_path, _svg(f'<image href="{secret}" width="10" height="10"/>'))
    rejection = _rejection(path)
    assert rejection.reason == "svg_external_reference"
    assert str(secret) in rejection.detail


def test_stylesheet_instruction_rejected(tmp_path, no_rendering):
    path = _write(tmp_path, '<?xml-stylesheet href="style.css"?>' + _svg(""))
    assert _rejection(path).reason == "svg_external_reference"


def _png_data_uri(size, colour=(0, 0, 255)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def test_embedded_png_rendered(tmp_path):
    path = _write(tmp_path, _svg(f'<image href="{_png_data_uri((10, 10))}" width="10" height="10"/>'))
    assert tuple(decode_file(path, SETTINGS).pixels[16, 16]) == (0, 0, 255)


def test_embedded_png_over_limit_rejected(tmp_path, no_rendering):
    path = _write(tmp_path, _svg(f'<image href="{_png_data_uri((40, 40))}" width="10" height="10"/>'))
    assert _rejection(path, max_pixels=1024).reason == "too_many_pixels"


def test_embedded_svg_rejected(tmp_path, no_rendering):
    inner = base64.b64encode(_svg("").encode()).decode()
    path = _write(tmp_path, _svg(f'<image href="data:image/svg+xml;base64,{inner}" width="10" height="10"/>'))
    assert _rejection(path).reason == "svg_unsupported_data_uri"


def test_use_fan_out_rejected(tmp_path, no_rendering):
    # Each level uses the previous one ten times: 10^8 rectangles from a 2 kB file.
    levels = ['<rect id="l0" width="1" height="1"/>']
    for level in range(1, 9):
        uses = "".join(f'<use href="#l{level - 1}"/>' for _ in range(10))
        levels.append(f'<g id="l{level}">{uses}</g>')
    path = _write(tmp_path, _svg("<defs>" + "".join(levels) + '</defs><use href="#l8"/>'))
    assert _rejection(path).reason == "svg_too_complex"


def test_use_cycle_rejected(tmp_path, no_rendering):
    path = _write(tmp_path, _svg('<g id="a"><use href="#a"/></g>'))
    assert _rejection(path).reason == "svg_invalid"


def test_malformed_svg_rejected(tmp_path, no_rendering):
    path = _write(tmp_path, f"<svg {SVG_NS}><rect></svg>")
    assert _rejection(path).reason == "svg_invalid"


def test_legacy_encoding_svg_decoded(tmp_path):
    text = '<?xml version="1.0" encoding="ISO-8859-1"?>' + _svg('<title>caf\u00e9</title><rect width="10" height="10" fill="red"/>')
    path = tmp_path / "latin1.svg"
    path.write_bytes(text.encode("latin-1"))
    assert tuple(decode_file(path, SETTINGS).pixels[16, 16]) == (255, 0, 0)


def test_svg_recognised_by_content(tmp_path):
    path = _write(tmp_path, _svg('<rect width="10" height="10" fill="red"/>'), name="drawing.png")
    decoded = decode_file(path, SETTINGS)
    assert decoded.source_format == "SVG"
    assert [reason for reason, _ in decoded.warnings] == ["extension_mismatch"]


@pytest.mark.parametrize("head, expected", [
    (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">', True),
    (b"\xef\xbb\xbf<svg>", True),
    ('<svg width="1">'.encode("utf-16"), True),
    (b"<html><body>svg</body></html>", False),
    (b"\x89PNG\r\n\x1a\n<svg>", False),
])
def test_looks_like_svg(head, expected):
    assert looks_like_svg(head) is expected
