"""Linear directions in z: keyword boundaries (InterFaceGAN) and closed-form factorisation (SeFa).

Keyword boundaries (Shen et al. 2020, "Interpreting the Latent Space of GANs for
Semantic Face Editing"): generate ideas, score them with a classifier, and fit one
linear classifier per keyword that separates z of high-scoring ideas from z of
low-scoring ones. Its unit normal n is the keyword's direction: z + a * n raises
the keyword's score for a > 0. Conditional manipulation projects the normals of
other keywords out of n, so that moving along it leaves their scores unchanged to
first order.

SeFa (Shen and Zhou 2021, "Closed-Form Factorization of Latent Semantics in GANs"):
without labels, the directions that the generator's first layer amplifies most are
the top eigenvectors of A A^T, where A (latent_dim, outputs) contains that layer's
weights on z.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from ..pipeline import DesignModel
from .guided_edit import classifier_logits, step_length

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoundaryConfig:
    """Settings of the keyword boundary fit, saved with the directions."""

    conditions: int = 40  # keyword sets to draw ideas under, taken from the dataset's designs
    samples_per_condition: int = 100  # ideas (seeds) per keyword set
    quantile: float = 0.25  # share of ideas per keyword labelled positive (highest scores) and negative (lowest)
    val_fraction: float = 0.2  # share of ideas held out to measure each boundary's accuracy
    l2: float = 1e-3  # weight decay of the logistic regressions, per unit of squared weight norm
    iterations: int = 100  # L-BFGS iterations of the joint fit
    seed: int = 0  # seed of the ideas' z, the choice of keyword sets and the validation split

    def validate(self) -> "BoundaryConfig":
        if not 1 <= self.conditions <= 10_000:
            raise ValueError(f"conditions={self.conditions} is out of range; use 1..10000 keyword sets.")
        if not 10 <= self.samples_per_condition <= 100_000:
            raise ValueError(f"samples_per_condition={self.samples_per_condition} is out of range; use 10..100000.")
        if not 0.0 < self.quantile <= 0.5:
            raise ValueError(f"quantile={self.quantile} is out of range; use (0, 0.5].")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction={self.val_fraction} is out of range; use (0, 1).")
        if self.l2 < 0:
            raise ValueError(f"l2={self.l2} is out of range; use 0 or more.")
        if self.iterations < 1:
            raise ValueError(f"iterations={self.iterations} is out of range; use 1 or more.")
        return self

    @property
    def samples(self) -> int:
        return self.conditions * self.samples_per_condition


@dataclass
class Boundaries:
    """One fitted linear boundary per keyword, in z space."""

    keywords: list[str]
    normals: torch.Tensor  # (K, latent_dim) unit normals; a row of zeros where no boundary could be fitted
    offsets: torch.Tensor  # (K,) signed distance of the boundary from the origin along its normal
    train_accuracy: torch.Tensor  # (K,) share of training ideas on the correct side
    val_accuracy: torch.Tensor  # (K,) the same on held-out ideas; 0.5 is chance


@torch.no_grad()
def label_samples(model: DesignModel, classifier: nn.Module, conditions: torch.Tensor,
                  config: BoundaryConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw ideas under each keyword set and score them.

    conditions: multi-hot keyword sets (C, K_model) to draw under; for an unconditional
        model pass a tensor with one row of zero columns.
    Returns z (N, latent_dim), logits (N, K_classifier) and the index of each idea's
    keyword set (N,), with N = C * samples_per_condition.
    """
    rng = torch.Generator().manual_seed(config.seed)
    per = config.samples_per_condition
    latents, logits, groups = [], [], []
    for index, condition in enumerate(conditions):
        z = torch.randn(per, model.config.latent_dim, generator=rng)
        embedding = None
        if model.generator.embedding is not None:
            embedding = model.generator.embedding(condition[None].to(model.device))[0]
        latents.append(z)
        logits.append(classifier_logits(model, classifier, z, embedding))
        groups.append(torch.full((per,), index))
    return torch.cat(latents), torch.cat(logits), torch.cat(groups)


