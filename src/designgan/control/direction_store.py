"""Computed directions of one model, saved once as directions.safetensors plus directions.json.

The files go beside the model when its folder is writable, and otherwise (and
always for the built-in model, whose folder is package data and may be read-only
in an install) to CACHE/directions/<first 16 hex digits of the model's SHA-256>/,
where CACHE is `designgan.data.default_cache_dir()`. Both places are searched, and
files made for other weights are ignored, so retraining a model never reuses stale
directions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load, save
from torch import nn

from ..config import from_dict
from ..files import atomic_write
from ..pipeline import DesignModel, builtin_model_path
from .directions import BoundaryConfig, Boundaries, fit_boundaries, label_samples, sefa_directions
from .latent import module_sha256

logger = logging.getLogger(__name__)

DIRECTIONS_NAME = "directions.safetensors"
DIRECTIONS_SUMMARY_NAME = "directions.json"
DIRECTIONS_FORMAT_VERSION = 1
METADATA_KEY = "designgan"  # the only metadata key, a sorted-key JSON string, so equal content gives equal bytes
RELIABLE_ACCURACY = 0.6  # validation accuracy below which a boundary is reported as unreliable


class DirectionsError(ValueError):
    """Directions are missing, damaged or made for other weights; the message names the file and the fix."""


@dataclass
class DirectionSet:
    """Keyword boundaries and SeFa directions of one model, with what they were computed from."""

    boundaries: Boundaries
    sefa: torch.Tensor  # (latent_dim, latent_dim) unit directions, one per row, largest eigenvalue first
    sefa_eigenvalues: torch.Tensor  # (latent_dim,) descending
    model_sha256: str
    classifier_sha256: str
    config: BoundaryConfig
    path: Path | None = None  # the directions.safetensors it was loaded from or saved to
    sha256: str = ""  # hash of that file, which edit recipes record
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {keyword: i for i, keyword in enumerate(self.boundaries.keywords)}

    def normal(self, keyword: str) -> torch.Tensor:
        """Return the unit normal (latent_dim,) of a keyword's boundary."""
        if keyword not in self._index:
            raise DirectionsError(f"no boundary for keyword {keyword!r}: the directions cover the classifier's "
                                  f"{len(self._index)} keywords; recompute them with `designgan directions --recompute`.")
        normal = self.boundaries.normals[self._index[keyword]]
        if not normal.any():
            raise DirectionsError(f"the boundary of {keyword!r} could not be fitted (its scores did not vary); "
                                  "edit it with --method gradient.")
        return normal

    def val_accuracy(self, keyword: str) -> float:
        self.normal(keyword)
        return float(self.boundaries.val_accuracy[self._index[keyword]])

    def most_entangled(self, direction: torch.Tensor, count: int, exclude: set[str]) -> list[str]:
        """Return up to `count` keywords with reliable boundaries whose normals have the largest |cosine| with `direction`."""
        cosines = (self.boundaries.normals @ direction).abs()
        ranked = []
        for i in cosines.argsort(descending=True).tolist():
            keyword = self.boundaries.keywords[i]
            if keyword in exclude or float(self.boundaries.val_accuracy[i]) < RELIABLE_ACCURACY:
                continue
            if not self.boundaries.normals[i].any():
                continue
            ranked.append(keyword)
            if len(ranked) == count:
                break
        return ranked

    def summary(self) -> dict[str, Any]:
        """Return the JSON summary: provenance, settings and each boundary's accuracies."""
        b = self.boundaries
        total = float(self.sefa_eigenvalues.sum()) or 1.0
        return {
            "format_version": DIRECTIONS_FORMAT_VERSION,
            "model_sha256": self.model_sha256,
            "classifier_sha256": self.classifier_sha256,
            "config": dataclasses.asdict(self.config),
            "boundaries": [
                {"keyword": k, "train_accuracy": round(float(b.train_accuracy[i]), 4),
                 "val_accuracy": round(float(b.val_accuracy[i]), 4), "offset": round(float(b.offsets[i]), 4)}
                for i, k in enumerate(b.keywords)
            ],
            # Share of the first layer's response to z that each SeFa direction carries.
            "sefa_variance_share": [round(float(v) / total, 5) for v in self.sefa_eigenvalues],
        }


def compute_directions(model: DesignModel, classifier: nn.Module, conditions: torch.Tensor,
                       config: BoundaryConfig = BoundaryConfig()) -> DirectionSet:
    """Fit keyword boundaries from ideas drawn under `conditions` (C, K) and scored by `classifier`, plus SeFa."""
    config.validate()
    logger.info("Labelling %d ideas (%d keyword sets x %d seeds) with the classifier", len(conditions) * config.samples_per_condition,
                len(conditions), config.samples_per_condition)
    latents, logits, groups = label_samples(model, classifier, conditions, config)
    boundaries = fit_boundaries(latents, logits, list(classifier.keywords), config, groups=groups)
    reliable = int((boundaries.val_accuracy >= RELIABLE_ACCURACY).sum())
    logger.info("Fitted %d boundaries; %d have validation accuracy >= %.2f", len(boundaries.keywords), reliable,
                RELIABLE_ACCURACY)
    sefa, eigenvalues = sefa_directions(model)
    return DirectionSet(boundaries, sefa, eigenvalues, model.files.sha256, module_sha256(classifier), config)


