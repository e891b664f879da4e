"""Precision, recall, density and coverage on point sets with known values."""

from __future__ import annotations

import numpy as np
import pytest

from designgan.metrics.precision_recall import kth_neighbour_radii, precision_recall_density_coverage

# Real points 0, 1, ..., 19 on a line: with k = 1 every real ball has radius 1.
LINE = np.arange(20, dtype=np.float64)[:, None]


def test_radii_kth_neighbour():
    import torch

    radii = kth_neighbour_radii(torch.from_numpy(LINE), k=2)
    assert radii[0].item() == pytest.approx(2.0)  # the end point's 2nd neighbour is 2 away
    assert radii[10].item() == pytest.approx(1.0)  # an inner point has a neighbour 1 away on each side


def test_scores_known_values_on_line():
    # Fakes at 0.5 and 10.2 lie in real balls, 100 does not: precision 2/3.
    # Real balls containing each fake: 0.5 -> {0, 1}, 10.2 -> {10, 11}, 100 -> none: density 4 / (1 * 3).
    # Real points with a fake in their ball: 0, 1, 10, 11: coverage 4 / 20.
    # Fake radii (k = 1): 9.7, 9.7 and 89.8, so the outlier at 100 reaches every real
    # point from 10.2 up and recall is 20 / 20: recall counts outliers, coverage does not.
    fakes = np.array([[0.5], [10.2], [100.0]])
    scores = precision_recall_density_coverage(LINE, fakes, k=1)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.density == pytest.approx(4 / 3)
    assert scores.coverage == pytest.approx(4 / 20)
    assert scores.recall == pytest.approx(1.0)


def test_scores_disjoint_sets_zero():
    scores = precision_recall_density_coverage(LINE, LINE + 1000.0, k=5)
    assert scores.precision == 0.0
    assert scores.recall == 0.0
    assert scores.density == 0.0
    assert scores.coverage == 0.0


def test_scores_collapsed_fakes():
    # Every fake is real point 5. With k = 2 an inner real ball has radius 1 (one
    # neighbour on each side), so the fakes cover reals 4, 5 and 6; the fake balls have
    # radius 0, so only real point 5 itself is recalled.
    fakes = np.full((10, 1), 5.0)
    scores = precision_recall_density_coverage(LINE, fakes, k=2)
    assert scores.precision == 1.0
    assert scores.coverage == pytest.approx(3 / 20)
    assert scores.recall == pytest.approx(1 / 20)


def test_scores_same_distribution_near_one():
    rng = np.random.default_rng(0)
    scores = precision_recall_density_coverage(rng.normal(size=(1000, 4)), rng.normal(size=(1000, 4)), k=5)
    assert scores.precision > 0.8
    assert scores.recall > 0.8
    assert scores.density == pytest.approx(1.0, abs=0.15)
    assert scores.coverage > 0.9


def test_scores_reject_too_few_samples():
    with pytest.raises(ValueError, match="k=5"):
        precision_recall_density_coverage(LINE, LINE[:5], k=5)
