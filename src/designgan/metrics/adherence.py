"""Keyword adherence: does the domain classifier find the requested keywords in the images?

Generated images are scored against the keywords they were conditioned on. Real
held-out images are scored against their own keywords, which gives the score that a
perfect generator could expect from this classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ranking import mean_average_precision, top_k_hit_rate


@dataclass(frozen=True)
class AdherenceScore:
    """Classifier scores of images against their requested keywords."""

    mean_average_precision: float  # mean over keywords of the AP of ranking images by that keyword's logit
    keywords_counted: int  # keywords requested at least once, the ones the mAP averages over
    top_k_hit_rate: float  # mean share of requested keywords among the k top logits, k = keywords requested
    count: int  # images scored


def adherence_score(logits: np.ndarray, requested: np.ndarray, keyword_mask: np.ndarray | None = None,
                    averaged_mask: np.ndarray | None = None) -> AdherenceScore:
    """Score logits (N, K) against requested multi-hot keywords (N, K).

    keyword_mask: (K,) bool, the keywords the generator can be conditioned on. The
        others are removed from both the ranking and the targets, so generated and real
        images are scored on the same keywords.
    averaged_mask: (K,) bool, the keywords the mAP averages over (default: all in
        `keyword_mask`). Pass the keywords present in both sets being compared, because
        the mAP of rare keywords is lower and would make the two averages differ.
    """
    logits = np.asarray(logits, dtype=np.float64)
    requested = np.asarray(requested).astype(np.uint8)
    keyword_mask = np.ones(logits.shape[1], dtype=bool) if keyword_mask is None else np.asarray(keyword_mask)
    averaged_mask = keyword_mask if averaged_mask is None else keyword_mask & np.asarray(averaged_mask)
    average_precision, counted = mean_average_precision(logits[:, averaged_mask], requested[:, averaged_mask])
    hit_rate = top_k_hit_rate(logits[:, keyword_mask], requested[:, keyword_mask])
    return AdherenceScore(average_precision, counted, hit_rate, len(logits))
