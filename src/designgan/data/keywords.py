"""Keyword tokenizer shared by dataset building and generation.

Dataset building runs it on Unicode emoji names, groups and subgroups
("woman: dark skin tone", "Animals & Nature", "animal-mammal"), and generation
runs it on what a user types, so both sides produce the same keywords.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Terms that keep their meaning only as a whole. Unicode uses them as emoji
# modifiers (skin tones, hair styles), so "woman: dark skin tone" must give
# "dark skin tone", not "dark", "skin", "tone".
MULTI_WORD_TERMS: tuple[str, ...] = (
    "light skin tone",
    "medium-light skin tone",
    "medium skin tone",
    "medium-dark skin tone",
    "dark skin tone",
    "red hair",
    "curly hair",
    "white hair",
)

# Function words that carry no design meaning. The list is kept small on
# purpose, because every dropped word is a keyword users can no longer ask for.
STOP_WORDS: frozenset[str] = frozenset(
    {"a", "an", "the", "of", "with", "and", "or", "in", "on", "at", "for", "to", "by", "from", "as", "is"}
)

# Possessive "'s" is dropped ("man's shoe" -> "man shoe"), and any other
# apostrophe joins its neighbours ("o'clock" -> "oclock").
_POSSESSIVE = re.compile(r"['\u2019]s\b")
_APOSTROPHE = re.compile(r"['\u2019]")
# Anything but ASCII letters and digits separates words, hyphens included.
_SEPARATOR = re.compile(r"[^a-z0-9]+")


def _term_words(term: str) -> tuple[str, ...]:
    return tuple(_SEPARATOR.split(term))


# Word sequences of the terms, longest first, so that "medium light skin tone"
# is matched before its suffix "light skin tone".
_TERMS_BY_WORDS: tuple[tuple[tuple[str, ...], str], ...] = tuple(
    sorted(((_term_words(term), term) for term in MULTI_WORD_TERMS), key=lambda item: -len(item[0]))
)


def _split_words(text: str) -> list[str]:
    """Lowercase, strip accents and split on everything but letters and digits."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    ascii_text = "".join(char for char in decomposed if not unicodedata.combining(char))
    ascii_text = _APOSTROPHE.sub("", _POSSESSIVE.sub("", ascii_text))
    return [word for word in _SEPARATOR.split(ascii_text) if word]


def _join_terms(words: list[str]) -> list[str]:
    """Replace each run of words that spells a multi-word term by the term."""
    units: list[str] = []
    position = 0
    while position < len(words):
        for term_words, term in _TERMS_BY_WORDS:
            end = position + len(term_words)
            if tuple(words[position:end]) == term_words:
                units.append(term)
                position = end
                break
        else:
            units.append(words[position])
            position += 1
    return units


def normalize_text(text: str) -> str:
    """Normalize free text to lowercase ASCII words separated by single spaces.

    Accents are stripped (Unicode NFKD), '&' and punctuation become spaces, and
    hyphens survive only inside known multi-word terms, which are matched with
    or without their hyphens: "Medium light skin-tone" -> "medium-light skin tone".
    """
    return " ".join(_join_terms(_split_words(text)))


def tokenize_keywords(text: str, extra_stop_words: Iterable[str] = ()) -> list[str]:
    """Split free text into ordered, de-duplicated keywords.

    Keywords are single words and whole multi-word terms (see `MULTI_WORD_TERMS`),
    minus `STOP_WORDS` and `extra_stop_words`. Examples:
    "Smiling cat face" -> ["smiling", "cat", "face"],
    "woman: dark skin tone" -> ["woman", "dark skin tone"],
    "animal-mammal" -> ["animal", "mammal"].
    """
    stop_words = STOP_WORDS | {normalize_text(word) for word in extra_stop_words}
    keywords: list[str] = []
    for unit in _join_terms(_split_words(text)):
        if unit not in stop_words and unit not in keywords:
            keywords.append(unit)
    return keywords
