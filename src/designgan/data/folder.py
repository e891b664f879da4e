"""The image-folder source: any folder of tagged images becomes a dataset file.

`import_folder` scans the folder (read-only), reads keywords from the chosen
tag source, decodes every image in worker processes by content (see
`designgan.data.decode`), and hands the results to the same assembly step
as the OpenMoji builder. It writes the dataset, an import report and a
content-hash cache beside it, so a re-import decodes only changed files.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath

from designgan.data.assemble import RenderResult, SourceItem, assemble_designs
from designgan.data.decode import decode_file
from designgan.data.images import DEFAULT_MAX_PIXELS, EXTENSION_FORMATS, FitMode, ImageRejected, ImageSettings
from designgan.data.import_cache import CachedImage, decoder_fingerprint, load_import_cache, save_import_cache
from designgan.data.keyword_mapping import Synonyms, synonyms_to_json
from designgan.data.render import RGB
from designgan.data.report import REPORT_FILE_NAME, BuildReport, ReportEntry
from designgan.data.tags import (
    METADATA_FILE_NAMES,
    SIDECAR_SUFFIX,
    TAG_SOURCES,
    KeywordRules,
    TagFileError,
    TagSource,
    folder_tags,
    normalize_path,
    read_metadata,
    read_sidecar_tags,
    read_synonyms,
    sidecar_path,
)
from designgan.data.writer import file_sha256

logger = logging.getLogger(__name__)


class FolderImportError(ValueError):
    """An import that cannot run, or that leaves no usable image."""


@dataclass(frozen=True)
class ImportSettings:
    """Options of `import_folder`, one per CLI flag of `designgan data import`."""

    resolution_px: int = 64  # side of the square images: 32, 64 or 128
    fit: FitMode = "pad"  # non-square images: pad, crop (centre) or stretch
    background: RGB = (255, 255, 255)  # behind transparency and padding
    max_pixels: int = DEFAULT_MAX_PIXELS  # larger images are rejected from their header
    min_count: int = 10  # keep keywords used by at least this many imported images
    tags: TagSource = "auto"  # where keywords come from; "auto" picks the first that exists
    synonyms: Path | None = None  # file of "cat: kitty, kitten" lines
    stop_words: tuple[str, ...] = ()  # words dropped from tags, on top of the tokenizer's own
    recursive: bool = True  # also import images in subfolders
    workers: int | None = None  # decoding processes; None: one per CPU core, 1: in this process

    def image_settings(self) -> ImageSettings:
        return ImageSettings(self.resolution_px, self.fit, self.background, self.max_pixels)

    def validate(self) -> ImportSettings:
        self.image_settings().validate()
        if self.min_count < 1:
            raise ValueError(f"min_count must be at least 1, got {self.min_count}.")
        if self.tags not in TAG_SOURCES:
            raise ValueError(f"tags {self.tags!r} is invalid; use one of {', '.join(TAG_SOURCES)}.")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}.")
        return self


@dataclass
class FolderScan:
    """What a folder holds, by path relative to it in POSIX form."""

    images: list[str] = field(default_factory=list)  # files with an image extension, sorted
    metadata_files: list[str] = field(default_factory=list)
    text_files: set[str] = field(default_factory=set)  # possible sidecars
    other_files: list[str] = field(default_factory=list)  # reported as unsupported unless used as tag files
    skipped: list[ReportEntry] = field(default_factory=list)  # hidden entries, links, special files


def scan_folder(folder: Path, recursive: bool = True) -> FolderScan:
    """List the folder's files without opening any.

    Hidden entries (".name") are skipped without descending into them, and
    symbolic links to folders, or to files outside the folder, are not
    followed, so a link cannot loop or leave the folder. FIFOs, sockets and devices are skipped unopened,
    because opening a FIFO blocks.
    """
    scan = FolderScan()
    root = folder.resolve()
    pending = [folder]
    while pending:
        current = pending.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                relative = Path(entry.path).relative_to(folder).as_posix()
                if entry.name.startswith("."):
                    scan.skipped.append(ReportEntry(relative, "hidden", "names starting with '.' are not imported"))
                elif entry.is_dir(follow_symlinks=False):
                    if recursive:
                        pending.append(Path(entry.path))
                    else:
                        scan.skipped.append(ReportEntry(relative, "in_subfolder", "--no-recursive skips subfolders"))
                elif entry.is_symlink() and entry.is_dir():
                    scan.skipped.append(ReportEntry(relative, "symlinked_folder", "links to folders are not followed"))
                elif not entry.is_file():
                    scan.skipped.append(ReportEntry(relative, "not_a_regular_file", "not a regular file, so never opened"))
                elif entry.is_symlink() and not _inside(Path(entry.path).resolve(), root):
                    scan.skipped.append(ReportEntry(relative, "symlink_outside_folder",
                                                    "links to files outside the folder are not followed"))
                elif entry.name.lower() in METADATA_FILE_NAMES:
                    scan.metadata_files.append(relative)
                elif entry.name.lower().endswith(SIDECAR_SUFFIX):
                    scan.text_files.add(relative)
                elif Path(entry.name).suffix.lower() in EXTENSION_FORMATS:
                    scan.images.append(relative)
                else:
                    scan.other_files.append(relative)
    scan.images.sort()
    scan.metadata_files.sort()
    scan.other_files.sort()
    scan.skipped.sort(key=lambda entry: entry.path)
    return scan


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_tag_source(requested: str, scan: FolderScan, folder: Path) -> str:
    """Return the tag source to use; "auto" picks metadata, then sidecars, then folder names, then none.

    Raises FolderImportError when an explicitly requested source has nothing to read.
    """
    has_metadata = bool(scan.metadata_files)
    has_sidecars = any(sidecar_path(image) in scan.text_files for image in scan.images)
    has_subfolders = any("/" in image for image in scan.images)
    if requested == "auto":
        for source, present in (("metadata", has_metadata), ("sidecar", has_sidecars), ("folders", has_subfolders)):
            if present:
                return source
        return "none"
    missing = {
        "metadata": (has_metadata, f"there is no {' or '.join(METADATA_FILE_NAMES)} in {folder}"),
        "sidecar": (has_sidecars, f"no image in {folder} has a NAME{SIDECAR_SUFFIX} sidecar"),
        "folders": (has_subfolders, f"every image is at the top of {folder}, so folder names give no keywords"),
    }
    if requested in missing and not missing[requested][0]:
        raise FolderImportError(f"--tags {requested}: {missing[requested][1]}. Use --tags auto to pick what exists.")
    return requested


def _check_metadata_files(scan: FolderScan) -> None:
    folders: dict[PurePosixPath, str] = {}
    for metadata_file in scan.metadata_files:
        parent = PurePosixPath(metadata_file).parent
        if parent in folders:
            raise FolderImportError(
                f"{folders[parent]} and {metadata_file} are both in {parent}. Keep one metadata file per folder."
            )
        folders[parent] = metadata_file


@dataclass(frozen=True)
class FolderTask:
    """One file for a worker to decode, with its cache entry from the previous import if any."""

    path: str  # absolute
    cached: CachedImage | None = None


def render_folder_batch(settings: ImageSettings, tasks: Sequence[FolderTask]) -> list[RenderResult]:
    """Hash and decode files in a worker process, skipping the decoding of unchanged cached files."""
    return [_render_file(settings, task) for task in tasks]


def _render_file(settings: ImageSettings, task: FolderTask) -> RenderResult:
    path = Path(task.path)
    try:
        sha256 = file_sha256(path)
    except OSError as error:
        return RenderResult(skip_reason="unreadable", skip_detail=f"{type(error).__name__}: {error}")
    cached = task.cached
    if cached is not None and cached.sha256 == sha256:
        return RenderResult(cached_row=cached.row, content_sha256=sha256, warnings=cached.warnings,
                            source_format=cached.source_format, source_mode=cached.source_mode)

    try:
        decoded = decode_file(path, settings)
    except ImageRejected as rejection:
        return RenderResult(skip_reason=rejection.reason, skip_detail=rejection.detail, content_sha256=sha256)
    except Exception as error:  # noqa: BLE001 - decoders of untrusted files raise OSError, SyntaxError, struct.error and more
        return RenderResult(skip_reason="decode_failed", skip_detail=f"{type(error).__name__}: {error}",
                            content_sha256=sha256)
    return RenderResult(pixels=decoded.pixels, warnings=decoded.warnings, source_format=decoded.source_format,
                        source_mode=decoded.source_mode, content_sha256=sha256)


def _read_tags(folder: Path, scan: FolderScan, tag_source: str, report: BuildReport) -> dict[str, tuple[str, ...] | None]:
    """Return the tags of every scanned image; None marks an image to skip (unreadable sidecar)."""
    tags: dict[str, tuple[str, ...] | None] = {}
    if tag_source == "metadata":
        _check_metadata_files(scan)
        table = read_metadata(folder, scan.metadata_files, {normalize_path(image) for image in scan.images})
        report.warnings.extend(table.warnings)
        for image in scan.images:
            entry = table.entries.get(normalize_path(image))
            if entry is None:
                report.warn(image, "not_in_metadata", "no metadata row lists it, so it is imported without keywords")
            tags[image] = entry.tags if entry else ()
    elif tag_source == "sidecar":
        for image in scan.images:
            if sidecar_path(image) not in scan.text_files:
                report.warn(image, "no_sidecar", f"{sidecar_path(image)} is missing, so it is imported without keywords")
                tags[image] = ()
                continue
            try:
                tags[image] = read_sidecar_tags(folder, image)
            except (TagFileError, OSError) as error:
                report.skip(image, "tag_file_unreadable", str(error))
                tags[image] = None
    else:
        for image in scan.images:
            tags[image] = folder_tags(image) if tag_source == "folders" else ()
    return tags


def _report_unused_files(scan: FolderScan, tag_source: str, report: BuildReport) -> None:
    used = set(scan.metadata_files) if tag_source == "metadata" else set()
    if tag_source == "sidecar":
        used |= {sidecar_path(image) for image in scan.images}
    for path in sorted({*scan.other_files, *scan.text_files, *scan.metadata_files} - used):
        suffix = PurePosixPath(path).suffix or "(none)"
        report.skip(path, "unsupported_extension",
                    f"extension {suffix} is not an image extension ({', '.join(sorted(set(EXTENSION_FORMATS)))})")


def _render_settings(settings: ImportSettings, tag_source: str, synonyms: Synonyms) -> dict[str, object]:
    """Return the settings stored in the dataset. Paths are left out, so a moved folder gives the same file.

    The parsed synonyms are stored too, because they travel from the dataset into
    exported models, where generation maps the words users type with them.
    """
    synonyms_sha256 = file_sha256(settings.synonyms) if settings.synonyms else None
    return {
        "source": "folder",
        "resolution_px": settings.resolution_px,
        "fit": settings.fit,
        "background": list(settings.background),
        "max_pixels": settings.max_pixels,
        "min_count": settings.min_count,
        "tags": tag_source,
        "stop_words": list(settings.stop_words),
        "synonyms_sha256": synonyms_sha256,
        "synonyms": synonyms_to_json(synonyms),
    }


def _is_inside(path: Path, folder: Path) -> bool:
    return path.resolve() == folder.resolve() or folder.resolve() in path.resolve().parents


def import_folder(
    folder: str | os.PathLike[str], out: str | os.PathLike[str], settings: ImportSettings | None = None,
    progress: bool = True,
) -> BuildReport:
    """Import a folder of tagged images into the dataset file `out` and return the report.

    Writes `out`, OUT_STEM.import-cache.json and import_report.json in the
    folder of `out`, never anything in `folder`. Two imports of an unchanged
    folder give byte-identical dataset files. Raises FolderImportError when
    the options or folder are unusable or no image can be imported (the
    report is written first), and TagFileError for an unreadable metadata or
    synonyms file.
    """
    started = time.perf_counter()
    settings = (settings or ImportSettings()).validate()
    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise FolderImportError(f"Folder {folder} not found. Pass a folder of images.")
    if _is_inside(out, folder):
        raise FolderImportError(
            f"--out {out} is inside the source folder {folder}. Write the dataset outside it, "
            "because the import never modifies the source folder."
        )

    scan = scan_folder(folder, settings.recursive)
    tag_source = resolve_tag_source(settings.tags, scan, folder)
    rules = KeywordRules(settings.stop_words, read_synonyms(settings.synonyms) if settings.synonyms else {})
    render_settings = _render_settings(settings, tag_source, rules.synonyms)
    report = BuildReport(source="folder", settings={**render_settings, "folder": str(folder), "dataset": str(out)})
    report.skipped_items.extend(scan.skipped)
    _report_unused_files(scan, tag_source, report)
    image_tags = _read_tags(folder, scan, tag_source, report)

    fingerprint = decoder_fingerprint(settings.image_settings())
    cache = load_import_cache(out, fingerprint)
    items = []
    for image, tags in image_tags.items():
        if tags is None:
            continue
        keywords, empty_tags = rules.keywords(tags)
        for tag in empty_tags:
            report.warn(image, "tag_without_keywords", f"tag {tag!r} has no letters, digits or non-stop words")
        cached = cache.entries.get(image) if cache else None
        task = FolderTask(str((folder / image).absolute()), cached)
        items.append(SourceItem(image, PurePosixPath(image).stem, keywords, task))

    image_settings = settings.image_settings()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        assembled = assemble_designs(
            items,
            partial(render_folder_batch, image_settings),
            report,
            resolution_px=settings.resolution_px,
            min_count=settings.min_count,
            render_settings=render_settings,
            workers=settings.workers,
            progress=progress,
            description=f"Importing {folder.name} at {settings.resolution_px} px",
            spool_dir=out.parent,
            previous_images=cache.images if cache else None,
        )
    except BrokenProcessPool as error:
        # A decoder that crashes its process (a native-code fault, or the kernel's
        # out-of-memory killer) takes the pool down, so no per-file reason is known.
        raise FolderImportError(
            f"A decoding worker died while importing {folder} ({error}), usually from a decoder crash or a lack "
            "of memory. Retry with fewer --workers or a lower --max-pixels."
        ) from error
    cache = None  # drop the memory map of the old dataset before it is replaced
    report_path = out.parent / REPORT_FILE_NAME
    with assembled:
        if len(assembled) == 0:
            report.seconds = time.perf_counter() - started
            report.save(report_path)
            raise FolderImportError(
                f"No usable image in {folder}: {report.summary()}. {report_path} lists every skipped file and its reason."
            )
        dataset_sha256 = assembled.write(out)
        entries = {
            item.source_id: CachedImage(result.content_sha256, row, result.source_format, result.source_mode,
                                        result.warnings)
            for row, (item, result) in enumerate(zip(assembled.items, assembled.results))
        }
    save_import_cache(out, fingerprint, dataset_sha256, entries)
    report.seconds = time.perf_counter() - started
    report.save(report_path)
    logger.info("Imported %s into %s: %s", folder, out, report.summary())
    return report
