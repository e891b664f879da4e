"""Re-import without re-rendering: a content-hash index into the previous dataset file.

Beside DATASET.safetensors, DATASET.import-cache.json records, for each
imported file, the SHA-256 of its bytes and its row in the dataset. A
re-import with the same decoder settings hashes each file and copies the
row of every unchanged file from the old dataset instead of decoding it. The
index also stores the dataset's own SHA-256, so an index is used only with
the exact file it was written for.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import PIL

from designgan.data.dataset import DatasetError, DesignDataset
from designgan.data.images import ImageSettings
from designgan.data.writer import file_sha256
from designgan.files import atomic_write

logger = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 1
# Raise when a change to designgan's decoding changes the pixels of any file,
# so that caches written before the change are not reused.
DECODER_VERSION = 1


@dataclass(frozen=True)
class CachedImage:
    """One imported file as recorded in the cache index."""

    sha256: str  # of the source file's bytes
    row: int  # row of its image in the dataset file
    source_format: str
    source_mode: str
    warnings: tuple[tuple[str, str], ...] = ()


@dataclass
class ImportCache:
    """The previous import's index and its dataset's images, mapped read-only."""

    entries: dict[str, CachedImage]  # by path relative to the import folder
    images: np.ndarray  # (N, R, R, 3) uint8 memmap of the previous dataset


def import_cache_path(dataset_path: str | os.PathLike[str]) -> Path:
    """Return the cache index of a dataset: "designs.safetensors" -> "designs.import-cache.json"."""
    path = Path(dataset_path)
    return path.with_name(f"{path.stem}.import-cache.json")


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def decoder_fingerprint(settings: ImageSettings) -> str:
    """Return a string that changes whenever the same file could decode to other pixels."""
    fingerprint = {
        "decoder_version": DECODER_VERSION,
        "pillow": PIL.__version__,
        "resvg_py": _package_version("resvg-py"),
        "settings": asdict(settings),
    }
    return json.dumps(fingerprint, sort_keys=True)


def load_import_cache(dataset_path: Path, fingerprint: str) -> ImportCache | None:
    """Return the cache of the dataset at `dataset_path`, or None when there is none or it cannot be used."""
    index_path = import_cache_path(dataset_path)
    if not index_path.is_file() or not dataset_path.is_file():
        return None
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        problem = None
        if index.get("format_version") != CACHE_FORMAT_VERSION:
            problem = f"format_version {index.get('format_version')!r} is not {CACHE_FORMAT_VERSION}"
        elif index.get("fingerprint") != fingerprint:
            problem = "decoder settings or versions changed"
        elif index.get("dataset_sha256") != file_sha256(dataset_path):
            problem = f"{dataset_path} changed since the cache was written"
        if problem:
            logger.info("Not using the import cache %s because %s. Every file is decoded.", index_path, problem)
            return None
        images = DesignDataset.load(dataset_path, mmap=True).images
        entries = {
            path: CachedImage(entry["sha256"], int(entry["row"]), entry["source_format"], entry["source_mode"],
                              tuple((str(reason), str(detail)) for reason, detail in entry["warnings"]))
            for path, entry in index["entries"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, DatasetError) as error:
        logger.warning("Ignoring the unreadable import cache %s (%s). Every file is decoded.", index_path, error)
        return None
    if any(not 0 <= entry.row < len(images) for entry in entries.values()):
        logger.warning("Ignoring the import cache %s: it names rows beyond the dataset.", index_path)
        return None
    return ImportCache(entries, images)


def save_import_cache(
    dataset_path: Path, fingerprint: str, dataset_sha256: str, entries: dict[str, CachedImage]
) -> Path:
    """Write the cache index of a freshly written dataset, atomically."""
    index: dict[str, Any] = {
        "format_version": CACHE_FORMAT_VERSION,
        "fingerprint": fingerprint,
        "dataset_sha256": dataset_sha256,
        "entries": {path: asdict(entry) for path, entry in sorted(entries.items())},
    }
    path = import_cache_path(dataset_path)
    text = json.dumps(index, sort_keys=True, separators=(",", ":"))
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))
    return path
