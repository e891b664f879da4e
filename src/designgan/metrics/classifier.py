"""The domain classifier: a small CNN trained on the real designs to predict their keywords.

The evaluator measures generated images in the features of this network, not of
ImageNet Inception, because 64 px icons on white are far from photographs. It is a
separate network from the generator and critic and is never used in GAN training.

    from designgan.metrics.classifier import load_or_train_classifier
    classifier = load_or_train_classifier(dataset)     # trains once, then loads from the cache
    logits = classifier(images)                        # (B, K) for float images (B, 3, R, R) in [-1, 1]
    features = classifier.features(images)             # (B, D) penultimate features

The recipe (architecture, optimiser, epochs, seed, split) is fixed by `ClassifierRecipe`;
the weights are cached per dataset and recipe as safetensors plus JSON under
`<cache_dir>/classifiers/`, where cache_dir is $DESIGNGAN_CACHE or ~/.cache/designgan.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn
from tqdm.auto import tqdm

from ..data.cache import default_cache_dir
from ..data.dataset import DesignDataset
from ..files import atomic_write
from .pipeline import resize_images, to_model_input
from .ranking import mean_average_precision
from .split import held_out_split

logger = logging.getLogger(__name__)

# Part of the cache key. Version 2: the train / held-out split also keeps near-identical
# images together, so version 1 classifiers were trained on another split.
CLASSIFIER_FORMAT_VERSION = 2
CLASSIFIER_FOLDER = "classifiers"


@dataclass(frozen=True)
class ClassifierRecipe:
    """The fixed training recipe of the domain classifier. Changing any field trains a new one."""

    width: int = 32  # channels of the first convolution; each stride-2 stage doubles them, up to 8x
    epochs: int = 10  # passes over the train split
    batch_size: int = 64
    learning_rate: float = 2e-3  # AdamW peak rate, cosine-decayed to 0 over the run
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    dropout: float = 0.2  # on the features, before the keyword head
    max_shift_px: int = 4  # random translation of each training image by up to this many pixels, filled white
    held_out_fraction: float = 0.15  # share of designs held out to measure mAP and calibrate novelty
    seed: int = 0  # weights, batch order, augmentation and the split

    def validate(self) -> ClassifierRecipe:
        if not 4 <= self.width <= 256:
            raise ValueError(f"width={self.width} is out of range; use 4..256 channels.")
        if not 1 <= self.epochs <= 1000:
            raise ValueError(f"epochs={self.epochs} is out of range; use 1..1000.")
        if not 1 <= self.batch_size <= 4096:
            raise ValueError(f"batch_size={self.batch_size} is out of range; use 1..4096.")
        if self.learning_rate <= 0 or self.weight_decay < 0 or not 0 <= self.dropout < 1:
            raise ValueError("learning_rate must be positive, weight_decay 0 or more and dropout in [0, 1).")
        if self.max_shift_px < 0:
            raise ValueError(f"max_shift_px={self.max_shift_px} must be 0 or more.")
        return self


class DomainClassifier(nn.Module):
    """Multi-label keyword classifier for float images in [-1, 1].

    A DCGAN-style stack of stride-2 4x4 convolutions from R x R down to 4 x 4, one 3x3
    convolution there, global average pooling to the features (B, D), and a linear
    head to one logit per keyword (B, K). Inputs of another side are resized
    bilinearly (differentiably) to R first, so gradients reach the input images.
    """

    def __init__(self, keywords: list[str], resolution_px: int, width: int = 32, dropout: float = 0.2):
        super().__init__()
        if resolution_px < 8 or resolution_px & (resolution_px - 1):
            raise ValueError(f"resolution_px={resolution_px} is not supported; use a power of two of 8 or more.")
        if not keywords:
            raise ValueError("the domain classifier needs at least one keyword; the dataset has none.")
        self.keywords = list(keywords)
        self.resolution_px = resolution_px
        self.width = width
        self.held_out_map = float("nan")  # set after training or loading
        self.info: dict[str, Any] = {}  # the cache's JSON: recipe, dataset hash, split sizes, training time
        self.loaded_from_cache = False

        layers: list[nn.Module] = []
        channels_in = 3
        stages = int(math.log2(resolution_px)) - 2  # R -> R/2 -> ... -> 4
        for stage in range(stages):
            channels_out = width * min(2**stage, 8)
            # No batch norm on the first stage, whose input is raw pixels, as in the DCGAN discriminator.
            layers += [nn.Conv2d(channels_in, channels_out, 4, stride=2, padding=1, bias=stage == 0),
                       nn.BatchNorm2d(channels_out) if stage else nn.Identity(),
                       nn.LeakyReLU(0.2)]
            channels_in = channels_out
        layers += [nn.Conv2d(channels_in, channels_in, 3, padding=1, bias=False), nn.BatchNorm2d(channels_in),
                   nn.LeakyReLU(0.2)]  # state size: (B, D, 4, 4)
        self.trunk = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels_in, len(self.keywords))

    @property
    def num_features(self) -> int:
        """D, the size of the penultimate features (torchmetrics reads this name)."""
        return self.head.in_features

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Return the penultimate features (B, D) of float images (B, 3, H, W) in [-1, 1]."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected float images (B, 3, H, W) in [-1, 1], got shape {tuple(images.shape)}.")
        x = resize_images(images.float(), self.resolution_px)
        return self.trunk(x).mean(dim=(2, 3))  # (B, D, 4, 4) -> (B, D)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return keyword logits (B, K), in the order of `self.keywords`."""
        return self.head(self.dropout(self.features(images)))


