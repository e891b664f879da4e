"""Raster decoding: every format and mode to one RGB square, transparency, CMYK, EXIF, limits, fit."""

import numpy as np
import pytest
from PIL import Image, ImageFile

from designgan.data.decode import decode_file
from designgan.data.images import ImageRejected, ImageSettings, parse_color

RED, GREEN, BLUE, WHITE, MAGENTA = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (255, 0, 255)
SETTINGS = ImageSettings(resolution_px=32)


def _decode(path, **overrides):
    return decode_file(path, ImageSettings(**{**vars(SETTINGS), **overrides}))


def _close(pixel, colour, tolerance=8):
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, colour))


@pytest.mark.parametrize("suffix, save_format, mode", [
    (".png", "PNG", "RGB"), (".jpg", "JPEG", "RGB"), (".webp", "WEBP", "RGB"), (".gif", "GIF", "P"),
    (".bmp", "BMP", "RGB"), (".tiff", "TIFF", "RGB"),
])
def test_formats_decode_to_rgb(tmp_path, suffix, save_format, mode):
    path = tmp_path / f"red{suffix}"
    Image.new("RGB", (20, 20), RED).convert(mode).save(path, save_format)
    decoded = _decode(path)
    assert decoded.pixels.shape == (32, 32, 3)
    assert decoded.pixels.dtype == np.uint8
    assert _close(decoded.pixels[16, 16], RED)


def test_extension_any_case(tmp_path):
    path = tmp_path / "red.PnG"
    Image.new("RGB", (8, 8), RED).save(path, "PNG")
    decoded = _decode(path)
    assert decoded.source_format == "PNG"
    assert decoded.warnings == ()


def test_content_wins_over_extension(tmp_path):
    path = tmp_path / "actually_jpeg.png"
    Image.new("RGB", (8, 8), BLUE).save(path, "JPEG")
    decoded = _decode(path)
    assert decoded.source_format == "JPEG"
    assert _close(decoded.pixels[16, 16], BLUE)
    assert [reason for reason, _ in decoded.warnings] == ["extension_mismatch"]


def test_gif_first_frame(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (8, 8), colour) for colour in (GREEN, RED)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    assert _close(_decode(path).pixels[16, 16], GREEN)


def test_palette_transparent_index_hidden(tmp_path):
    # Index 1 is vivid magenta and fully transparent (tRNS); index 0 is opaque blue.
    image = Image.new("P", (20, 20), 1)
    image.putpalette([*BLUE, *MAGENTA] + [0] * 762)
    image.paste(0, (5, 5, 15, 15))
    path = tmp_path / "palette.png"
    image.save(path, transparency=1)
    pixels = _decode(path, background=WHITE).pixels.reshape(-1, 3).astype(int)
    # Magenta would show as high red and blue with low green, also when blended at edges.
    assert not np.any((pixels[:, 0] - pixels[:, 1] > 40) & (pixels[:, 2] - pixels[:, 1] > 40))
    assert _close(_decode(path).pixels[0, 0], WHITE)


def test_transparency_uses_background(tmp_path):
    path = tmp_path / "clear.png"
    Image.new("RGBA", (8, 8), (*RED, 0)).save(path)
    assert _close(_decode(path, background=(10, 20, 30)).pixels[16, 16], (10, 20, 30), tolerance=0)


@pytest.mark.parametrize("mode, value, expected", [
    ("L", 128, (128, 128, 128)), ("LA", (128, 255), (128, 128, 128)), ("RGB", BLUE, BLUE),
    ("RGBA", (*BLUE, 255), BLUE), ("1", 1, WHITE), ("P", 0, (0, 0, 0)),
])
def test_modes_become_rgb(tmp_path, mode, value, expected):
    path = tmp_path / f"{mode}.png"
    Image.new(mode, (8, 8), value).save(path)
    decoded = _decode(path)
    assert decoded.source_mode == mode
    assert decoded.pixels.shape == (32, 32, 3)
    assert _close(decoded.pixels[16, 16], expected, tolerance=1)


def test_sixteen_bit_gray_scaled(tmp_path):
    path = tmp_path / "gray16.png"
    Image.fromarray(np.full((8, 8), 0x8000, dtype=np.uint16)).save(path)  # half of full scale
    decoded = _decode(path)
    assert decoded.source_mode.startswith("I")
    assert tuple(decoded.pixels[16, 16]) == (128, 128, 128)


