"""The report of a dataset build: what was imported, what was skipped and why."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from designgan.files import atomic_write

REPORT_FORMAT_VERSION = 1
REPORT_FILE_NAME = "import_report.json"
EXAMPLES_PER_REASON = 5


@dataclass(frozen=True)
class ReportEntry:
    """One skipped item or warning: the item's id in its source, a reason code and details."""

    path: str  # a path relative to the source folder, or an OpenMoji file stem
    reason: str  # a snake_case code such as "not_an_image" or "extension_mismatch"
    detail: str = ""


@dataclass
class BuildReport:
    """Counts and itemised problems of one dataset build, from any source.

    `skipped_items` are items left out of the dataset; `warnings` are notes on
    items that were imported anyway, or on the tag files.
    """

    source: str  # "openmoji" or "folder"
    settings: dict[str, Any] = field(default_factory=dict)
    designs: int = 0  # designs in the dataset
    keywords: int = 0  # keywords in the vocabulary
    unlabelled_designs: int = 0  # designs with no keyword in the vocabulary
    skipped_items: list[ReportEntry] = field(default_factory=list)
    warnings: list[ReportEntry] = field(default_factory=list)
    source_formats: Counter[str] = field(default_factory=Counter)  # "PNG", "JPEG", "SVG", ... of imported designs
    source_modes: Counter[str] = field(default_factory=Counter)  # Pillow mode before conversion to RGB
    from_cache: int = 0  # designs copied from the previous import instead of decoded
    seconds: float = 0.0

    def skip(self, path: str, reason: str, detail: str = "") -> None:
        self.skipped_items.append(ReportEntry(path, reason, detail))

    def warn(self, path: str, reason: str, detail: str = "") -> None:
        self.warnings.append(ReportEntry(path, reason, detail))

    @property
    def skipped(self) -> dict[str, int]:
        """Number of skipped items by reason, sorted by reason."""
        return dict(sorted(Counter(entry.reason for entry in self.skipped_items).items()))

    @property
    def skipped_examples(self) -> dict[str, list[str]]:
        """The first `EXAMPLES_PER_REASON` skipped paths for each reason."""
        examples: dict[str, list[str]] = {}
        for entry in self.skipped_items:
            paths = examples.setdefault(entry.reason, [])
            if len(paths) < EXAMPLES_PER_REASON:
                paths.append(entry.path)
        return examples

    @property
    def warnings_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(entry.reason for entry in self.warnings).items()))

    def summary(self) -> str:
        """Return one line: imported, skipped and warned counts by reason, keywords and time."""
        skipped = ", ".join(f"{reason}: {n}" for reason, n in self.skipped.items())
        warned = ", ".join(f"{reason}: {n}" for reason, n in self.warnings_by_reason.items())
        line = f"imported {self.designs} designs, skipped {len(self.skipped_items)}"
        if skipped:
            line += f" ({skipped})"
        if self.warnings:
            line += f", {len(self.warnings)} warnings ({warned})"
        line += f"; {self.keywords} keywords, {self.unlabelled_designs} designs without keywords"
        if self.from_cache:
            line += f", {self.from_cache} from the previous import"
        return line + f"; {self.seconds:.1f} s"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": REPORT_FORMAT_VERSION,
            "source": self.source,
            "settings": self.settings,
            "summary": {
                "imported": self.designs,
                "skipped": len(self.skipped_items),
                "skipped_by_reason": self.skipped,
                "warnings": len(self.warnings),
                "warnings_by_reason": self.warnings_by_reason,
                "keywords": self.keywords,
                "unlabelled_designs": self.unlabelled_designs,
                "from_cache": self.from_cache,
                "source_formats": dict(sorted(self.source_formats.items())),
                "source_modes": dict(sorted(self.source_modes.items())),
                "seconds": round(self.seconds, 3),
            },
            "skipped": [vars(entry) for entry in self.skipped_items],
            "warnings": [vars(entry) for entry in self.warnings],
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as indented JSON, atomically."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))
        return path
