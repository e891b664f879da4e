"""Domain-classifier features and logits of image sets, with a cache for the real designs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file, save

from ..data.dataset import DesignDataset
from ..files import atomic_write
from .classifier import DomainClassifier, classifier_paths
from .pipeline import ImageInput, to_model_input

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureSet:
    """Penultimate features (N, D) and keyword logits (N, K) of N images, float32."""

    features: np.ndarray
    logits: np.ndarray

    def __len__(self) -> int:
        return len(self.features)

    def subset(self, indices: np.ndarray) -> FeatureSet:
        return FeatureSet(self.features[indices], self.logits[indices])

    @staticmethod
    def concatenate(parts: list[FeatureSet], dimensions: int, keywords: int) -> FeatureSet:
        if not parts:
            return FeatureSet(np.zeros((0, dimensions), np.float32), np.zeros((0, keywords), np.float32))
        return FeatureSet(np.concatenate([p.features for p in parts]), np.concatenate([p.logits for p in parts]))


@torch.no_grad()
def extract_features(classifier: DomainClassifier, images: ImageInput, batch_size: int = 256) -> FeatureSet:
    """Run images of any supported kind (see `pipeline.to_uint8`) through the classifier in batches."""
    parts = []
    for start in range(0, len(images), batch_size):
        batch = to_model_input(images[start:start + batch_size], classifier.resolution_px)  # (B, 3, R, R)
        features = classifier.features(batch)  # (B, D)
        parts.append(FeatureSet(features.numpy(), classifier.head(features).numpy()))  # eval mode: no dropout
    return FeatureSet.concatenate(parts, classifier.num_features, len(classifier.keywords))


def load_or_extract_real_features(classifier: DomainClassifier, dataset: DesignDataset,
                                  cache_dir: str | Path | None = None, batch_size: int = 256) -> FeatureSet:
    """Return the features of every design in `dataset`, cached beside the classifier.

    The cache file is named after the classifier's cache key, which already hashes the
    dataset, so it is only reused for the same dataset and classifier. A classifier that
    did not come from `load_or_train_classifier` has no key, and nothing is cached.
    """
    key = classifier.info.get("cache_key")
    if key is None:
        return extract_features(classifier, dataset.images, batch_size)
    weights_path, _ = classifier_paths(cache_dir, key)
    path = weights_path.with_name(weights_path.stem + "-real-features.safetensors")
    if path.is_file():
        try:
            tensors = load_file(path)
            cached = FeatureSet(tensors["features"], tensors["logits"])
            if len(cached) == len(dataset):
                logger.info("Loaded the features of %d real designs from %s.", len(cached), path)
                return cached
            logger.warning("Recomputing real features: %s has %d rows for %d designs.", path, len(cached), len(dataset))
        except (OSError, KeyError, SafetensorError) as error:
            logger.warning("Recomputing real features: %s cannot be read (%s).", path, error)

    computed = extract_features(classifier, dataset.images, batch_size)
    payload = save({"features": np.ascontiguousarray(computed.features), "logits": np.ascontiguousarray(computed.logits)})
    atomic_write(path, lambda handle: handle.write(payload))
    logger.info("Saved the features of %d real designs to %s.", len(computed), path)
    return computed
