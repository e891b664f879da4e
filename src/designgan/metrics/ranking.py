"""Ranking scores of a multi-label classifier: average precision and top-k hit rate."""

from __future__ import annotations

import numpy as np


def average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Return the average precision of one label: the mean, over the positives, of the
    precision among all items scored at least as high as that positive.

    scores: (N,) any real values, higher = more likely positive. targets: (N,) 0/1.
    Returns NaN when there is no positive. Tied scores are ranked positives last,
    the pessimistic order, so a constant scorer gets the base rate and no credit.
    """
    targets = np.asarray(targets).astype(bool)
    positives = int(targets.sum())
    if positives == 0:
        return float("nan")
    order = np.lexsort((targets, -np.asarray(scores, dtype=np.float64)))  # by score descending, negatives first on ties
    hits = targets[order]
    precision_at_rank = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at_rank[hits].sum() / positives)


def mean_average_precision(scores: np.ndarray, targets: np.ndarray) -> tuple[float, int]:
    """Return (mAP, labels counted) over the columns of (N, K) scores and 0/1 targets.

    Labels without a positive among the N items are left out, because their
    average precision is undefined; NaN when no label has a positive.
    """
    values = [average_precision(scores[:, k], targets[:, k]) for k in range(targets.shape[1])]
    defined = [value for value in values if not np.isnan(value)]
    return (float(np.mean(defined)) if defined else float("nan")), len(defined)


def top_k_hit_rate(scores: np.ndarray, targets: np.ndarray) -> float:
    """Return the mean share of each item's target labels found among its k highest
    scores, with k the item's number of target labels (R-precision); 1 is perfect.

    Items without a target label are skipped; NaN when none has one.
    """
    rates = []
    for row_scores, row_targets in zip(scores, np.asarray(targets).astype(bool)):
        k = int(row_targets.sum())
        if k == 0:
            continue
        top = np.argpartition(-row_scores, k - 1)[:k]
        rates.append(row_targets[top].sum() / k)
    return float(np.mean(rates)) if rates else float("nan")