def _payload(directions: DirectionSet) -> bytes:
    b = directions.boundaries
    tensors = {
        "boundary_normals": b.normals.contiguous(),
        "boundary_offsets": b.offsets.contiguous(),
        "train_accuracy": b.train_accuracy.contiguous(),
        "val_accuracy": b.val_accuracy.contiguous(),
        "sefa_directions": directions.sefa.contiguous(),
        "sefa_eigenvalues": directions.sefa_eigenvalues.contiguous(),
    }
    metadata = {
        "format_version": DIRECTIONS_FORMAT_VERSION,
        "keywords": b.keywords,
        "model_sha256": directions.model_sha256,
        "classifier_sha256": directions.classifier_sha256,
        "config": dataclasses.asdict(directions.config),
    }
    return save(tensors, metadata={METADATA_KEY: json.dumps(metadata, sort_keys=True)})


def save_directions(directions: DirectionSet, folder: str | Path) -> Path:
    """Write FOLDER/directions.safetensors and FOLDER/directions.json atomically; return the first."""
    folder = Path(folder)
    payload = _payload(directions)
    path = folder / DIRECTIONS_NAME
    atomic_write(path, lambda handle: handle.write(payload))
    text = json.dumps(directions.summary(), indent=2, sort_keys=True) + "\n"
    atomic_write(folder / DIRECTIONS_SUMMARY_NAME, lambda handle: handle.write(text.encode("utf-8")))
    directions.path, directions.sha256 = path, hashlib.sha256(payload).hexdigest()
    return path


def load_directions(path: str | Path) -> DirectionSet:
    """Read a directions.safetensors file written by `save_directions`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DirectionsError(f"{path} not found; compute directions with `designgan directions`.") from None
    try:
        tensors = load(raw)
        with safe_open(str(path), framework="pt") as handle:  # `load` drops the metadata
            metadata = json.loads((handle.metadata() or {})[METADATA_KEY])
    except (SafetensorError, KeyError, TypeError, ValueError, OSError) as error:
        raise DirectionsError(f"{path} cannot be read ({error}); recompute with `designgan directions --recompute`.") from error
    if metadata.get("format_version") != DIRECTIONS_FORMAT_VERSION:
        raise DirectionsError(f"{path} has format_version {metadata.get('format_version')!r}; this designgan reads "
                              f"version {DIRECTIONS_FORMAT_VERSION}. Recompute with `designgan directions --recompute`.")
    try:
        boundaries = Boundaries(list(metadata["keywords"]), tensors["boundary_normals"], tensors["boundary_offsets"],
                                tensors["train_accuracy"], tensors["val_accuracy"])
        config = from_dict(BoundaryConfig, metadata["config"])
        directions = DirectionSet(boundaries, tensors["sefa_directions"], tensors["sefa_eigenvalues"],
                                  metadata["model_sha256"], metadata["classifier_sha256"], config)
    except (KeyError, TypeError, ValueError) as error:
        raise DirectionsError(f"{path} is incomplete ({error!r}); recompute with `designgan directions --recompute`.") from error
    directions.path, directions.sha256 = path, hashlib.sha256(raw).hexdigest()
    return directions


def cache_folder(model: DesignModel, cache_dir: str | Path | None = None) -> Path:
    """Return the cache folder for this model's directions."""
    from ..data.cache import default_cache_dir

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return root / "directions" / model.files.sha256[:16]


def _is_builtin(model: DesignModel) -> bool:
    return model.path.resolve() == builtin_model_path().resolve()


def candidate_folders(model: DesignModel, cache_dir: str | Path | None = None) -> list[Path]:
    """Return the folders searched for directions, in order: beside the model (except the built-in one), then the cache."""
    folders = [] if _is_builtin(model) else [model.path]
    return folders + [cache_folder(model, cache_dir)]


def find_directions(model: DesignModel, cache_dir: str | Path | None = None) -> DirectionSet | None:
    """Load the first saved directions made for this model's weights, or return None."""
    for folder in candidate_folders(model, cache_dir):
        path = folder / DIRECTIONS_NAME
        if not path.is_file():
            continue
        try:
            directions = load_directions(path)
        except DirectionsError as error:
            logger.warning("Ignoring %s: %s", path, error)
            continue
        if directions.model_sha256 != model.files.sha256:
            logger.warning("Ignoring %s: it was computed for other weights (model sha256 %s...)", path,
                           directions.model_sha256[:16])
            continue
        return directions
    return None


def store_directions(model: DesignModel, directions: DirectionSet, cache_dir: str | Path | None = None) -> Path:
    """Save directions in the first writable candidate folder; return the path of the safetensors file."""
    last_error: OSError | None = None
    for folder in candidate_folders(model, cache_dir):
        if folder.exists() and not os.access(folder, os.W_OK):
            continue
        try:
            path = save_directions(directions, folder)
        except OSError as error:
            logger.info("Cannot write directions to %s (%s); trying the next folder", folder, error)
            last_error = error
            continue
        logger.info("Saved directions to %s", path)
        return path
    raise DirectionsError(f"cannot write directions beside the model or to {cache_folder(model, cache_dir)} "
                          f"({last_error}); set DESIGNGAN_CACHE to a writable folder.")
