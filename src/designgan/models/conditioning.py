"""Keyword conditioning shared by the generator and the critic."""

from __future__ import annotations

import torch
from torch import nn


def normalize_multi_hot(multi_hot: torch.Tensor) -> torch.Tensor:
    """Scale each multi-hot row (B, K) to sum to 1, so that a set of keywords acts as
    the mean of its members. Rows with no keyword stay all zero."""
    counts = multi_hot.sum(dim=1, keepdim=True).clamp(min=1.0)
    return multi_hot / counts


class KeywordEmbedding(nn.Module):
    """Learned embedding of a keyword set: the mean of its keywords' vectors.

    Input: multi-hot (B, K) float. Output: (B, embed_dim). The mean rather than the
    sum keeps the scale of the embedding independent of how many keywords a user types,
    and makes an interpolation between two keyword sets a path between their means.
    """

    def __init__(self, num_keywords: int, embed_dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_keywords, embed_dim))

    def forward(self, multi_hot: torch.Tensor) -> torch.Tensor:
        return normalize_multi_hot(multi_hot) @ self.weight
