"""Keyword sources for image folders: metadata files, sidecar files, folder names.

Every source yields tags, free texts such as "Black cat" or "sleeping", and
`KeywordRules` turns them into keywords with the tokenizer that generation
uses (`tokenize_keywords`), so training keywords are the words users can type.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from designgan.data.keywords import normalize_text, tokenize_keywords
from designgan.data.report import ReportEntry

TagSource = Literal["auto", "metadata", "sidecar", "folders", "none"]
TAG_SOURCES: tuple[str, ...] = ("auto", "metadata", "sidecar", "folders", "none")
# The Hugging Face "imagefolder" convention: a metadata file beside the images,
# with a file_name column relative to the metadata file's folder.
METADATA_FILE_NAMES: tuple[str, ...] = ("metadata.csv", "metadata.jsonl")
TAG_COLUMNS: tuple[str, ...] = ("tags", "keywords", "text")  # the first one present is used
LIST_COLUMNS = ("tags", "keywords")  # comma-separated lists; "text" is one free text
SIDECAR_SUFFIX = ".txt"


class TagFileError(ValueError):
    """A metadata, sidecar or synonyms file that cannot be read."""


def read_text_file(path: Path) -> str:
    """Read a text file in UTF-8 (with or without a byte-order mark) or UTF-16.

    UTF-16 is recognised by its byte-order mark, or by a zero byte in the first
    two, as ASCII text in UTF-16 without a mark has. Anything else must be
    UTF-8. A legacy 8-bit encoding raises TagFileError with the line and column
    of the first invalid byte, instead of decoding into wrong characters.
    """
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif data[1:2] == b"\x00":
        encoding = "utf-16-le"
    elif data[:1] == b"\x00":
        encoding = "utf-16-be"
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise TagFileError(
            f"{path}: line {line}, column {column}: byte 0x{data[error.start]:02x} is not valid {encoding}. "
            "Save the file as UTF-8 (or UTF-16 with a byte-order mark) and import again."
        ) from None


def split_tags(text: str) -> list[str]:
    """Split a comma- or newline-separated tag list: "cat, black and white\\nsleeping" -> 3 tags."""
    return [tag.strip() for tag in text.replace("\n", ",").split(",") if tag.strip()]


def normalize_path(text: str) -> str:
    """Return a path with "/" separators in Unicode NFC, the form in which listed and found file names are compared.

    macOS stores file names decomposed (NFD), and most editors write NFC.
    """
    return unicodedata.normalize("NFC", text.replace("\\", "/"))


@dataclass(frozen=True)
class TagEntry:
    """The tags a metadata file lists for one image, and where."""

    tags: tuple[str, ...]
    location: str  # "metadata.csv line 4"


@dataclass
class MetadataTags:
    """Tags by image path (relative to the import folder), and problems found in the metadata files."""

    entries: dict[str, TagEntry] = field(default_factory=dict)
    warnings: list[ReportEntry] = field(default_factory=list)


def _row_tags(column: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(str(tag).strip() for tag in value if str(tag).strip())
    text = str(value)
    if column in LIST_COLUMNS:
        return tuple(split_tags(text))
    return (text.strip(),) if text.strip() else ()


def _csv_rows(path: Path, text: str) -> Iterable[tuple[int, dict[str, object]]]:
    """Yield (line number, row) from a CSV file whose header names a file_name column."""
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        columns = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = columns
        if "file_name" not in columns:
            raise TagFileError(f"{path}: the header has no file_name column (columns: {columns}).")
        if not any(column in columns for column in TAG_COLUMNS):
            raise TagFileError(f"{path}: the header has none of the tag columns {list(TAG_COLUMNS)} (columns: {columns}).")
        for row in reader:
            yield reader.line_num, row
    except csv.Error as error:
        raise TagFileError(f"{path}: line {reader.line_num}: invalid CSV ({error}).") from None


def _jsonl_rows(path: Path, text: str) -> Iterable[tuple[int, dict[str, object]]]:
    """Yield (line number, object) from a JSON Lines file, skipping blank lines."""
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise TagFileError(f"{path}: line {line_number}: invalid JSON ({error.msg}).") from None
        if not isinstance(row, dict):
            raise TagFileError(f"{path}: line {line_number}: expected a JSON object, got {type(row).__name__}.")
        yield line_number, row


def read_metadata(folder: Path, metadata_files: Iterable[str], image_paths: set[str]) -> MetadataTags:
    """Read metadata.csv / metadata.jsonl files into tags by image path.

    metadata_files: paths relative to `folder`. Each file's file_name values are
        relative to its own folder.
    image_paths: the image paths found in the scan, in `normalize_path` form, to
        report listed files that are missing.
    A listed path that is absolute or leaves the folder ("../x.png") is never
    opened. A file listed twice keeps its first entry.
    """
    table = MetadataTags()
    for metadata_file in sorted(metadata_files):
        path = folder / metadata_file
        base = PurePosixPath(metadata_file).parent
        text = read_text_file(path)
        rows = _jsonl_rows(path, text) if metadata_file.lower().endswith(".jsonl") else _csv_rows(path, text)
        for line_number, row in rows:
            location = f"{metadata_file} line {line_number}"
            listed = str(row.get("file_name") or "").strip()
            if not listed:
                table.warnings.append(ReportEntry(metadata_file, "metadata_row_invalid", f"{location} has no file_name"))
                continue
            relative = PurePosixPath(normalize_path(listed))
            if relative.is_absolute() or ".." in relative.parts:
                table.warnings.append(ReportEntry(
                    listed, "listed_path_outside_folder", f"{location} names a path outside the folder, which is never read"
                ))
                continue
            image_path = (base / relative).as_posix()
            if image_path in table.entries:
                first = table.entries[image_path].location
                table.warnings.append(ReportEntry(
                    image_path, "listed_twice", f"{location} lists it again, and the entry at {first} is used"
                ))
                continue
            column = next((name for name in TAG_COLUMNS if name in row), "")
            table.entries[image_path] = TagEntry(_row_tags(column, row.get(column)), location)
            if image_path not in image_paths:
                reason = "listed_file_missing" if not (folder / image_path).exists() else "listed_file_not_scanned"
                table.warnings.append(ReportEntry(image_path, reason, f"listed at {location}"))
    return table


def sidecar_path(image_path: str) -> str:
    """Return the sidecar of an image: "cats/tom.png" -> "cats/tom.txt"."""
    return PurePosixPath(image_path).with_suffix(SIDECAR_SUFFIX).as_posix()


def read_sidecar_tags(folder: Path, image_path: str) -> tuple[str, ...]:
    """Return the comma- or newline-separated tags in the image's sidecar file."""
    return tuple(split_tags(read_text_file(folder / sidecar_path(image_path))))


