"""Novelty: how close each generated image comes to its nearest training design.

A generator that memorised its data returns training designs. Closeness is measured
twice: in the domain classifier's features (same design, maybe shifted or recoloured)
and in pixels (RMS difference of values scaled to [0, 1], the same image).

What counts as "too close" is calibrated on real data: each held-out design (never seen
by the classifier, and from another design group than every train design) gets its
distance to the nearest train design. A new real design falls below the `quantile`
of those distances with probability `quantile`, so a generated set whose share below it
is far higher is copying.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

ROW_CHUNK = 512  # query rows per distance block: 512 x 4,000 float32 distances is 8 MB


@dataclass(frozen=True)
class Nearest:
    """Each query's nearest reference: distances (M,) and reference indices (M,)."""

    distances: np.ndarray
    indices: np.ndarray


@dataclass(frozen=True)
class CopyThreshold:
    """A distance below which an image counts as a near-copy, and where it came from."""

    distance: float
    quantile: float  # share of held-out real designs closer to the train split than `distance`
    n_held_out: int
    n_train: int


def nearest_neighbours(queries: np.ndarray | torch.Tensor, references: np.ndarray | torch.Tensor) -> Nearest:
    """Return the nearest reference (N, D) of each query (M, D) by Euclidean distance, in float32."""
    queries_t = torch.as_tensor(queries, dtype=torch.float32)
    references_t = torch.as_tensor(references, dtype=torch.float32)
    distances, indices = [], []
    for start in range(0, len(queries_t), ROW_CHUNK):
        block = torch.cdist(queries_t[start:start + ROW_CHUNK], references_t)  # (chunk, N)
        values, positions = block.min(dim=1)
        distances.append(values)
        indices.append(positions)
    if not distances:
        return Nearest(np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64))
    return Nearest(torch.cat(distances).numpy(), torch.cat(indices).numpy())


def pixel_vectors(images: torch.Tensor) -> torch.Tensor:
    """Flatten float images (N, 3, R, R) in [-1, 1] to vectors (N, 3 R R) of values in [0, 1]."""
    return ((images.float() + 1.0) / 2.0).flatten(start_dim=1)


def rms_pixel_distance(euclidean: np.ndarray, dimensions: int) -> np.ndarray:
    """Convert Euclidean distances between `pixel_vectors` to RMS differences per value in [0, 1]."""
    return np.asarray(euclidean) / np.sqrt(dimensions)


def calibrate_copy_threshold(held_out: np.ndarray | torch.Tensor, train: np.ndarray | torch.Tensor,
                             quantile: float) -> CopyThreshold:
    """Return the `quantile` of held-out-to-nearest-train distances as the near-copy threshold."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile={quantile} is out of range; use a value between 0 and 1.")
    nearest = nearest_neighbours(held_out, train)
    return CopyThreshold(float(np.quantile(nearest.distances, quantile)), quantile, len(nearest.distances), len(train))


def near_copy_share(distances: np.ndarray, threshold: CopyThreshold) -> float:
    """Return the share of distances at or below the threshold (at: an exact copy of a
    design whose held-out twin sets a threshold of 0 still counts)."""
    return float(np.mean(np.asarray(distances) <= threshold.distance)) if len(distances) else float("nan")


def closest_pairs(nearest: Nearest, count: int) -> list[tuple[int, int, float]]:
    """Return (query index, reference index, distance) of the `count` closest queries, closest first."""
    order = np.argsort(nearest.distances, kind="stable")[:count]
    return [(int(i), int(nearest.indices[i]), float(nearest.distances[i])) for i in order]
