"""Diversity within a keyword set: the mean pairwise feature distance, generated vs real.

A conditional GAN can follow its keywords and still draw one design for each keyword set
(mode collapse within the set). Such collapse hides from a Fréchet distance averaged over
all keyword sets, so each set is measured on its own: many samples for one fixed keyword
set against the real designs that have exactly that set.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class KeywordSet:
    """A keyword combination that real designs use, with the indices of those designs."""

    labels: tuple[int, ...]  # the multi-hot row (K,) of the combination
    keywords: tuple[str, ...]
    design_indices: tuple[int, ...]


@dataclass(frozen=True)
class SetDiversity:
    keywords: tuple[str, ...]
    generated: float  # mean pairwise distance of the generated samples
    real: float  # mean pairwise distance of the real designs with this keyword set
    n_generated: int
    n_real: int

    @property
    def ratio(self) -> float:
        return self.generated / self.real if self.real > 0 else float("nan")


def mean_pairwise_distance(features: np.ndarray) -> float:
    """Return the mean Euclidean distance over all pairs i < j of features (N, D); NaN for N < 2."""
    points = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    if len(points) < 2:
        return float("nan")
    distances = torch.cdist(points, points)
    return float(distances.sum() / (len(points) * (len(points) - 1)))  # the zero diagonal adds nothing


def frequent_keyword_sets(labels: np.ndarray, keywords: tuple[str, ...] | list[str], max_sets: int,
                          min_designs: int) -> list[KeywordSet]:
    """Return up to `max_sets` keyword combinations used by at least `min_designs` designs,
    most used first (ties in label order, so the choice is deterministic)."""
    rows = [tuple(int(v) for v in row) for row in np.asarray(labels)]
    counts = Counter(row for row in rows if any(row))
    chosen = sorted((row for row, count in counts.items() if count >= min_designs),
                    key=lambda row: (-counts[row], row))[:max_sets]
    sets = []
    for row in chosen:
        indices = tuple(i for i, other in enumerate(rows) if other == row)
        sets.append(KeywordSet(row, tuple(keywords[k] for k, v in enumerate(row) if v), indices))
    return sets


def mode_collapse_warning(results: list[SetDiversity], collapse_ratio: float) -> str | None:
    """Return a warning when the median generated / real diversity ratio is below `collapse_ratio`."""
    ratios = [result.ratio for result in results if np.isfinite(result.ratio)]
    if not ratios:
        return None
    median = float(np.median(ratios))
    if median >= collapse_ratio:
        return None
    return (f"possible mode collapse: within a keyword set the generated samples are {median:.2f}x as diverse as "
            f"the real designs (median over {len(ratios)} sets, warning below {collapse_ratio}).")
