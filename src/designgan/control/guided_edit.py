"""Classifier-guided editing: gradient steps on z that move chosen keywords' classifier scores.

The classifier is any nn.Module with `.keywords` (list[str]) whose forward maps
images (B, 3, R, R) in [-1, 1] to logits (B, K), differentiably. The domain
classifier of `designgan.metrics.classifier` is one. Each step follows the
gradient of

    objective(z) = mean_t sign_t * logit_t(G(z)) - penalty * mean_o (logit_o(G(z)) - logit_o(G(z0)))^2

where t runs over the target keywords (sign +1 to raise, -1 to lower) and o over
all other keywords. The first term moves the targets. The second, a penalty, keeps
the other keywords' scores where they started, so that the edit changes the targets
rather than the whole idea.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..pipeline import DesignModel
from .latent import synthesize


def target_signs(classifier_keywords: Sequence[str], more: Sequence[str], less: Sequence[str]) -> torch.Tensor:
    """Return signs (K,) over the classifier's keywords: +1 for `more`, -1 for `less`, 0 for the rest."""
    index = {keyword: i for i, keyword in enumerate(classifier_keywords)}
    signs = torch.zeros(len(classifier_keywords))
    both = sorted(set(more) & set(less))
    if both:
        raise ValueError(f"keyword {both[0]!r} is both in --more and --less; name it in one of them.")
    for keywords, sign in ((more, 1.0), (less, -1.0)):
        for keyword in keywords:
            if keyword not in index:
                raise ValueError(f"keyword {keyword!r} is not among the classifier's {len(index)} keywords; "
                                 "edit toward a keyword that the classifier was trained on.")
            signs[index[keyword]] = sign
    if not signs.any():
        raise ValueError("an edit needs at least one target keyword; pass --more KEYWORD or --less KEYWORD.")
    return signs


def target_objective(logits: torch.Tensor, signs: torch.Tensor) -> torch.Tensor:
    """Return mean_t sign_t * logit_t per image (B,) for logits (B, K) and signs (K,)."""
    targets = signs != 0
    return (logits[:, targets] * signs[targets]).mean(dim=1)


def preservation_penalty(logits: torch.Tensor, start_logits: torch.Tensor, signs: torch.Tensor) -> torch.Tensor:
    """Return mean_o (logit_o - start_logit_o)^2 over the non-target keywords o, per image (B,)."""
    others = signs == 0
    if not others.any():
        return logits.new_zeros(len(logits))
    return (logits[:, others] - start_logits[:, others]).square().mean(dim=1)


def step_length(strength: float, latent_dim: int, steps: int) -> float:
    """Return the length of one edit step in z.

    strength is the length of the whole edit in units of sqrt(latent_dim), the typical
    norm of a prior sample. So strength 0.5 moves z by half its usual length whatever
    the latent size, and gradient and direction edits of equal strength move z equally far.
    """
    return strength * math.sqrt(latent_dim) / steps


def guided_edit_path(model: DesignModel, classifier: nn.Module, z: torch.Tensor, embedding: torch.Tensor | None,
                     signs: torch.Tensor, strength: float, steps: int, penalty: float) -> torch.Tensor:
    """Edit z (B, latent_dim) under embeddings (B, embed_dim), (embed_dim,) or None; return the path (steps + 1, B, latent_dim).

    Each step moves every row of z by `step_length` along the normalised gradient of
    its own objective (see the module docstring), so the edit's length is fixed by
    `strength` and only the direction comes from the classifier. Row 0 of the path is
    the unedited z. The classifier is switched to eval mode (batch-norm statistics
    and dropout fixed), and no parameter gradients are accumulated.
    """
    classifier.eval()
    device = model.device
    z = z.to(device)
    signs = signs.to(device)
    if embedding is not None:
        embedding = embedding.to(device)
        if embedding.dim() == 1:
            embedding = embedding[None].expand(len(z), -1)
    length = step_length(strength, z.shape[1], steps)

    with torch.no_grad():
        start_logits = classifier(synthesize(model, z, embedding))
    path = [z.detach().clone()]
    for _ in range(steps):
        z = z.detach().requires_grad_(True)
        logits = classifier(synthesize(model, z, embedding))

        # Ascend the objective; its rows are independent, so the sum's gradient is each row's own.
        objective = target_objective(logits, signs) - penalty * preservation_penalty(logits, start_logits, signs)
        (gradient,) = torch.autograd.grad(objective.sum(), z)

        with torch.no_grad():
            # A row whose gradient is exactly zero (a saturated classifier) stays where it is.
            z = z + length * gradient / gradient.norm(dim=1, keepdim=True).clamp_min(1e-12)
        path.append(z.detach().clone())
    return torch.stack(path)


@torch.no_grad()
def classifier_logits(model: DesignModel, classifier: nn.Module, z: torch.Tensor,
                      embedding: torch.Tensor | None, batch_size: int = 256) -> torch.Tensor:
    """Score generated images: logits (B, K) for z (B, latent_dim) under embeddings (B, E), (E,) or None."""
    classifier.eval()
    if embedding is not None and embedding.dim() == 1:
        embedding = embedding[None].expand(len(z), -1)
    rows = []
    for start in range(0, len(z), batch_size):
        chunk = slice(start, start + batch_size)
        images = synthesize(model, z[chunk].to(model.device), None if embedding is None else embedding[chunk].to(model.device))
        rows.append(classifier(images).float().cpu())
    return torch.cat(rows)
