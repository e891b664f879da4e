"""Streaming safetensors writing, so a dataset never has to fit in memory.

A safetensors file is an 8-byte little-endian header length, a JSON header
padded with spaces to a multiple of 8 bytes, and the raw tensor bytes. The
header maps "__metadata__" (omitted when empty) and each tensor name to its
dtype, shape and [begin, end) byte offsets within the data. `write_safetensors`
emits exactly the bytes that `safetensors.numpy.save` (safetensors 0.8) gives
for the same uint8 tensors and metadata, as tests/test_import_writer.py checks.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from designgan.files import atomic_write

HEADER_LENGTH_BYTES = 8
HEADER_ALIGNMENT_BYTES = 8
# safetensors rejects headers above 100 MB, and our own reader applies the same limit.
MAX_HEADER_BYTES = 100_000_000
ROWS_PER_CHUNK = 4096  # rows per write when streaming an in-memory array: 48 MB at 128 px


@dataclass(frozen=True)
class TensorStream:
    """A uint8 tensor given as its shape and an iterable of row chunks.

    The chunks, concatenated along axis 0, must hold exactly prod(shape) bytes.
    """

    name: str
    shape: tuple[int, ...]
    chunks: Iterable[np.ndarray]

    @property
    def num_bytes(self) -> int:
        return math.prod(self.shape)


def array_chunks(array: np.ndarray, rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[np.ndarray]:
    """Yield `array` in slices of `rows_per_chunk` rows along axis 0, without copying it whole."""
    for start in range(0, array.shape[0], rows_per_chunk):
        yield array[start : start + rows_per_chunk]


def safetensors_header(tensors: Sequence[TensorStream], metadata: dict[str, str] | None = None) -> bytes:
    """Return the length prefix and padded JSON header for `tensors`, in file order.

    The safetensors library orders tensors by dtype size, then by name. With
    uint8 only, that is name order, which the caller must already follow.
    """
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = {key: metadata[key] for key in sorted(metadata)}
    offset = 0
    for tensor in tensors:
        header[tensor.name] = {"dtype": "U8", "shape": list(tensor.shape), "data_offsets": [offset, offset + tensor.num_bytes]}
        offset += tensor.num_bytes

    # The library serializes with serde_json: compact separators and raw UTF-8.
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % HEADER_ALIGNMENT_BYTES)
    return len(text).to_bytes(HEADER_LENGTH_BYTES, "little") + text


def write_safetensors(
    handle: BinaryIO, tensors: Sequence[TensorStream], metadata: dict[str, str] | None = None
) -> str:
    """Write a safetensors file to an open binary `handle`, one chunk at a time.

    Returns the SHA-256 hex digest of all bytes written. Raises ValueError when
    a tensor is not uint8 or its chunks do not add up to its shape.
    """
    ordered = sorted(tensors, key=lambda tensor: tensor.name)
    digest = hashlib.sha256()

    def emit(data: bytes | memoryview) -> None:
        digest.update(data)
        handle.write(data)

    emit(safetensors_header(ordered, metadata))
    for tensor in ordered:
        written = 0
        for chunk in tensor.chunks:
            if chunk.dtype != np.uint8:
                raise ValueError(f"Tensor {tensor.name!r} must be uint8, got a {chunk.dtype} chunk.")
            data = memoryview(np.ascontiguousarray(chunk).reshape(-1))
            written += len(data)
            emit(data)
        if written != tensor.num_bytes:
            raise ValueError(
                f"Tensor {tensor.name!r} has shape {tensor.shape} ({tensor.num_bytes} bytes), "
                f"but its chunks held {written} bytes."
            )
    return digest.hexdigest()


def save_safetensors_file(
    path: str | os.PathLike[str], tensors: Sequence[TensorStream], metadata: dict[str, str] | None = None
) -> str:
    """Stream `tensors` into `path` atomically (see `atomic_write`) and return the file's SHA-256."""
    digests: list[str] = []
    atomic_write(Path(path), lambda handle: digests.append(write_safetensors(handle, tensors, metadata)))
    return digests[0]


def read_safetensors_header(path: str | os.PathLike[str]) -> tuple[dict[str, Any], int]:
    """Return the parsed JSON header of a safetensors file and the byte offset where its data starts.

    Raises ValueError when the length prefix or the JSON is invalid.
    """
    with open(path, "rb") as handle:
        prefix = handle.read(HEADER_LENGTH_BYTES)
        if len(prefix) != HEADER_LENGTH_BYTES:
            raise ValueError(f"{path} is shorter than the {HEADER_LENGTH_BYTES}-byte safetensors length prefix")
        length = int.from_bytes(prefix, "little")
        if length > MAX_HEADER_BYTES:
            raise ValueError(f"{path} declares a {length}-byte header, above the {MAX_HEADER_BYTES}-byte limit")
        text = handle.read(length)
    if len(text) != length:
        raise ValueError(f"{path} ends inside its {length}-byte header")
    try:
        header = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} has an invalid JSON header ({error})") from error
    if not isinstance(header, dict):
        raise ValueError(f"{path} has a header that is not a JSON object")
    return header, HEADER_LENGTH_BYTES + length


def file_sha256(path: str | os.PathLike[str], block_bytes: int = 1 << 20) -> str:
    """Return the SHA-256 hex digest of a file, read in blocks of `block_bytes`."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(block_bytes):
            digest.update(block)
    return digest.hexdigest()


class RowSpool:
    """uint8 rows of one shape, appended to an unnamed temporary file and read back in order.

    Rows are buffered and written `buffer_rows` at a time, so memory stays at one
    buffer however many rows arrive. The file disappears when the spool closes.
    """

    def __init__(self, row_shape: tuple[int, ...], directory: str | os.PathLike[str] | None = None,
                 buffer_rows: int = 1024):
        self.row_shape = tuple(row_shape)
        self.row_bytes = math.prod(self.row_shape)
        self._file = tempfile.TemporaryFile(dir=directory, prefix=".designgan-rows-")
        self._buffer = np.empty((buffer_rows, *self.row_shape), dtype=np.uint8)
        self._buffered = 0
        self._flushed = 0

    def __len__(self) -> int:
        return self._flushed + self._buffered

    def append(self, row: np.ndarray) -> None:
        if row.shape != self.row_shape or row.dtype != np.uint8:
            raise ValueError(f"Expected a uint8 row of shape {self.row_shape}, got {row.dtype} {row.shape}.")
        self._buffer[self._buffered] = row
        self._buffered += 1
        if self._buffered == len(self._buffer):
            self._flush()

    def _flush(self) -> None:
        if self._buffered:
            self._file.seek(0, os.SEEK_END)
            self._file.write(memoryview(self._buffer[: self._buffered]).cast("B"))
            self._flushed += self._buffered
            self._buffered = 0

    def chunks(self, rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[np.ndarray]:
        """Yield all rows so far, in order, as arrays of up to `rows_per_chunk` rows."""
        self._flush()
        self._file.seek(0)
        remaining = self._flushed
        while remaining:
            rows = min(rows_per_chunk, remaining)
            chunk = np.empty((rows, *self.row_shape), dtype=np.uint8)
            if self._file.readinto(memoryview(chunk).cast("B")) != rows * self.row_bytes:
                raise OSError(f"Temporary row file {self._file.name} ended early. The disk may be full.")
            remaining -= rows
            yield chunk

    def to_array(self) -> np.ndarray:
        """Return every row as one (N, *row_shape) array in memory."""
        rows = list(self.chunks())
        return np.concatenate(rows) if rows else np.zeros((0, *self.row_shape), dtype=np.uint8)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RowSpool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
