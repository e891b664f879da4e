"""Image sources for the evaluator: an exported model, or any object with the same methods."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch

from ..images import float_to_uint8
from ..pipeline import DesignModel


class ImageSampler(Protocol):
    """A source of generated images for the evaluator.

    `keywords` is the conditioning vocabulary in label order, or None for an
    unconditional source. `sample` returns uint8 images (B, H, W, 3) for conditions
    (B, len(keywords)) multi-hot float32 (None when unconditional) and one seed per image;
    the same seed and condition must give the same image.
    """

    keywords: list[str] | None

    def sample(self, conditions: np.ndarray | None, seeds: Sequence[int]) -> np.ndarray: ...

    def describe(self) -> dict[str, Any]: ...


class ModelSampler:
    """Draws from an exported `DesignModel` in batches, with the noise of `designgan generate`.

    Image i uses `model.latent(seeds[i], truncation)`, the noise that `designgan generate
    --seed S` gives its idea S. The pixels can differ from that command in the last bit,
    because the batch size changes the order of floating-point sums.
    """

    def __init__(self, model: DesignModel, truncation: float = 1.0, batch_size: int = 256):
        self.model = model
        self.truncation = truncation
        self.batch_size = batch_size
        self.keywords = list(model.vocabulary.keywords) if model.vocabulary is not None else None

    @torch.no_grad()
    def sample(self, conditions: np.ndarray | None, seeds: Sequence[int]) -> np.ndarray:
        outputs = []
        for start in range(0, len(seeds), self.batch_size):
            batch_seeds = seeds[start:start + self.batch_size]
            z = torch.stack([self.model.latent(int(seed), self.truncation) for seed in batch_seeds])  # (B, latent_dim)
            condition = None
            if self.keywords is not None and conditions is not None:
                condition = torch.as_tensor(conditions[start:start + self.batch_size], dtype=torch.float32)  # (B, K)
            images = self.model.generator(z.to(self.model.device), None if condition is None else condition.to(self.model.device))
            outputs.append(float_to_uint8(images))  # (B, H, W, 3), rounded as a saved PNG
        side = self.model.resolution_px
        return np.concatenate(outputs) if outputs else np.zeros((0, side, side, 3), dtype=np.uint8)

    def describe(self) -> dict[str, Any]:
        return {
            "path": str(self.model.path),
            "model_sha256": self.model.files.sha256,
            "resolution_px": self.model.resolution_px,
            "conditional": self.keywords is not None,
            "truncation": self.truncation,
        }
