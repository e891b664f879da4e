"""Map the words a user types onto a model's vocabulary by spelling and by the dataset's synonyms.

Generation tokenises the user's text with `tokenize_keywords`, which already
folds case, accents (any Unicode normalisation form) and hyphens. What is
left for this module are words that the tokenizer keeps but the vocabulary
lacks. `match_words` tries, for each of them and in this order:

1. spacing: a run of words that spells a vocabulary keyword once spaces and
   hyphens are removed ("dark skintone" and "darkskintone" -> "dark skin tone");
2. plural: a rule-based singular form that is a vocabulary keyword
   ("cats" -> "cat", "puppies" -> "puppy", "boxes" -> "box");
3. synonym: the dataset's synonyms file, stored in the model's config.json
   ("kitty" -> "cat").

Matching by meaning (sentence embeddings) is a further, optional step in
`designgan.text_embedding`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from designgan.data.keywords import STOP_WORDS, normalize_text, tokenize_keywords
from designgan.data.vocabulary import Vocabulary

MappingMethod = Literal["exact", "spacing", "plural", "synonym", "similarity"]
Synonyms = dict[str, tuple[str, ...]]  # normalized variant -> keywords, as `tags.read_synonyms` returns

# Maximum number of typed words joined into one keyword: "medium light skin tone" has 4.
MAX_RUN_WORDS = 4
# Plurals that no suffix rule gives. Regular forms (-s, -es, -ies, -ves) come from rules.
IRREGULAR_PLURALS: dict[str, str] = {
    "men": "man",
    "women": "woman",
    "children": "child",
    "people": "person",
    "feet": "foot",
    "teeth": "tooth",
    "mice": "mouse",
    "geese": "goose",
    "oxen": "ox",
}
_SIBILANT_PLURAL = re.compile(r"(?:ss|sh|ch|x|zz)es$")  # "glasses", "dishes", "watches", "boxes", "quizzes"
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
_WHITESPACE_OR_COMMA = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class KeywordMapping:
    """One vocabulary keyword chosen for a typed word, and how it was found."""

    word: str  # the typed word after tokenising; the words of a run are joined by spaces
    keyword: str  # a keyword of the model's vocabulary
    method: MappingMethod
    score: float | None = None  # cosine similarity for method "similarity", else None

    def describe(self) -> str:
        """Return the mapping as users see it: "kitten → cat (0.83)", "cats → cat (plural)"."""
        detail = f"{self.score:.2f}" if self.score is not None else self.method
        return f"{self.word} → {self.keyword} ({detail})"


@dataclass(frozen=True)
class WordMatch:
    """A typed word, or a run of words read as one, with the keywords it maps to."""

    text: str
    mappings: tuple[KeywordMapping, ...] = ()  # empty while the word is unknown


def squash(text: str) -> str:
    """Return `text` without spaces, hyphens or other separators: "medium-light skin tone" -> "mediumlightskintone"."""
    return _NOT_ALPHANUMERIC.sub("", text)


def singular_candidates(word: str) -> list[str]:
    """Return possible singular forms of `word`, most likely first, without checking any vocabulary.

    "puppies" -> ["puppy", "puppie"], "boxes" -> ["box", "boxe"], "cats" -> ["cat"].
    The caller accepts a candidate only when it is a vocabulary keyword, so a
    wrong guess such as "boxe" costs nothing.
    NOTE: the rules cannot tell a plural from a singular that ends in "s", so
    "news" gives "new". A vocabulary with "new" but not "news" maps one to the other.
    """
    candidates: list[str] = []
    if word in IRREGULAR_PLURALS:
        candidates.append(IRREGULAR_PLURALS[word])
    if word.endswith("ies") and len(word) > 4:
        candidates += [word[:-3] + "y", word[:-1]]  # "puppies" -> "puppy"; "cookies" -> "cookie"
    if word.endswith("ives"):
        candidates.append(word[:-3] + "fe")  # "knives" -> "knife"
    if word.endswith("ves"):
        candidates.append(word[:-3] + "f")  # "leaves" -> "leaf", "wolves" -> "wolf"
    if _SIBILANT_PLURAL.search(word):
        candidates.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        candidates.append(word[:-1])  # "cats" -> "cat", "horses" -> "horse"
    if word.endswith(("ses", "zes", "oes")) and len(word) > 4:
        candidates.append(word[:-2])  # "buses" -> "bus", "tomatoes" -> "tomato"
    return list(dict.fromkeys(candidate for candidate in candidates if candidate != word))


def synonyms_to_json(synonyms: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Return synonyms as a JSON object {variant: [keyword, ...]}, sorted by variant."""
    return {variant: list(synonyms[variant]) for variant in sorted(synonyms)}


