"""Sampling weights balanced over base designs (skin-tone variants share one draw)."""

import numpy as np
import pytest

from designgan.data.sampling import base_design_count, base_design_id, sampling_weights


def test_base_design_strips_skin_tones():
    assert base_design_id("1F468-1F3FD-200D-2695-FE0F") == "1F468-200D-2695-FE0F"
    assert base_design_id("1F9D1-1F3FB-200D-1F91D-200D-1F9D1-1F3FF") == "1F9D1-200D-1F91D-200D-1F9D1"
    assert base_design_id("1f44b-1f3ff") == "1f44b"


def test_base_design_keeps_other_ids():
    assert base_design_id("1F431") == "1F431"
    assert base_design_id("icons/cat-face.svg") == "icons/cat-face.svg"


def test_uniform_gives_no_weights():
    assert sampling_weights(["1F431", "1F44B"], "uniform") is None


def test_base_design_weights_share_one_draw():
    ids = ["1F44B", "1F44B-1F3FB", "1F44B-1F3FC", "1F44B-1F3FD", "1F431"]
    weights = sampling_weights(ids, "base-design")
    assert weights.sum() == pytest.approx(1.0)
    # The waving hand's four variants together weigh as much as the cat alone.
    assert weights[:4].sum() == pytest.approx(weights[4])
    assert np.allclose(weights[:4], weights[0])


def test_folder_names_sample_uniformly():
    weights = sampling_weights(["a.png", "b.png", "c.svg"], "base-design")
    assert np.allclose(weights, 1 / 3)


def test_unknown_mode_named():
    with pytest.raises(ValueError, match="'rare-first'.*uniform, base-design"):
        sampling_weights(["1F431"], "rare-first")


def test_imported_file_names_group_by_base_design():
    # An imported folder keeps file names as source ids; the extension must not hide the tone.
    ids = ["1F44B.png", "1F44B-1F3FB.png", "1F44B-1F3FF.png", "icons/1F468-1F3FD-200D-2695-FE0F.svg",
           "icons/1F468-200D-2695-FE0F.svg", "cat-face.svg"]
    assert base_design_id("1F44B-1F3FB.png") == "1F44B.png"
    assert base_design_count(ids) == 3
    weights = sampling_weights(ids, "base-design")
    assert weights[:3].sum() == pytest.approx(weights[5])


def test_dots_in_names_are_not_extensions():
    assert base_design_id("v1.2-1F3FB") == "v1.2"
    assert base_design_id("1F44B-1F3FB") == "1F44B"
