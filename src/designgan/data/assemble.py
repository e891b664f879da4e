"""The build step that every design source feeds: render, label, report, write.

A source (OpenMoji, an image folder) lists its designs as `SourceItem`s with
keywords and a picklable render task, and supplies a function that renders a
batch of tasks. `assemble_designs` runs that function on all CPU cores with
results in input order, spools the images to a temporary file, records
skips and warnings in the `BuildReport`, and builds the vocabulary. The
result becomes a `DesignDataset` in memory or streams into a dataset file.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from tqdm import tqdm

from designgan.data.dataset import DesignDataset, dataset_metadata, save_dataset_file
from designgan.data.report import BuildReport
from designgan.data.vocabulary import Vocabulary
from designgan.data.writer import ROWS_PER_CHUNK, RowSpool, TensorStream

logger = logging.getLogger(__name__)

MAX_TASKS_PER_BATCH = 64  # one task takes 1-10 ms, so a batch amortises the inter-process round trip
BATCHES_PER_WORKER = 8  # small sets are still split so that every worker gets some batches
# Batches submitted but not yet consumed, per worker. Executor.map would submit
# everything at once and hold every finished result behind a slow one, so
# this window bounds the results waiting in memory.
BATCHES_IN_FLIGHT_PER_WORKER = 4


@dataclass(frozen=True)
class SourceItem:
    """One design offered by a source, before rendering."""

    source_id: str  # unique within the source: an OpenMoji file stem, a path relative to the folder
    name: str  # human-readable name, "" when unknown
    keywords: tuple[str, ...]
    task: Any  # picklable argument for the source's render function


@dataclass(frozen=True)
class RenderResult:
    """The outcome of rendering one task: pixels, a cache hit, or a skip with its reason."""

    pixels: np.ndarray | None = None  # uint8 (R, R, 3); None when skipped or taken from the cache
    skip_reason: str = ""  # non-empty when the design is left out
    skip_detail: str = ""
    warnings: tuple[tuple[str, str], ...] = ()  # (reason, detail) for a design that is kept
    source_format: str = ""  # "SVG", "PNG", "JPEG", ...
    source_mode: str = ""  # Pillow mode before conversion, "SVG" for SVG
    content_sha256: str = ""  # of the source file, for the import cache
    cached_row: int | None = None  # copy the pixels from this row of the previous dataset


RenderBatch = Callable[[Sequence[Any]], list[RenderResult]]


def _batches(tasks: Sequence[Any], workers: int) -> list[Sequence[Any]]:
    size = max(1, min(MAX_TASKS_PER_BATCH, -(-len(tasks) // (workers * BATCHES_PER_WORKER))))
    return [tasks[start : start + size] for start in range(0, len(tasks), size)]


def render_in_order(render: RenderBatch, tasks: Sequence[Any], workers: int, bar: tqdm) -> Iterator[RenderResult]:
    """Yield render(task) results in task order, from `workers` processes (1: in this process)."""
    if workers <= 1:
        for batch in _batches(tasks, 1):
            results = render(batch)
            bar.update(len(batch))
            yield from results
        return

    batches = iter(_batches(tasks, workers))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: deque[tuple[Future[list[RenderResult]], int]] = deque()
        for batch in batches:
            pending.append((pool.submit(render, batch), len(batch)))
            if len(pending) >= workers * BATCHES_IN_FLIGHT_PER_WORKER:
                break
        while pending:
            future, size = pending.popleft()
            results = future.result()
            next_batch = next(batches, None)
            if next_batch is not None:
                pending.append((pool.submit(render, next_batch), len(next_batch)))
            bar.update(size)
            yield from results


@dataclass
class AssembledDesigns:
    """Rendered designs with their vocabulary, ready to become a dataset.

    `images` holds one row per design in `items` order. Call `close` (or use
    `with`) to delete its temporary file.
    """

    items: list[SourceItem]
    results: list[RenderResult]  # of each kept design, without pixels: format, mode, warnings, file hash
    images: RowSpool
    vocabulary: Vocabulary
    render: dict[str, Any]

    def __len__(self) -> int:
        return len(self.items)

    def label_rows(self, start: int, stop: int) -> np.ndarray:
        """Return the uint8 multi-hot labels of designs start..stop-1, shape (stop - start, K)."""
        rows = np.zeros((stop - start, len(self.vocabulary)), dtype=np.uint8)
        for row, item in enumerate(self.items[start:stop]):
            rows[row, [self.vocabulary.index(k) for k in item.keywords if k in self.vocabulary]] = 1
        return rows

    def _label_chunks(self) -> Iterator[np.ndarray]:
        for start in range(0, len(self), ROWS_PER_CHUNK):
            yield self.label_rows(start, min(start + ROWS_PER_CHUNK, len(self)))

    def _metadata(self) -> dict[str, str]:
        return dataset_metadata(
            self.vocabulary, [item.source_id for item in self.items], [item.name for item in self.items], self.render
        )

    def to_dataset(self) -> DesignDataset:
        """Load every image into memory as a `DesignDataset`."""
        return DesignDataset(
            images=self.images.to_array(),
            labels=self.label_rows(0, len(self)),
            vocabulary=self.vocabulary,
            source_ids=[item.source_id for item in self.items],
            render=self.render,
            names=[item.name for item in self.items],
        )

    def write(self, path: str | os.PathLike[str]) -> str:
        """Stream the dataset into `path` chunk by chunk, atomically, and return the file's SHA-256.

        The bytes equal those of `self.to_dataset().save(path)`.
        """
        resolution_px = self.images.row_shape[0]
        images = TensorStream("images", (len(self), resolution_px, resolution_px, 3), self.images.chunks())
        labels = TensorStream("labels", (len(self), len(self.vocabulary)), self._label_chunks())
        return save_dataset_file(path, images, labels, self._metadata())

    def close(self) -> None:
        self.images.close()

    def __enter__(self) -> AssembledDesigns:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def assemble_designs(
    items: Sequence[SourceItem],
    render: RenderBatch,
    report: BuildReport,
    *,
    resolution_px: int,
    min_count: int,
    render_settings: dict[str, Any],
    workers: int | None = None,
    progress: bool = True,
    description: str = "Rendering",
    spool_dir: str | os.PathLike[str] | None = None,
    previous_images: np.ndarray | None = None,
) -> AssembledDesigns:
    """Render `items` in order, keep the ones that succeed, and build their vocabulary.

    render: picklable function from a batch of `SourceItem.task`s to one RenderResult each.
    report: receives every skip and warning, the source format and mode counts,
        and the design, keyword and unlabelled counts.
    min_count: keep keywords used by at least this many kept designs.
    render_settings: stored as the dataset's `render` metadata.
    workers: processes; None uses every CPU core, 1 renders in this process.
    spool_dir: folder for the temporary image file (default: the system's temp folder).
    previous_images: rows that a RenderResult.cached_row points into (the previous dataset).
    """
    workers = max(1, min(workers or os.cpu_count() or 1, len(items) or 1))
    spool = RowSpool((resolution_px, resolution_px, 3), directory=spool_dir)
    kept_items: list[SourceItem] = []
    kept_results: list[RenderResult] = []
    try:
        with tqdm(total=len(items), desc=description, unit="image", disable=not progress) as bar:
            results = render_in_order(render, [item.task for item in items], workers, bar)
            for item, result in zip(items, results):
                if result.skip_reason:
                    report.skip(item.source_id, result.skip_reason, result.skip_detail)
                    logger.debug("Skipped %s: %s (%s)", item.source_id, result.skip_reason, result.skip_detail)
                    continue

                if result.cached_row is not None and previous_images is not None:
                    spool.append(np.asarray(previous_images[result.cached_row]))
                    report.from_cache += 1
                elif result.pixels is not None:
                    spool.append(result.pixels)
                else:
                    raise ValueError(f"Render result for {item.source_id} has neither pixels nor a usable cached row.")
                kept_items.append(item)
                kept_results.append(replace(result, pixels=None, cached_row=None))
                report.source_formats[result.source_format] += 1
                report.source_modes[result.source_mode] += 1
                for reason, detail in result.warnings:
                    report.warn(item.source_id, reason, detail)
    except BaseException:
        spool.close()
        raise

    vocabulary = Vocabulary.build((item.keywords for item in kept_items), min_count=min_count)
    report.designs = len(kept_items)
    report.keywords = len(vocabulary)
    report.unlabelled_designs = sum(1 for item in kept_items if not any(k in vocabulary for k in item.keywords))
    return AssembledDesigns(kept_items, kept_results, spool, vocabulary, render_settings)
