"""Tiny datasets, a tiny trained model and a fast classifier recipe for the evaluation tests."""

from __future__ import annotations

import numpy as np
import pytest

from designgan.config import ModelConfig, TrainConfig
from designgan.data.dataset import DesignDataset
from designgan.data.vocabulary import Vocabulary
from designgan.metrics.classifier import ClassifierRecipe

SHAPE_KEYWORDS = ("red", "blue", "bar", "dot")
# Two epochs of a width-8 network: enough to give features that separate the shapes, in
# well under a second on 32 px images.
FAST_RECIPE = ClassifierRecipe(width=8, epochs=2, batch_size=16)


def make_shape_dataset(count: int = 60, resolution_px: int = 32, seed: int = 0) -> DesignDataset:
    """Synthetic designs on white: each keyword draws one element at a random place
    ("red" a red square, "blue" a blue square, "bar" a black bar, "dot" a grey dot),
    so designs with one keyword set still differ from each other."""
    rng = np.random.default_rng(seed)
    labels = (rng.random((count, len(SHAPE_KEYWORDS))) < 0.4).astype(np.uint8)
    labels[labels.sum(axis=1) == 0, rng.integers(0, len(SHAPE_KEYWORDS))] = 1
    images = np.full((count, resolution_px, resolution_px, 3), 255, dtype=np.uint8)
    size = resolution_px // 4
    colours = {"red": (220, 30, 30), "blue": (30, 30, 220), "bar": (0, 0, 0), "dot": (128, 128, 128)}
    for i, row in enumerate(labels):
        for keyword, present in zip(SHAPE_KEYWORDS, row):
            if not present:
                continue
            top, left = rng.integers(0, resolution_px - size, size=2)
            if keyword == "bar":
                images[i, top:top + size // 2, 2:resolution_px - 2] = colours[keyword]
            else:
                images[i, top:top + size, left:left + size] = colours[keyword]
    counts = tuple(int(c) for c in labels.sum(axis=0))
    return DesignDataset(images, labels, Vocabulary(SHAPE_KEYWORDS, counts), [f"s{i}" for i in range(count)],
                         {"source": "synthetic", "resolution_px": resolution_px})


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    """Run each test module on one torch thread, then restore the count.

    The networks here are tiny: on a busy 2-core machine one training step of the fast
    classifier took 24 ms on one thread and 375 ms on two, which spent their time waiting
    for each other.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def shape_model_dir(tmp_path_factory):
    """Train a width-8 conditional model on `make_shape_dataset()` for 4 steps; return its exported folder.

    The sentence-embedding file that the designgan[text] extra adds to every export is
    left out: loading its encoder would take longer than the training itself.
    """
    from designgan import export
    from designgan.training import Trainer

    run_dir = tmp_path_factory.mktemp("shape-run")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export, "export_keyword_embeddings", lambda out_dir, vocabulary: None)
        trainer = Trainer(make_shape_dataset(), ModelConfig(width=8, latent_dim=16, embed_dim=8),
                          TrainConfig(steps=4, batch_size=8, sample_every=4, checkpoint_every=4, threads=1),
                          run_dir, data_source="synthetic", progress=False)
        return trainer.run().model_dir