def folder_tags(image_path: str) -> tuple[str, ...]:
    """Return the folder names of an image path as tags: "animals/cats/tom.png" -> ("animals", "cats")."""
    return PurePosixPath(image_path).parent.parts


def read_synonyms(path: Path) -> dict[str, tuple[str, ...]]:
    """Read a synonyms file: lines "cat: kitty, kitten" map each right-hand tag to the left-hand keyword(s).

    Lines starting with "#" and blank lines are ignored. Returns {normalized
    variant: keywords of the left side}. Raises TagFileError with the line
    number on a line without ":" or a variant mapped to two different keywords.
    """
    synonyms: dict[str, tuple[str, ...]] = {}
    defined_at: dict[str, int] = {}
    for line_number, line in enumerate(read_text_file(path).splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        canonical, colon, variants = line.partition(":")
        target = tuple(tokenize_keywords(canonical))
        if not colon or not target:
            raise TagFileError(f"{path}: line {line_number}: expected 'keyword: variant, variant', got {line!r}.")
        for variant in split_tags(variants):
            key = normalize_text(variant)
            if key in synonyms and synonyms[key] != target:
                raise TagFileError(
                    f"{path}: line {line_number}: {variant!r} already maps to {' '.join(synonyms[key])!r} "
                    f"at line {defined_at[key]}. Keep one mapping."
                )
            synonyms[key], defined_at[key] = target, line_number
    return synonyms


@dataclass(frozen=True)
class KeywordRules:
    """How tags become keywords: the shared tokenizer, extra stop words and synonyms."""

    stop_words: tuple[str, ...] = ()
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # from `read_synonyms`

    def keywords(self, tags: Iterable[str]) -> tuple[tuple[str, ...], list[str]]:
        """Return (ordered unique keywords, tags that gave no keyword).

        A synonym replaces a whole tag ("Kitty" -> "cat") and any single
        keyword of a longer tag ("cute kitty" -> "cute", "cat"). A tag of only
        emoji, punctuation or stop words gives no keyword.
        """
        found: dict[str, None] = {}
        empty: list[str] = []
        for tag in tags:
            replacement = self.synonyms.get(normalize_text(tag))
            words = list(replacement) if replacement is not None else tokenize_keywords(tag, self.stop_words)
            if not words:
                empty.append(tag)
            for word in words:
                for keyword in self.synonyms.get(word, (word,)):
                    found.setdefault(keyword)
        return tuple(found), empty
