"""Rendered, labelled designs stored as one safetensors file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import safetensors

from designgan.data.vocabulary import Vocabulary
from designgan.data.writer import TensorStream, array_chunks, read_safetensors_header, save_safetensors_file

FORMAT_VERSION = 1
# The only metadata key. safetensors stores metadata as a map without a fixed
# order, so one key holding a sorted-key JSON string keeps files byte-identical.
METADATA_KEY = "designgan"


class DatasetError(ValueError):
    """A dataset file that is missing, unreadable or inconsistent."""


def dataset_metadata(
    vocabulary: Vocabulary, source_ids: list[str], names: list[str], render: dict[str, Any]
) -> dict[str, str]:
    """Return the safetensors metadata of a dataset: {METADATA_KEY: sorted-key JSON}."""
    metadata = {
        "format_version": FORMAT_VERSION,
        "vocabulary": vocabulary.to_dict(),
        "source_ids": list(source_ids),
        "names": list(names),
        "render": render,
    }
    return {METADATA_KEY: json.dumps(metadata, sort_keys=True, ensure_ascii=True, separators=(",", ":"))}


def save_dataset_file(
    path: str | os.PathLike[str], images: TensorStream, labels: TensorStream, metadata: dict[str, str]
) -> str:
    """Stream images and labels into a dataset file atomically; return the file's SHA-256.

    Both `DesignDataset.save` and the chunked builders of `designgan.data.assemble`
    write through here, so every dataset file has the same layout.
    """
    if images.name != "images" or labels.name != "labels":
        raise ValueError(f"Expected tensors 'images' and 'labels', got {images.name!r} and {labels.name!r}.")
    return save_safetensors_file(path, [images, labels], metadata)


@dataclass
class DesignDataset:
    """Designs rendered to RGB images with multi-hot keyword labels.

    `images` is uint8 (N, H, W, 3) with H == W == resolution_px, `labels` is
    uint8 (N, K) with K == len(vocabulary), and `source_ids` and `names` give
    each design's id in its source (an OpenMoji file stem such as "1F600") and
    its human-readable name ("" when unknown). `render` records how the images
    were made, e.g. {"source": "openmoji", "source_version": "17.0.0",
    "resolution_px": 64, "background": [255, 255, 255], "min_count": 10}.
    """

    images: np.ndarray
    labels: np.ndarray
    vocabulary: Vocabulary
    source_ids: list[str]
    render: dict[str, Any] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.names:
            self.names = [""] * len(self.source_ids)
        problem = self._shape_problem()
        if problem:
            raise DatasetError(f"Inconsistent DesignDataset: {problem}.")

    def _shape_problem(self) -> str | None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[3] != 3:
            return f"images must be uint8 (N, H, W, 3), got {self.images.dtype} {self.images.shape}"
        if self.images.shape[1] != self.images.shape[2]:
            return f"images must be square, got {self.images.shape[1]}x{self.images.shape[2]} px"
        n = self.images.shape[0]
        if self.labels.dtype != np.uint8 or self.labels.shape != (n, len(self.vocabulary)):
            return (
                f"labels must be uint8 ({n}, {len(self.vocabulary)}) to match images and vocabulary, "
                f"got {self.labels.dtype} {self.labels.shape}"
            )
        if len(self.source_ids) != n or len(self.names) != n:
            return f"expected {n} source_ids and names, got {len(self.source_ids)} and {len(self.names)}"
        return None

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def resolution_px(self) -> int:
        return int(self.images.shape[1])

    @property
    def num_keywords(self) -> int:
        return len(self.vocabulary)

    def _metadata_json(self) -> str:
        return dataset_metadata(self.vocabulary, self.source_ids, self.names, self.render)[METADATA_KEY]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the dataset to one .safetensors file, atomically.

        The bytes go to a temporary file in the same folder, are flushed and
        fsynced, and then replace `path`, so a reader never sees a half-written
        file. The same dataset always gives the same bytes.
        """
        path = Path(path)
        save_dataset_file(
            path,
            TensorStream("images", self.images.shape, array_chunks(self.images)),
            TensorStream("labels", self.labels.shape, array_chunks(self.labels)),
            dataset_metadata(self.vocabulary, self.source_ids, self.names, self.render),
        )
        return path

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], rebuild_hint: str | None = None, mmap: bool = False
    ) -> DesignDataset:
        """Read and validate a file written by `save`.

        mmap: map the images read-only from the file (np.memmap) instead of
        reading them, so only the pages in use occupy memory; labels and
        metadata are read either way.
        Raises DatasetError naming the path, the problem and `rebuild_hint`
        (by default the command that rebuilds the built-in OpenMoji dataset).
        """
        path = Path(path)
        fix = rebuild_hint or f"Rebuild it with `designgan data openmoji --out {path}`"

        def fail(problem: str) -> DatasetError:
            return DatasetError(f"Cannot load dataset {path}: {problem}. {fix}.")

        if not path.is_file():
            raise fail("file not found")
        try:
            with safetensors.safe_open(str(path), framework="numpy") as reader:
                raw_metadata = reader.metadata() or {}
                names = set(reader.keys())
                wanted = {"labels"} if mmap else {"images", "labels"}
                tensors = {name: reader.get_tensor(name) for name in names & wanted}
            if mmap and "images" in names:
                tensors["images"] = _map_images(path)
        except (safetensors.SafetensorError, OSError, ValueError) as error:
            raise fail(f"not a valid safetensors file ({error})") from error

        if METADATA_KEY not in raw_metadata:
            raise fail(f"metadata key {METADATA_KEY!r} is missing, so this is not a designgan dataset")
        try:
            metadata = json.loads(raw_metadata[METADATA_KEY])
        except json.JSONDecodeError as error:
            raise fail(f"metadata is not valid JSON ({error})") from error
        version = metadata.get("format_version") if isinstance(metadata, dict) else None
        if version != FORMAT_VERSION:
            raise fail(f"format_version is {version!r}, but this designgan reads version {FORMAT_VERSION}")
        missing = sorted({"images", "labels"} - names)
        if missing:
            raise fail(f"tensors {missing} are missing")

        try:
            return cls(
                images=tensors["images"],
                labels=tensors["labels"],
                vocabulary=Vocabulary.from_dict(metadata["vocabulary"]),
                source_ids=[str(s) for s in metadata["source_ids"]],
                render=dict(metadata.get("render", {})),
                names=[str(s) for s in metadata.get("names", [])],
            )
        except KeyError as error:
            raise fail(f"metadata field {error} is missing") from error
        except ValueError as error:  # DatasetError from __post_init__ included
            raise fail(str(error).rstrip(".")) from error



def _map_images(path: Path) -> np.ndarray:
    """Map the "images" tensor of a dataset file read-only, at its offset in the file."""
    header, data_start = read_safetensors_header(path)
    entry = header["images"]
    if entry.get("dtype") != "U8":
        raise ValueError(f"images must be uint8 (U8), got {entry.get('dtype')!r}")
    shape = tuple(int(n) for n in entry["shape"])
    begin, _ = entry["data_offsets"]
    if 0 in shape:
        return np.zeros(shape, dtype=np.uint8)  # np.memmap cannot map zero bytes
    return np.memmap(path, dtype=np.uint8, mode="r", offset=data_start + int(begin), shape=shape)
