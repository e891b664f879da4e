"""Fréchet distance and KID: closed forms, numerical safety and agreement with torchmetrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from designgan.metrics.frechet import (GaussianStatistics, few_samples_warning, frechet_distance, kernel_distance,
                                       polynomial_mmd2_unbiased)


class Identity(torch.nn.Module):
    """A torchmetrics "feature extractor" that passes features through unchanged."""

    def __init__(self, dimensions: int):
        super().__init__()
        self.num_features = dimensions

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def random_covariance(dimensions: int, rng: np.random.Generator) -> np.ndarray:
    factor = rng.normal(size=(dimensions, dimensions))
    return factor @ factor.T / dimensions + 0.1 * np.eye(dimensions)


def test_frechet_diagonal_closed_form():
    # For diagonal covariances FD = |mu1 - mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2.
    first = GaussianStatistics(np.array([0.0, 1.0, 2.0]), np.diag([1.0, 4.0, 9.0]), 100)
    second = GaussianStatistics(np.array([1.0, 1.0, 0.0]), np.diag([4.0, 1.0, 1.0]), 100)
    expected = (1 + 0 + 4) + (1 + 1 + 4)
    assert frechet_distance(first, second) == pytest.approx(expected, rel=1e-9)


def test_frechet_general_closed_form():
    # Tr(sqrt(S1 S2)) from the eigenvalues of S1 S2, which are real and non-negative.
    rng = np.random.default_rng(0)
    s1, s2 = random_covariance(5, rng), random_covariance(5, rng)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    trace_sqrt = np.sqrt(np.linalg.eigvals(s1 @ s2).real).sum()
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert frechet_distance(GaussianStatistics(mu1, s1, 10), GaussianStatistics(mu2, s2, 10)) == pytest.approx(expected)


def test_frechet_of_samples_near_closed_form():
    rng = np.random.default_rng(1)
    s1, s2 = random_covariance(4, rng), random_covariance(4, rng)
    mu1, mu2 = np.zeros(4), np.full(4, 0.5)
    exact = frechet_distance(GaussianStatistics(mu1, s1, 0), GaussianStatistics(mu2, s2, 0))
    first = GaussianStatistics.of(rng.multivariate_normal(mu1, s1, size=20_000))
    second = GaussianStatistics.of(rng.multivariate_normal(mu2, s2, size=20_000))
    assert frechet_distance(first, second) == pytest.approx(exact, abs=0.03)


def test_frechet_matches_torchmetrics():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(300, 6))
    fake = rng.normal(loc=0.3, scale=1.2, size=(200, 6))
    metric = FrechetInceptionDistance(feature=Identity(6))
    metric.update(torch.from_numpy(real), real=True)
    metric.update(torch.from_numpy(fake), real=False)
    ours = frechet_distance(GaussianStatistics.of(real), GaussianStatistics.of(fake))
    assert ours == pytest.approx(float(metric.compute()), rel=1e-6)


def test_frechet_few_samples_finite():
    rng = np.random.default_rng(3)
    first = GaussianStatistics.of(rng.normal(size=(5, 64)))
    second = GaussianStatistics.of(rng.normal(size=(5, 64)))
    distance = frechet_distance(first, second)
    assert isinstance(distance, float)
    assert np.isfinite(distance)
    assert distance >= 0.0


def test_frechet_identical_sets_zero():
    features = np.random.default_rng(4).normal(size=(50, 8))
    statistics = GaussianStatistics.of(features)
    assert frechet_distance(statistics, statistics) == pytest.approx(0.0, abs=1e-9)


def test_few_samples_warning_threshold():
    assert few_samples_warning(256, 256, "generated") is not None
    assert few_samples_warning(257, 256, "generated") is None


def test_frechet_rejects_single_sample():
    with pytest.raises(ValueError, match="N >= 2"):
        GaussianStatistics.of(np.zeros((1, 4)))


def test_kid_same_distribution_near_zero():
    # A shift of the mean by 0.3 standard deviations gives KID of about 0.3 here.
    rng = np.random.default_rng(5)
    kid = kernel_distance(rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8)), subset_size=1000, subsets=4)
    assert abs(kid.mean) < 0.01


def test_kid_different_distributions_positive():
    rng = np.random.default_rng(6)
    kid = kernel_distance(rng.normal(size=(2000, 8)), rng.normal(loc=0.3, size=(2000, 8)), subset_size=1000,
                          subsets=4)
    assert kid.mean > 0.1


def test_kid_unbiased_in_expectation():
    # Small sets make the bias of the plug-in (V-statistic) estimate visible; the
    # unbiased estimate must average to 0 within its standard error.
    rng = np.random.default_rng(7)
    unbiased, biased = [], []
    for _ in range(400):
        first = torch.from_numpy(rng.normal(size=(10, 4)))
        second = torch.from_numpy(rng.normal(size=(10, 4)))
        unbiased.append(polynomial_mmd2_unbiased(first, second))
        kernel = lambda a, b: (a @ b.T / 4 + 1) ** 3  # noqa: E731
        biased.append(float(kernel(first, first).mean() + kernel(second, second).mean() - 2 * kernel(first, second).mean()))
    standard_error = np.std(unbiased) / np.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) < 3 * standard_error
    assert np.mean(biased) > 3 * standard_error


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save all extracted features")
def test_kid_matches_torchmetrics():
    rng = np.random.default_rng(8)
    real = rng.normal(size=(60, 5))
    fake = rng.normal(loc=0.2, size=(60, 5))
    # With subset_size equal to both set sizes every subset is the whole set, so the
    # random subsets of torchmetrics cannot change its value.
    metric = KernelInceptionDistance(feature=Identity(5), subsets=1, subset_size=60)
    metric.update(torch.from_numpy(real), real=True)
    metric.update(torch.from_numpy(fake), real=False)
    expected, _ = metric.compute()
    assert kernel_distance(fake, real, subset_size=60).mean == pytest.approx(float(expected), rel=1e-6)


def test_kid_subset_lowered_to_set_size():
    rng = np.random.default_rng(9)
    kid = kernel_distance(rng.normal(size=(30, 3)), rng.normal(size=(50, 3)), subset_size=1000, subsets=5)
    assert kid.subset_size == 30
