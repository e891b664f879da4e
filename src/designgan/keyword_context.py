"""Keyword context: complete the keywords a user types to a keyword set the model saw.

A conditional generator learns from the keyword sets of real designs, and OpenMoji's
designs carry 5.4 keywords on average ("cat", "face", "animal-mammal", ...). A user's
query is usually one or two of them. The keyword embedding is the mean of the
keywords' vectors, so one keyword alone is a point far from every training mean. The
generator never trained on such an input, and the built-in model drew one design for
it whatever the noise.

Completion picks, for each idea, the keyword set of a real design that shares the most
keywords with the query (weighted by how many designs have that set) and adds the query
to it. The choice is drawn from the idea's seed, so an idea stays reproducible, and
different seeds draw different contexts: "cat" gives crying, smiling and weary cats.
The training sets are stored with an exported model as keyword_sets.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import atomic_write

KEYWORD_SETS_NAME = "keyword_sets.json"
KEYWORD_SETS_FORMAT = 1


class KeywordSetsError(ValueError):
    """keyword_sets.json is damaged or belongs to another vocabulary."""


@dataclass(frozen=True)
class KeywordSets:
    """The distinct keyword sets of a training set.

    multi_hot: (S, K) uint8, one row per distinct non-empty set.
    counts: (S,) int64, the designs that carry each set.
    """

    multi_hot: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_labels(cls, labels: np.ndarray) -> KeywordSets:
        """Collect the distinct non-empty rows of multi-hot labels (N, K)."""
        labels = (np.asarray(labels) > 0).astype(np.uint8)
        labels = labels[labels.any(axis=1)]
        if len(labels) == 0:
            return cls(np.zeros((0, np.asarray(labels).shape[1]), np.uint8), np.zeros(0, np.int64))
        rows, counts = np.unique(labels, axis=0, return_counts=True)
        return cls(rows, counts.astype(np.int64))

    @property
    def num_keywords(self) -> int:
        return self.multi_hot.shape[1]

    def complete(self, requested: np.ndarray, seed: int) -> np.ndarray:
        """Return the condition (K,) float32 for one idea: the query plus a real set's keywords.

        requested: multi-hot (K,) of the known keywords the user asked for. The real
        sets sharing the most of them are the candidates, drawn in proportion to their
        design counts by a generator seeded with `seed`. With no set sharing any
        keyword, the query is returned unchanged.
        """
        requested = (np.asarray(requested) > 0).astype(np.uint8)
        overlap = self._overlap(requested)
        best = int(overlap.max()) if len(overlap) else 0
        if best == 0:
            return requested.astype(np.float32)
        candidates = np.flatnonzero(overlap == best)
        weights = self.counts[candidates] / self.counts[candidates].sum()
        choice = candidates[np.random.default_rng(seed).choice(len(candidates), p=weights)]
        return np.maximum(self.multi_hot[choice], requested).astype(np.float32)

    def covers(self, requested: np.ndarray) -> bool:
        """Return whether some real set contains every requested keyword (multi-hot (K,))."""
        overlap = self._overlap(requested)
        return bool(len(overlap)) and int(overlap.max()) == int((np.asarray(requested) > 0).sum())

    def _overlap(self, requested: np.ndarray) -> np.ndarray:
        """Count the requested keywords (multi-hot (K,)) that each set has: (S,) int64.
        Only the requested columns are read, because generation calls this once per idea."""
        columns = np.flatnonzero(np.asarray(requested) > 0)
        return self.multi_hot[:, columns].sum(axis=1, dtype=np.int64)

    def to_json(self) -> dict:
        return {"format": KEYWORD_SETS_FORMAT,
                "sets": [np.flatnonzero(row).tolist() for row in self.multi_hot],
                "counts": self.counts.tolist()}

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / KEYWORD_SETS_NAME
        text = json.dumps(self.to_json(), separators=(",", ":")) + "\n"
        atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))
        return path


def read_keyword_sets(folder: str | Path, num_keywords: int) -> KeywordSets | None:
    """Read `folder/keyword_sets.json`; None when the model has none (older exports)."""
    path = Path(folder) / KEYWORD_SETS_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        multi_hot, counts_array = _parse_sets(data, num_keywords)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as error:
        raise KeywordSetsError(f"{path} is damaged ({error}); export the model again, "
                               f"or delete the file to generate without keyword context.") from error
    return KeywordSets(multi_hot, counts_array)


def _parse_sets(data: object, num_keywords: int) -> tuple[np.ndarray, np.ndarray]:
    """Check the JSON of keyword_sets.json and return (multi_hot (S, K) uint8, counts (S,))."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, found {type(data).__name__}")
    if data.get("format") != KEYWORD_SETS_FORMAT:
        raise ValueError(f"format is {data.get('format')!r}, expected {KEYWORD_SETS_FORMAT}")
    for key in ("sets", "counts"):
        if key not in data:
            raise ValueError(f'"{key}" is missing')
        if not isinstance(data[key], list):
            raise ValueError(f'"{key}" must be a list, found {type(data[key]).__name__}')
    sets, counts = data["sets"], data["counts"]
    if len(sets) != len(counts):
        raise ValueError(f"{len(sets)} sets but {len(counts)} counts")

    def is_whole(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    multi_hot = np.zeros((len(sets), num_keywords), np.uint8)
    for row, indices in enumerate(sets):
        valid = (isinstance(indices, list) and indices and all(is_whole(i) for i in indices)
                 and min(indices) >= 0 and max(indices) < num_keywords)
        if not valid:
            raise ValueError(f"set {row} is {indices!r}; a set is a non-empty list of keyword indices "
                             f"in 0..{num_keywords - 1}")
        multi_hot[row, indices] = 1
    for row, count in enumerate(counts):
        if not is_whole(count) or not 1 <= count <= 2**62:
            raise ValueError(f"count {row} is {count!r}; every count is a whole number of designs, at least 1")
    return multi_hot, np.asarray(counts, dtype=np.int64)