def dataset_fingerprint(dataset: DesignDataset) -> str:
    """Return the SHA-256 of a dataset's images, labels, vocabulary and ids (hex).

    The ids are included because the train / held-out split groups designs by id.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps([list(dataset.images.shape), list(dataset.labels.shape)]).encode())
    digest.update(np.ascontiguousarray(dataset.images).data)
    digest.update(np.ascontiguousarray(dataset.labels).data)
    digest.update(json.dumps([list(dataset.vocabulary.keywords), list(dataset.source_ids)]).encode())
    return digest.hexdigest()


def classifier_cache_key(dataset_sha256: str, recipe: ClassifierRecipe) -> str:
    """Return the cache key (hex): a hash of the dataset hash, the recipe and the format version."""
    text = json.dumps({"format_version": CLASSIFIER_FORMAT_VERSION, "dataset_sha256": dataset_sha256,
                       "recipe": dataclasses.asdict(recipe)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def classifier_paths(cache_dir: str | Path | None, key: str) -> tuple[Path, Path]:
    """Return (weights, JSON) paths of a cached classifier."""
    folder = (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()) / CLASSIFIER_FOLDER
    return folder / f"{key[:24]}.safetensors", folder / f"{key[:24]}.json"


def load_or_train_classifier(dataset: DesignDataset, cache_dir: str | Path | None = None, progress: bool = False,
                             recipe: ClassifierRecipe | None = None) -> DomainClassifier:
    """Load the domain classifier of `dataset` from the cache, or train and cache it.

    cache_dir: the cache folder; None means $DESIGNGAN_CACHE or ~/.cache/designgan.
        The files go to its `classifiers/` subfolder.
    progress: show a progress bar while training.
    recipe: the training recipe; the default is the fixed recipe every report uses.
    Returns the classifier in eval mode with its parameters frozen; gradients still
    flow to the input images.
    """
    recipe = (recipe or ClassifierRecipe()).validate()
    dataset_sha256 = dataset_fingerprint(dataset)
    key = classifier_cache_key(dataset_sha256, recipe)
    weights_path, info_path = classifier_paths(cache_dir, key)

    if weights_path.is_file() and info_path.is_file():
        try:
            classifier = _load_classifier(weights_path, info_path)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as error:
            logger.warning("Retraining the domain classifier: the cached %s cannot be loaded (%s).", weights_path, error)
        else:
            logger.info("Loaded the domain classifier from %s (held-out mAP %.3f).", weights_path,
                        classifier.held_out_map)
            return classifier

    classifier = train_classifier(dataset, recipe, progress=progress)
    classifier.info.update({"cache_key": key, "dataset_sha256": dataset_sha256})
    _save_classifier(classifier, weights_path, info_path)
    logger.info("Saved the domain classifier to %s.", weights_path)
    return classifier


def train_classifier(dataset: DesignDataset, recipe: ClassifierRecipe, progress: bool = False) -> DomainClassifier:
    """Train a classifier on the train split with `recipe` and measure its held-out mAP."""
    recipe = recipe.validate()
    started = time.perf_counter()
    split = held_out_split(dataset, recipe.held_out_fraction, recipe.seed)
    labels = torch.from_numpy(np.asarray(dataset.labels, dtype=np.float32))  # (N, K)

    # fork_rng keeps the caller's global random state untouched by the seeded training.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        classifier = DomainClassifier(list(dataset.vocabulary.keywords), dataset.resolution_px, recipe.width,
                                      recipe.dropout)
        optimizer = torch.optim.AdamW(classifier.parameters(), lr=recipe.learning_rate,
                                      weight_decay=recipe.weight_decay)
        batches_per_epoch = math.ceil(len(split.train) / recipe.batch_size)
        total_steps = recipe.epochs * batches_per_epoch
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
        generator = torch.Generator().manual_seed(recipe.seed)

        # Channels-last (NHWC) convolutions ran about 1.5x faster on the 2-core CPU this was measured on.
        classifier.to(memory_format=torch.channels_last).train()
        with tqdm(total=total_steps, desc="domain classifier", unit="batch", disable=not progress) as bar:
            for _ in range(recipe.epochs):
                order = split.train[torch.randperm(len(split.train), generator=generator).numpy()]
                for start in range(0, len(order), recipe.batch_size):
                    batch = np.sort(order[start:start + recipe.batch_size])  # sorted: faster reads from a memmap

                    images = to_model_input(dataset.images[batch], dataset.resolution_px)  # (B, 3, R, R)
                    images = random_shift(images, recipe.max_shift_px, generator).contiguous(
                        memory_format=torch.channels_last)
                    loss = F.binary_cross_entropy_with_logits(classifier(images), labels[batch])

                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    schedule.step()
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss.item():.4f}")

    classifier.to(memory_format=torch.contiguous_format).eval().requires_grad_(False)
    scores = predict_logits(classifier, dataset.images[split.held_out])
    held_out_map, counted = mean_average_precision(scores, dataset.labels[split.held_out])
    seconds = time.perf_counter() - started
    classifier.held_out_map = held_out_map
    classifier.info = {
        "format_version": CLASSIFIER_FORMAT_VERSION,
        "keywords": classifier.keywords,
        "resolution_px": classifier.resolution_px,
        "recipe": dataclasses.asdict(recipe),
        "held_out_map": held_out_map,
        "held_out_keywords_counted": counted,  # keywords with at least one held-out positive
        "n_train": int(len(split.train)),
        "n_held_out": int(len(split.held_out)),
        "train_seconds": round(seconds, 1),
        "torch_threads": torch.get_num_threads(),
    }
    logger.info("Trained the domain classifier in %.0f s: held-out mAP %.3f over %d keywords (%d train, %d held out).",
                seconds, held_out_map, counted, len(split.train), len(split.held_out))
    return classifier


def random_shift(images: torch.Tensor, max_shift_px: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image (B, 3, R, R) by up to `max_shift_px` in x and y, filling with white (1.0)."""
    if max_shift_px == 0:
        return images
    side = images.shape[-1]
    padded = F.pad(images, [max_shift_px] * 4, value=1.0)  # (B, 3, R + 2s, R + 2s)
    offsets = torch.randint(0, 2 * max_shift_px + 1, (len(images), 2), generator=generator).tolist()
    return torch.stack([padded[i, :, dy:dy + side, dx:dx + side] for i, (dy, dx) in enumerate(offsets)])


