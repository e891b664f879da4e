"""DCGAN-style generator with keyword conditioning."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import ModelConfig
from .conditioning import KeywordEmbedding


class Generator(nn.Module):
    """Map noise z (B, latent_dim) and keywords (B, K) to images (B, 3, R, R) in [-1, 1].

    Radford et al. 2016 (DCGAN): a 4x4 transposed convolution from the input vector,
    then stride-2 transposed convolutions that double the side and halve the channels,
    each followed by batch norm and ReLU, and tanh at the output. The keyword embedding
    is concatenated to z, so the first layer receives (latent_dim + embed_dim) inputs.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config.validate()
        self.embedding = KeywordEmbedding(config.num_keywords, config.embed_dim) if config.conditional else None

        # One doubling per layer from 4 px: 32 px needs 3, 64 px 4, 128 px 5.
        num_upsamples = int(math.log2(config.resolution_px // 4))
        channels = config.width * 2 ** (num_upsamples - 1)
        in_features = config.latent_dim + (config.embed_dim if config.conditional else 0)

        # (B, in_features, 1, 1) -> (B, width * 2^(n-1), 4, 4)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_features, channels, 4, 1, 0, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        ]

        # Each block: (B, C, S, S) -> (B, C/2, 2S, 2S), down to (B, width, R/2, R/2).
        for _ in range(num_upsamples - 1):
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(channels // 2),
                nn.ReLU(inplace=True),
            ]
            channels //= 2

        # (B, width, R/2, R/2) -> (B, 3, R, R)
        layers += [nn.ConvTranspose2d(channels, 3, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(_init_weights)

    def condition(self, z: torch.Tensor, keywords: torch.Tensor | None) -> torch.Tensor:
        """Return the network input (B, latent_dim [+ embed_dim]) for noise and keywords."""
        if self.embedding is None:
            return z
        if keywords is None:
            raise ValueError("this generator is conditional: pass a multi-hot keyword tensor (B, K).")
        return torch.cat([z, self.embedding(keywords)], dim=1)

    def forward_input(self, features: torch.Tensor) -> torch.Tensor:
        """Run the convolutional stack on a prepared input vector (B, F)."""
        return self.net(features[:, :, None, None])

    def forward(self, z: torch.Tensor, keywords: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_input(self.condition(z, keywords))


def _init_weights(module: nn.Module) -> None:
    # DCGAN initialisation: N(0, 0.02) weights, batch-norm scales N(1, 0.02).
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