def synonyms_from_json(data: Any) -> Synonyms:
    """Parse `synonyms_to_json` output; raise ValueError naming the first invalid entry."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"synonyms must be an object of variant -> list of keywords, got {type(data).__name__}")
    synonyms: Synonyms = {}
    for variant, keywords in data.items():
        if not isinstance(keywords, list) or not all(isinstance(keyword, str) for keyword in keywords):
            raise ValueError(f"synonym {variant!r} must map to a list of keyword strings, got {keywords!r}")
        synonyms[str(variant)] = tuple(keywords)
    return synonyms


def dropped_words(text: str) -> list[str]:
    """Return the parts of `text` that give no keyword and are not stop words, such as "🐱" or "кот".

    The tokenizer keeps only the letters a-z (after stripping accents) and
    digits, so words in other scripts and emoji vanish before matching starts.
    """
    dropped: list[str] = []
    for part in _WHITESPACE_OR_COMMA.split(text):
        if part and not tokenize_keywords(part) and normalize_text(part) not in STOP_WORDS and part not in dropped:
            dropped.append(part)
    return dropped


class KeywordMatcher:
    """Match typed words to a vocabulary by exact spelling, spacing, plural and synonyms.

    synonyms: variant -> keywords, from the dataset's synonyms file. Targets
        that are not in the vocabulary (dropped by min_count) are ignored.
    """

    def __init__(self, vocabulary: Vocabulary, synonyms: Mapping[str, Sequence[str]] | None = None):
        self.vocabulary = vocabulary
        self.synonyms: Synonyms = {variant: tuple(keywords) for variant, keywords in (synonyms or {}).items()}
        self._max_synonym_words = max((len(variant.split()) for variant in self.synonyms), default=1)
        # squashed form -> keyword. The vocabulary is ordered by count, so on a
        # clash ("ice-cream" and "icecream" are both "icecream") the more frequent keyword wins.
        self._by_squashed: dict[str, str] = {}
        for keyword in vocabulary.keywords:
            self._by_squashed.setdefault(squash(keyword), keyword)

    def match(self, words: Sequence[str]) -> list[WordMatch]:
        """Match tokenised words left to right; a word that stays unknown gets a WordMatch without mappings.

        Runs of several words are tried first, longest first, so "medium light
        skintone" is read as one keyword and not as "medium", "light", ... .
        """
        matches: list[WordMatch] = []
        position = 0
        while position < len(words):
            match, used = self._match_run(words, position)
            if match is None:
                match, used = self._match_word(words[position]), 1
            matches.append(match)
            position += used
        return matches

    def _match_run(self, words: Sequence[str], start: int) -> tuple[WordMatch | None, int]:
        """Match 2 or more words from `start` by spacing or as a multi-word synonym, longest run first."""
        longest = min(max(MAX_RUN_WORDS, self._max_synonym_words), len(words) - start)
        for length in range(longest, 1, -1):
            run = words[start : start + length]
            text = " ".join(run)
            # Runs of known words stay apart: "ice cream" with "ice" and "cream" in the
            # vocabulary keeps both, even when "icecream" is a keyword too.
            if length <= MAX_RUN_WORDS and any(word not in self.vocabulary for word in run):
                found = self._match_squashed(text)
                if found is not None:
                    return found, length
            found = self._match_synonym(text)
            if found is not None:
                return found, length
        return None, 0

    def _match_word(self, word: str) -> WordMatch:
        if word in self.vocabulary:
            return WordMatch(word, (KeywordMapping(word, word, "exact"),))
        for keyword in singular_candidates(word):
            if keyword in self.vocabulary:
                return WordMatch(word, (KeywordMapping(word, keyword, "plural"),))
        found = self._match_squashed(word) or self._match_synonym(word)
        return found if found is not None else WordMatch(word)

    def _match_squashed(self, text: str) -> WordMatch | None:
        """Match text whose squashed form, or a singular of it, is a keyword's squashed form."""
        squashed = squash(text)
        keyword = self._by_squashed.get(squashed)
        if keyword is not None and keyword != text:
            return WordMatch(text, (KeywordMapping(text, keyword, "spacing"),))
        for candidate in singular_candidates(squashed):
            keyword = self._by_squashed.get(candidate)
            if keyword is not None:
                return WordMatch(text, (KeywordMapping(text, keyword, "plural"),))
        return None

    def _match_synonym(self, text: str) -> WordMatch | None:
        """Match text, or for one word also its singular, to the vocabulary keywords of a synonym."""
        forms = [text] if " " in text else [text, *singular_candidates(text)]
        for form in forms:
            keywords = [keyword for keyword in self.synonyms.get(form, ()) if keyword in self.vocabulary]
            if keywords:
                return WordMatch(text, tuple(KeywordMapping(text, keyword, "synonym") for keyword in keywords))
        return None