@torch.no_grad()
def predict_logits(classifier: DomainClassifier, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Return logits (N, K) for uint8 images (N, H, W, 3), in batches."""
    outputs = [classifier(to_model_input(images[start:start + batch_size], classifier.resolution_px)).numpy()
               for start in range(0, len(images), batch_size)]
    return np.concatenate(outputs) if outputs else np.zeros((0, len(classifier.keywords)), dtype=np.float32)


def _save_classifier(classifier: DomainClassifier, weights_path: Path, info_path: Path) -> None:
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in classifier.state_dict().items()}
    payload = save(tensors, metadata={"format": "designgan-domain-classifier",
                                      "format_version": str(CLASSIFIER_FORMAT_VERSION)})
    # Weights first, JSON last: a reader only trusts the pair once the JSON exists.
    atomic_write(weights_path, lambda handle: handle.write(payload))
    text = json.dumps(classifier.info, indent=2, sort_keys=True) + "\n"
    atomic_write(info_path, lambda handle: handle.write(text.encode("utf-8")))


def _load_classifier(weights_path: Path, info_path: Path) -> DomainClassifier:
    info = json.loads(info_path.read_text(encoding="utf-8"))
    if info.get("format_version") != CLASSIFIER_FORMAT_VERSION:
        raise ValueError(f"format_version {info.get('format_version')!r}, expected {CLASSIFIER_FORMAT_VERSION}")
    recipe = info["recipe"]
    classifier = DomainClassifier(list(info["keywords"]), int(info["resolution_px"]), int(recipe["width"]),
                                  float(recipe["dropout"]))
    classifier.load_state_dict(load_file(weights_path))
    classifier.eval().requires_grad_(False)
    classifier.held_out_map = float(info["held_out_map"])
    classifier.info = info
    classifier.loaded_from_cache = True
    return classifier
