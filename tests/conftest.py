"""Shared fixtures: tiny synthetic datasets and configs that train in a few seconds on a CPU."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from designgan.config import ModelConfig, TrainConfig
from designgan.data.dataset import DesignDataset
from designgan.data.vocabulary import Vocabulary

TINY_KEYWORDS = ("cat", "face", "star", "heart", "tree", "flag", "moon", "sun")


def make_tiny_dataset(count: int = 16, resolution_px: int = 32, num_keywords: int = 4, seed: int = 0) -> DesignDataset:
    """Build `count` random RGB images, each with 1 or 2 random keywords (none when
    `num_keywords` is 0). The same arguments always give the same dataset."""
    if num_keywords > len(TINY_KEYWORDS):
        raise ValueError(f"num_keywords={num_keywords} is too large; the fixture has {len(TINY_KEYWORDS)} keyword names.")
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, resolution_px, resolution_px, 3), dtype=np.uint8)

    labels = np.zeros((count, num_keywords), dtype=np.uint8)
    if num_keywords:
        for row in labels:
            row[rng.choice(num_keywords, size=rng.integers(1, min(2, num_keywords) + 1), replace=False)] = 1
    vocabulary = Vocabulary(keywords=TINY_KEYWORDS[:num_keywords], counts=tuple(int(n) for n in labels.sum(axis=0)))

    return DesignDataset(
        images=images,
        labels=labels,
        vocabulary=vocabulary,
        source_ids=[f"design-{i}" for i in range(count)],
        render={"source": "synthetic", "resolution_px": resolution_px},
    )


@pytest.fixture(scope="session")
def tiny_dataset():
    """Factory: `tiny_dataset(count=16, resolution_px=32, num_keywords=4, seed=0)`."""
    return make_tiny_dataset


@pytest.fixture(scope="session")
def tiny_model_config():
    """Factory for a ModelConfig small enough for unit tests; keyword arguments override fields."""

    def build(**overrides) -> ModelConfig:
        values = {"resolution_px": 32, "latent_dim": 8, "width": 4, "num_keywords": 4, "embed_dim": 4}
        return ModelConfig(**{**values, **overrides})

    return build


@pytest.fixture(scope="session")
def tiny_train_config():
    """Factory for a TrainConfig of a 20-step run with samples and checkpoints every 10
    steps; keyword arguments override fields. threads=1 suits models this small. A Trainer
    applies it with torch.set_num_threads, which lasts for the rest of the test session."""

    def build(**overrides) -> TrainConfig:
        values = {"batch_size": 8, "steps": 20, "sample_every": 10, "checkpoint_every": 10, "log_every": 5,
                  "threads": 1}
        return dataclasses.replace(TrainConfig(), **{**values, **overrides})

    return build