def center_by_group(scores: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Subtract from each score (N, K) the mean score of the ideas with the same keyword set.

    The keyword set decides much of a score ("flag" ideas score high on flag whatever
    z is), and z cannot predict that part. Centring leaves what z changes within a set.
    """
    centered = scores.clone()
    for group in groups.unique():
        rows = groups == group
        centered[rows] -= scores[rows].mean(dim=0)
    return centered


def quantile_labels(scores: torch.Tensor, quantile: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Label, per keyword, the top `quantile` of ideas 1 and the bottom `quantile` 0.

    Returns labels (N, K) and a mask (N, K) of the labelled ideas. The ideas in the
    middle are left out, because their side of the boundary is least certain.
    InterFaceGAN likewise keeps only the extremes of its scores.
    """
    count = max(1, int(len(scores) * quantile))
    ranks = scores.argsort(dim=0).argsort(dim=0)  # (N, K): 0 for the lowest score of each keyword
    high = ranks >= len(scores) - count
    labels = high.to(scores.dtype)
    mask = (high | (ranks < count)).to(scores.dtype)
    return labels, mask


def fit_boundaries(latents: torch.Tensor, scores: torch.Tensor, keywords: list[str], config: BoundaryConfig,
                   groups: torch.Tensor | None = None) -> Boundaries:
    """Fit one logistic-regression boundary per keyword, all at once, from z (N, D) and scores (N, K).

    groups: the keyword set of each idea (N,); when given, scores are centred per set first.
    """
    config.validate()
    if groups is not None:
        scores = center_by_group(scores, groups)
    labels, mask = quantile_labels(scores.double(), config.quantile)
    x = latents.double()

    # Split ideas, not (idea, keyword) pairs, so each boundary's held-out ideas were never seen in its fit.
    rng = torch.Generator().manual_seed(config.seed)
    held_out = torch.zeros(len(x), dtype=torch.bool)
    held_out[torch.randperm(len(x), generator=rng)[: max(1, int(len(x) * config.val_fraction))]] = True
    train_mask = mask * (~held_out).double()[:, None]
    val_mask = mask * held_out.double()[:, None]

    weights = torch.zeros(scores.shape[1], x.shape[1], dtype=torch.float64, requires_grad=True)
    biases = torch.zeros(scores.shape[1], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weights, biases], max_iter=config.iterations, line_search_fn="strong_wolfe")
    counts = train_mask.sum(dim=0).clamp_min(1.0)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        logits = x @ weights.T + biases  # (N, K)
        losses = nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        # Mean loss per keyword over its own labelled ideas, summed over keywords: the fits are independent.
        loss = ((losses * train_mask).sum(dim=0) / counts).sum() + config.l2 * weights.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    weights, biases = weights.detach(), biases.detach()

    correct = ((x @ weights.T + biases > 0).double() == labels).double()
    train_accuracy = (correct * train_mask).sum(dim=0) / counts
    val_accuracy = (correct * val_mask).sum(dim=0) / val_mask.sum(dim=0).clamp_min(1.0)
    norms = weights.norm(dim=1)
    fitted = norms > 1e-12
    normals = torch.where(fitted[:, None], weights / norms.clamp_min(1e-12)[:, None], torch.zeros_like(weights))
    # w.z + b = 0 is the boundary: along the unit normal it sits at distance -b / |w| from the origin.
    offsets = torch.where(fitted, -biases / norms.clamp_min(1e-12), torch.zeros_like(biases))
    return Boundaries(list(keywords), normals.float(), offsets.float(), train_accuracy.float(), val_accuracy.float())


def first_layer_weight(model: DesignModel) -> torch.Tensor:
    """Return the weights A (latent_dim, outputs) of the generator's first layer on z."""
    first = next(module for module in model.generator.net if isinstance(module, nn.ConvTranspose2d))
    # ConvTranspose2d weight: (in_features, out_channels, 4, 4); the first latent_dim inputs are z.
    return first.weight.detach()[: model.config.latent_dim].reshape(model.config.latent_dim, -1).double().cpu()


def sefa_directions(model: DesignModel) -> tuple[torch.Tensor, torch.Tensor]:
    """Return SeFa directions (latent_dim, latent_dim), one unit vector per row, and their eigenvalues (latent_dim,).

    Rows are sorted by eigenvalue, largest first: the first direction changes the
    first layer's output the most per unit of z. Each eigenvector's sign is fixed so
    that its largest-magnitude coordinate is positive, so that the same weights
    always give the same directions.
    """
    weight = first_layer_weight(model)
    eigenvalues, eigenvectors = torch.linalg.eigh(weight @ weight.T)  # ascending, vectors in columns
    eigenvalues, directions = eigenvalues.flip(0), eigenvectors.flip(1).T
    largest = directions.abs().argmax(dim=1)
    signs = directions[torch.arange(len(directions)), largest].sign()
    return (directions * signs[:, None]).float(), eigenvalues.float()


def project_out(direction: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """Remove from `direction` (D,) its components along the rows of `others` (M, D); return a unit vector.

    Raises ValueError when nothing is left, because the direction lies in the span of the others.
    """
    if len(others) == 0:
        return direction / direction.norm()
    basis, _ = torch.linalg.qr(others.double().T)  # (D, M) orthonormal columns spanning the others
    remainder = direction.double() - basis @ (basis.T @ direction.double())
    norm = remainder.norm()
    if norm < 1e-6 * direction.double().norm():
        raise ValueError("the direction lies in the span of the directions to keep; keep fewer keywords.")
    return (remainder / norm).to(direction.dtype)


def linear_path(z: torch.Tensor, direction: torch.Tensor, strength: float, steps: int,
                centered: bool = False) -> torch.Tensor:
    """Return steps + 1 points (steps + 1, D) from z (D,) along a unit direction (D,).

    The path is strength * sqrt(D) long, as a guided edit of the same strength (see
    `step_length`). centered=True spans -strength..+strength around z instead, with
    z in the middle for an even `steps`; SeFa exploration shows both sides.
    """
    length = step_length(strength, len(z), steps)
    offsets = torch.arange(steps + 1, dtype=z.dtype) * length
    if centered:
        offsets = 2 * offsets - strength * len(z) ** 0.5
    return z[None] + offsets[:, None] * direction[None].to(z.dtype)


def conditions_from_labels(labels: torch.Tensor, count: int, seed: int) -> torch.Tensor:
    """Pick `count` distinct keyword sets (count, K) from a dataset's multi-hot labels (N, K), seeded."""
    distinct = torch.unique(labels.float(), dim=0)
    distinct = distinct[distinct.sum(dim=1) > 0]
    if len(distinct) == 0:
        raise ValueError("the dataset has no design with a keyword, so there is no keyword set to draw ideas under.")
    rng = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(distinct), generator=rng)
    return distinct[order[: min(count, len(distinct))]]


def single_keyword_conditions(model: DesignModel) -> torch.Tensor:
    """Return one keyword set per vocabulary keyword (K, K), for models without a dataset at hand."""
    return torch.eye(model.config.num_keywords)
