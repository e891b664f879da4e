"""Keyword vocabulary: the fixed list of keywords a model is conditioned on."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Vocabulary:
    """Ordered keywords with the number of designs that use each one.

    The position of a keyword is its index in the multi-hot label vector, so
    the order is part of every dataset and model built on it.
    """

    keywords: tuple[str, ...]
    counts: tuple[int, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.keywords) != len(self.counts):
            raise ValueError(
                f"Vocabulary has {len(self.keywords)} keywords but {len(self.counts)} counts. "
                "Pass one count per keyword."
            )
        index = {keyword: position for position, keyword in enumerate(self.keywords)}
        if len(index) != len(self.keywords):
            duplicates = sorted(k for k, n in Counter(self.keywords).items() if n > 1)
            raise ValueError(f"Vocabulary keywords must be unique, but these repeat: {duplicates}.")
        # A frozen dataclass still allows a cached lookup table set once here.
        object.__setattr__(self, "_index", index)

    @classmethod
    def build(cls, keyword_lists: Iterable[Sequence[str]], min_count: int = 10) -> Vocabulary:
        """Build a vocabulary from the keywords of each design.

        A keyword is kept when at least `min_count` designs use it (repeats
        within one design count once). Keywords are sorted by descending count,
        then alphabetically, so the same designs always give the same order.
        """
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1, got {min_count}.")
        counter: Counter[str] = Counter()
        for keywords in keyword_lists:
            counter.update(set(keywords))
        frequent = sorted((item for item in counter.items() if item[1] >= min_count), key=lambda item: (-item[1], item[0]))
        return cls(keywords=tuple(k for k, _ in frequent), counts=tuple(n for _, n in frequent))

    def __len__(self) -> int:
        return len(self.keywords)

    def __contains__(self, keyword: object) -> bool:
        return keyword in self._index

    def index(self, keyword: str) -> int:
        """Return the label position of `keyword`, or raise KeyError listing close matches."""
        try:
            return self._index[keyword]
        except KeyError:
            close = self.suggest(keyword)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise KeyError(f"Unknown keyword {keyword!r} (vocabulary has {len(self)} keywords).{hint}") from None

    def encode(self, keywords: Sequence[str]) -> np.ndarray:
        """Encode keywords as a float32 multi-hot vector of shape (len(self),).

        Raises KeyError on a keyword outside the vocabulary.
        """
        multi_hot = np.zeros(len(self), dtype=np.float32)
        for keyword in keywords:
            multi_hot[self.index(keyword)] = 1.0
        return multi_hot

    def decode(self, multi_hot: np.ndarray | Sequence[float]) -> list[str]:
        """Return the keywords whose entry in a (len(self),) vector is above 0.5."""
        values = np.asarray(multi_hot).reshape(-1)
        if values.shape[0] != len(self):
            raise ValueError(f"Expected a vector of {len(self)} entries, got shape {np.shape(multi_hot)}.")
        return [self.keywords[i] for i in np.flatnonzero(values > 0.5)]

    def suggest(self, word: str, k: int = 3) -> list[str]:
        """Return up to `k` known keywords closest to `word` in spelling."""
        return difflib.get_close_matches(word, self.keywords, n=k, cutoff=0.6)

    def to_dict(self) -> dict[str, Any]:
        return {"keywords": list(self.keywords), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        """Rebuild a vocabulary from `to_dict` output."""
        try:
            return cls(keywords=tuple(str(k) for k in data["keywords"]), counts=tuple(int(n) for n in data["counts"]))
        except (KeyError, TypeError) as error:
            raise ValueError(f"Invalid vocabulary data ({error}): expected lists 'keywords' and 'counts'.") from error
