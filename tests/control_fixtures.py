"""A tiny model trained in the test, a tiny fixed classifier with the domain classifier's interface."""

from __future__ import annotations

import shutil

import pytest
import torch
from torch import nn

from designgan.config import ModelConfig, TrainConfig
from designgan.export import export_model
from designgan.training import Trainer
from model_fixtures import KEYWORDS, make_keyword_dataset

TRAIN_STEPS = 6


@pytest.fixture(scope="session")
def control_model_dir(tmp_path_factory):
    """Train a width-8 conditional model (32 px, latent 16) for a few steps and export it.

    Unlike `tiny_model_dir`, the export skips the keyword text embeddings, whose
    sentence encoder takes longer to load than these tests take to run.
    """
    dataset = make_keyword_dataset()
    run_dir = tmp_path_factory.mktemp("control-run")
    model_config = ModelConfig(resolution_px=32, width=8, latent_dim=16, embed_dim=8)
    trainer = Trainer(dataset, model_config, TrainConfig(steps=TRAIN_STEPS, batch_size=8, threads=1), run_dir,
                      data_source="synthetic", progress=False)
    for _ in range(TRAIN_STEPS):
        trainer.train_step()
    recipe = {"steps": TRAIN_STEPS, "data": {"source": "synthetic", "render": dataset.render}}
    return export_model(run_dir / "model", trainer.calibrated_ema(), trainer.model_config, dataset.vocabulary, recipe)


class TinyClassifier(nn.Module):
    """A random CNN: `.keywords`, logits (B, K) and features (B, D) for images (B, 3, R, R) in [-1, 1].

    Its weights are fixed by `seed`, so edits and directions guided by it are reproducible.
    """

    def __init__(self, keywords=KEYWORDS, seed: int = 0):
        super().__init__()
        self.keywords = list(keywords)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.trunk = nn.Sequential(
                nn.Conv2d(3, 8, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, 8, R/2, R/2)
                nn.Conv2d(8, 16, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, 16, R/4, R/4)
            )
            self.head = nn.Linear(16, len(self.keywords))
        self.requires_grad_(False)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.trunk(images).mean(dim=(2, 3))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


@pytest.fixture
def model_copy(control_model_dir, tmp_path):
    """A copy of the control model in the test's own folder, for tests that save directions beside it."""
    return shutil.copytree(control_model_dir, tmp_path / "model")
