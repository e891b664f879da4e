"""Keyword adherence and the ranking scores behind it, on hand-made logits."""

from __future__ import annotations

import numpy as np
import pytest

from designgan.metrics.adherence import adherence_score
from designgan.metrics.ranking import average_precision, top_k_hit_rate

REQUESTED = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=np.uint8)


def test_average_precision_known_value():
    # Ranked: positive, negative, positive -> (1/1 + 2/3) / 2.
    assert average_precision(np.array([0.9, 0.8, 0.7]), np.array([1, 0, 1])) == pytest.approx(5 / 6)


def test_average_precision_ties_pessimistic():
    assert average_precision(np.zeros(4), np.array([1, 0, 0, 0])) == pytest.approx(0.25)


def test_average_precision_no_positive_nan():
    assert np.isnan(average_precision(np.zeros(3), np.zeros(3)))


def test_top_k_hit_rate_known_value():
    scores = np.array([[0.9, 0.1, 0.5], [0.9, 0.8, 0.1]])
    targets = np.array([[1, 0, 0], [0, 1, 1]])
    assert top_k_hit_rate(scores, targets) == pytest.approx((1 + 0.5) / 2)


def test_adherence_perfect_logits():
    score = adherence_score(REQUESTED * 5.0, REQUESTED)
    assert score.mean_average_precision == 1.0
    assert score.top_k_hit_rate == 1.0
    assert score.keywords_counted == 3


def test_adherence_averaged_mask_limits_keywords():
    score = adherence_score(REQUESTED * 5.0, REQUESTED, averaged_mask=np.array([True, True, False]))
    assert score.keywords_counted == 2


def test_adherence_keyword_mask_drops_columns():
    # Keyword 2 is unknown to the generator: its column leaves the ranking, so image 3
    # (which requests only keyword 2) has no target and is skipped by the hit rate.
    logits = np.array([[0.0, 0.0, 9.0]] * 4) + REQUESTED
    score = adherence_score(logits, REQUESTED, keyword_mask=np.array([True, True, False]))
    assert score.keywords_counted == 2
    assert score.top_k_hit_rate == 1.0