def _cmyk_jpeg_bytes(values):
    import io

    buffer = io.BytesIO()
    Image.new("CMYK", (16, 16), values).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _without_app14(data):
    """Remove the APP14 "Adobe" segment (marker FFEE) from JPEG bytes."""
    start = data.index(b"\xff\xee")
    length = int.from_bytes(data[start + 2 : start + 4], "big")
    return data[:start] + data[start + 2 + length :]


def test_cmyk_jpeg_adobe_is_red(tmp_path):
    path = tmp_path / "adobe.jpg"
    path.write_bytes(_cmyk_jpeg_bytes((0, 255, 255, 0)))  # Pillow writes inverted data with an Adobe marker
    decoded = _decode(path)
    assert decoded.source_mode == "CMYK"
    assert _close(decoded.pixels[16, 16], RED)


def test_cmyk_jpeg_without_adobe_is_red(tmp_path):
    # Pillow stores 255 - v; feeding it the inverse of red stores plain C=0 M=255 Y=255 K=0.
    data = _without_app14(_cmyk_jpeg_bytes((255, 0, 0, 255)))
    assert b"Adobe" not in data
    path = tmp_path / "plain.jpg"
    path.write_bytes(data)
    assert _close(_decode(path).pixels[16, 16], RED)


def test_exif_rotation_applied(tmp_path):
    # Upright: 20 wide x 40 tall, red top half, blue bottom half. Orientation 6 means
    # "rotate 90 degrees clockwise to display", so the stored pixels are turned counter-clockwise.
    upright = Image.new("RGB", (20, 40), BLUE)
    upright.paste(RED, (0, 0, 20, 20))
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    stored.save(path, "JPEG", exif=exif.tobytes(), quality=95)
    pixels = _decode(path, fit="stretch").pixels
    assert _close(pixels[4, 16], RED, tolerance=30)
    assert _close(pixels[28, 16], BLUE, tolerance=30)


@pytest.mark.parametrize("fit, corner, centre_top", [("pad", WHITE, WHITE), ("crop", RED, RED), ("stretch", RED, RED)])
def test_fit_modes_on_wide_image(tmp_path, fit, corner, centre_top):
    path = tmp_path / "wide.png"
    Image.new("RGB", (40, 20), RED).save(path)
    pixels = _decode(path, fit=fit).pixels
    assert pixels.shape == (32, 32, 3)
    assert _close(pixels[0, 0], corner, tolerance=2)
    assert _close(pixels[1, 16], centre_top, tolerance=2)
    assert _close(pixels[16, 16], RED, tolerance=2)


def test_crop_keeps_centre(tmp_path):
    image = Image.new("RGB", (60, 20), RED)
    image.paste(BLUE, (20, 0, 40, 20))
    path = tmp_path / "stripes.png"
    image.save(path)
    pixels = _decode(path, fit="crop").pixels
    # Lanczos rings by a few levels at the image border.
    assert _close(pixels[16, 2], BLUE, tolerance=6)
    assert _close(pixels[16, 29], BLUE, tolerance=6)


def test_pixel_limit_checked_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("RGB", (40, 40), RED).save(path)

    def no_decoding(self):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ImageRejected) as raised:
        _decode(path, max_pixels=1024)
    assert raised.value.reason == "too_many_pixels"
    assert "40x40" in raised.value.detail


def test_pixel_limit_huge_header(tmp_path):
    # A 100-byte PNG whose header claims 100000 x 100000 px (30 GB as RGB), with almost no pixel data.
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(16)))
                     + chunk(b"IEND", b""))
    with pytest.raises(ImageRejected) as raised:
        _decode(path)
    assert raised.value.reason == "too_many_pixels"


def test_empty_file_rejected(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageRejected) as raised:
        _decode(path)
    assert raised.value.reason == "empty_file"


def test_text_file_rejected(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list: milk, eggs")
    with pytest.raises(ImageRejected) as raised:
        _decode(path)
    assert raised.value.reason == "not_an_image"


def test_truncated_jpeg_raises(tmp_path):
    path = tmp_path / "cut.jpg"
    noise = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, "JPEG")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(OSError, match="truncated"):
        _decode(path)


@pytest.mark.parametrize("text, expected", [
    ("#ffffff", (255, 255, 255)), ("#f00", (255, 0, 0)), ("255,128,0", (255, 128, 0)), (" 1, 2, 3 ", (1, 2, 3)),
    ("black", (0, 0, 0)),
])
def test_parse_color(text, expected):
    assert parse_color(text) == expected


@pytest.mark.parametrize("text", ["#12", "256,0,0", "blurple", "1,2"])
def test_parse_color_invalid(text):
    with pytest.raises(ValueError, match="Invalid colour"):
        parse_color(text)
