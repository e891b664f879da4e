"""A tiny trained model shared by the pipeline and CLI tests."""

from __future__ import annotations

import numpy as np
import pytest

from designgan.config import ModelConfig, TrainConfig
from designgan.data.dataset import DesignDataset
from designgan.data.vocabulary import Vocabulary
from designgan.training import Trainer

KEYWORDS = ("cat", "heart", "red", "dark skin tone")


def make_keyword_dataset(count: int = 16, resolution_px: int = 32, seed: int = 0) -> DesignDataset:
    """Synthetic designs: a coloured square whose colour follows the keywords."""
    rng = np.random.default_rng(seed)
    labels = (rng.random((count, len(KEYWORDS))) < 0.5).astype(np.uint8)
    labels[labels.sum(axis=1) == 0, 0] = 1
    images = np.full((count, resolution_px, resolution_px, 3), 255, dtype=np.uint8)
    for i, row in enumerate(labels):
        colour = (row[:3] * 200).astype(np.uint8)
        images[i, 8:24, 8:24] = colour
    counts = tuple(int(c) for c in labels.sum(axis=0))
    return DesignDataset(images, labels, Vocabulary(KEYWORDS, counts), [f"d{i}" for i in range(count)],
                         {"source": "synthetic", "resolution_px": resolution_px})


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """Train a width-8 conditional model for 6 steps and return its exported folder."""
    run_dir = tmp_path_factory.mktemp("tiny-run")
    trainer = Trainer(
        make_keyword_dataset(),
        ModelConfig(width=8, latent_dim=16, embed_dim=8),
        TrainConfig(steps=6, batch_size=8, sample_every=6, checkpoint_every=6),
        run_dir,
        data_source="synthetic",
        progress=False,
    )
    return trainer.run().model_dir
