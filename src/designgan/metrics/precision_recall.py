"""Precision, recall, density and coverage of generated features against real features.

Each real sample gets a ball whose radius is the distance to its k-th nearest real
neighbour, and together the balls estimate the real manifold. The generated samples get
balls the same way.

- precision (Kynkäänniemi et al. 2019, "Improved precision and recall metric for
  assessing generative models"): share of generated samples inside at least one real ball.
- recall (same paper): share of real samples inside at least one generated ball.
- density (Naeem et al. 2020, "Reliable fidelity and diversity metrics for generative
  models"): the number of real balls containing each generated sample, summed and
  divided by k * M. It is about 1 when both sets come from one distribution and can
  exceed 1 where generated samples crowd dense real regions.
- coverage (same paper): share of real samples whose ball contains at least one
  generated sample. Unlike recall it is not inflated by generated outliers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

ROW_CHUNK = 1024  # rows of the distance matrix computed at once: 1024 x 10,000 float32 is 40 MB


@dataclass(frozen=True)
class PrecisionRecall:
    precision: float
    recall: float
    density: float
    coverage: float
    k: int


def kth_neighbour_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Return (N,) distances from each point to its k-th nearest other point of the same set."""
    if len(features) <= k:
        raise ValueError(f"k={k} needs more than {k} samples per set, got {len(features)}.")
    radii = []
    for start in range(0, len(features), ROW_CHUNK):
        distances = torch.cdist(features[start:start + ROW_CHUNK], features)  # (chunk, N)
        # The smallest distance of each row is the point to itself (0), so take the (k + 1)-th.
        radii.append(distances.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(radii)


def precision_recall_density_coverage(real: np.ndarray, generated: np.ndarray, k: int = 5) -> PrecisionRecall:
    """Return the four scores of generated features (M, D) against real features (N, D)."""
    real_t = torch.as_tensor(np.asarray(real), dtype=torch.float64)
    fake_t = torch.as_tensor(np.asarray(generated), dtype=torch.float64)
    real_radii = kth_neighbour_radii(real_t, k)  # (N,)
    fake_radii = kth_neighbour_radii(fake_t, k)  # (M,)

    # Generated rows against real columns: precision, density and coverage.
    inside_real = torch.zeros(len(fake_t), dtype=torch.bool)
    balls_per_fake = torch.zeros(len(fake_t), dtype=torch.float64)
    real_covered = torch.zeros(len(real_t), dtype=torch.bool)
    for start in range(0, len(fake_t), ROW_CHUNK):
        distances = torch.cdist(fake_t[start:start + ROW_CHUNK], real_t)  # (chunk, N)
        within = distances <= real_radii[None, :]
        inside_real[start:start + ROW_CHUNK] = within.any(dim=1)
        balls_per_fake[start:start + ROW_CHUNK] = within.sum(dim=1).double()
        real_covered |= within.any(dim=0)

    # Real rows against generated columns: recall.
    inside_fake = torch.zeros(len(real_t), dtype=torch.bool)
    for start in range(0, len(real_t), ROW_CHUNK):
        distances = torch.cdist(real_t[start:start + ROW_CHUNK], fake_t)  # (chunk, M)
        inside_fake[start:start + ROW_CHUNK] = (distances <= fake_radii[None, :]).any(dim=1)

    return PrecisionRecall(
        precision=float(inside_real.double().mean()),
        recall=float(inside_fake.double().mean()),
        density=float(balls_per_fake.sum() / (k * len(fake_t))),
        coverage=float(real_covered.double().mean()),
        k=k,
    )
