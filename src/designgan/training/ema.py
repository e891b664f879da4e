"""Exponential moving average of generator weights, with batch-norm recalibration."""

from __future__ import annotations

import copy
from typing import Callable, Iterable

import torch
from torch import nn


class ExponentialMovingAverage:
    """Keep `shadow = decay * shadow + (1 - decay) * weights` after every generator step.

    Averaged weights give smoother, less noisy samples than the raw generator
    (Karras et al. 2018, Yazici et al. 2019); every sample grid and export uses them.
    Batch-norm running statistics are not averaged: statistics gathered for the raw
    weights do not match the averaged ones (sampled in eval mode they wash images
    out), so call `recompute_batchnorm_statistics` on the shadow before using it.
    """

    def __init__(self, model: nn.Module, decay: float, start_step: int = 0):
        self.decay = decay
        self.start_step = start_step  # before this step the shadow just copies the weights
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = 0.0 if step < self.start_step else self.decay
        for shadow, param in zip(self.shadow.parameters(), model.parameters()):
            shadow.lerp_(param.detach(), 1.0 - decay)

    def state_dict(self) -> dict:
        return self.shadow.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.shadow.load_state_dict(state)


@torch.no_grad()
def recompute_batchnorm_statistics(
    generator: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor | None]],
    forward: Callable[[nn.Module, torch.Tensor, torch.Tensor | None], torch.Tensor] | None = None,
) -> nn.Module:
    """Reset every batch-norm layer's running mean and variance and re-estimate them as
    the plain average over `batches` of (z, keywords), then leave the model in eval mode.

    This makes eval-mode samples match what the weights produce with batch statistics,
    and makes each image independent of the others in its batch.
    """
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # None = cumulative average over all batches seen

    generator.train()
    for z, keywords in batches:
        if forward is None:
            generator(z, keywords)
        else:
            forward(generator, z, keywords)

    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return generator.eval()
