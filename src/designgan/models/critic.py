"""DCGAN-style discriminator (critic) with a projection head for keywords."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..config import ModelConfig
from .conditioning import normalize_multi_hot


class Critic(nn.Module):
    """Score images (B, 3, R, R) with keywords (B, K); returns logits (B,).

    Strided 4x4 convolutions halve the side down to 4 px with LeakyReLU(0.2), the
    first layer without normalisation (DCGAN). The features are summed over space to
    h (B, F) and scored as psi(h) + <V y, h>: the projection discriminator of Miyato
    and Koyama 2018, where y is the keyword set's normalised multi-hot vector and V
    a learned (K, F) embedding. Its cost does not grow with the image side, unlike
    keywords fed as extra image channels.

    `critic_norm` picks spectral norm (hinge, BCE), batch norm (classic DCGAN) or
    none (WGAN-GP, whose per-sample gradient penalty batch norm would break).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config.validate()
        norm = config.critic_norm

        def wrap(layer: nn.Module) -> nn.Module:
            return spectral_norm(layer) if norm == "spectral" else layer

        num_downsamples = int(math.log2(config.resolution_px // 4))
        channels = config.width

        # (B, 3, R, R) -> (B, width, R/2, R/2)
        layers: list[nn.Module] = [wrap(nn.Conv2d(3, channels, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]

        # Each block: (B, C, S, S) -> (B, 2C, S/2, S/2), down to (B, width * 2^(n-1), 4, 4).
        for _ in range(num_downsamples - 1):
            layers.append(wrap(nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=norm != "batch")))
            if norm == "batch":
                layers.append(nn.BatchNorm2d(channels * 2))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            channels *= 2

        self.features = nn.Sequential(*layers)

        # With the minibatch standard deviation as one more 4x4 channel, a 3x3 convolution
        # mixes it back into the features: (B, F + 1, 4, 4) -> (B, F, 4, 4).
        self.minibatch_std_group = config.minibatch_std_group
        self.merge = None
        if self.minibatch_std_group:
            self.merge = nn.Sequential(wrap(nn.Conv2d(channels + 1, channels, 3, 1, 1)), nn.LeakyReLU(0.2, inplace=True))
        self.feature_dim = channels
        self.head = wrap(nn.Linear(channels, 1))
        self.projection = wrap(nn.Linear(config.num_keywords, channels, bias=False)) if config.conditional else None
        self.apply(_init_weights)

    def forward(self, images: torch.Tensor, keywords: torch.Tensor | None = None,
                group_size: int | None = None) -> torch.Tensor:
        """Score images; `group_size` sets the minibatch-std groups (default: the config's,
        reduced to a divisor of the batch). The trainer passes a divisor of the real batch
        size, so that a batch of real images followed by fakes never shares a group."""
        x = self.features(images)  # (B, F, 4, 4)
        if self.merge is not None:
            x = self.merge(minibatch_std(x, group_size or math.gcd(self.minibatch_std_group, len(x))))
        h = x.sum(dim=(2, 3))  # (B, F)
        logits = self.head(h).squeeze(1)  # (B,)
        if self.projection is not None:
            if keywords is None:
                raise ValueError("this critic is conditional: pass a multi-hot keyword tensor (B, K).")
            logits = logits + (self.projection(normalize_multi_hot(keywords)) * h).sum(dim=1)
        return logits


def minibatch_std(x: torch.Tensor, group_size: int) -> torch.Tensor:
    """Append the mean standard deviation of each group of images as a feature map.

    Karras et al. 2018 (progressive GANs): a batch of fakes that all look alike has a low
    deviation, which the critic can see and penalise, so the generator is pushed away
    from mode collapse. x: (B, C, H, W) -> (B, C + 1, H, W); B must be a multiple of
    `group_size`, and images are grouped as consecutive runs of `group_size`.
    """
    batch, _, height, width = x.shape
    if group_size < 2:
        return torch.cat([x, x.new_zeros(batch, 1, height, width)], dim=1)
    if batch % group_size:
        raise ValueError(f"batch of {batch} is not a multiple of the minibatch-std group size {group_size}.")
    groups = x.view(batch // group_size, group_size, *x.shape[1:])
    deviation = groups.var(dim=1, unbiased=False).add(1e-8).sqrt().mean(dim=(1, 2, 3))  # (B / G,)
    channel = deviation.repeat_interleave(group_size).view(batch, 1, 1, 1).expand(batch, 1, height, width)
    return torch.cat([x, channel], dim=1)


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
