"""Keyword tokenizer and vocabulary."""

import numpy as np
import pytest

from designgan.data import Vocabulary, normalize_text, tokenize_keywords


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("grinning face", ["grinning", "face"]),
        ("woman: dark skin tone", ["woman", "dark skin tone"]),
        ("man: medium-light skin tone, red hair", ["man", "medium-light skin tone", "red hair"]),
        ("flag: Germany", ["flag", "germany"]),
        ("flag: Côte d’Ivoire", ["flag", "cote", "divoire"]),
        ("man’s shoe", ["man", "shoe"]),
        ("Japanese “here” button", ["japanese", "here", "button"]),
        ("keycap: #", ["keycap"]),
    ],
)
def test_tokenize_emoji_names(text, expected):
    assert tokenize_keywords(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Smileys & Emotion", ["smileys", "emotion"]),
        ("Animals & Nature", ["animals", "nature"]),
        ("animal-mammal", ["animal", "mammal"]),
        ("sky & weather", ["sky", "weather"]),
        ("skin-tone", ["skin", "tone"]),
    ],
)
def test_tokenize_groups_and_subgroups(text, expected):
    assert tokenize_keywords(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smiling cat face", ["smiling", "cat", "face"]),
        ("Smiling CAT face!", ["smiling", "cat", "face"]),
        ("woman dark skin tone", ["woman", "dark skin tone"]),
        ("woman, medium light skin tone", ["woman", "medium-light skin tone"]),
        ("woman medium-dark skin-tone", ["woman", "medium-dark skin tone"]),
        ("person with curly hair", ["person", "curly hair"]),
        ("a cat and a dog in the rain", ["cat", "dog", "rain"]),
        ("cat cat face cat", ["cat", "face"]),
        ("", []),
    ],
)
def test_tokenize_user_text(text, expected):
    assert tokenize_keywords(text) == expected


def test_tokenize_extra_stop_words():
    assert tokenize_keywords("red heart emoji", extra_stop_words=["Emoji"]) == ["red", "heart"]


def test_term_suffix_not_matched():
    assert "light skin tone" not in tokenize_keywords("medium-light skin tone")


def test_normalize_text_keeps_term_hyphens_only():
    assert normalize_text("Animal-Mammal: MEDIUM light skin tone") == "animal mammal medium-light skin tone"


def test_normalize_text_strips_accents():
    assert normalize_text("Piñata Curaçao Åland") == "pinata curacao aland"


def _vocabulary() -> Vocabulary:
    designs = [["cat", "face"], ["dog", "face"], ["cat", "face", "cat"], ["bird"]]
    return Vocabulary.build(designs, min_count=2)


def test_vocabulary_min_count():
    assert _vocabulary().keywords == ("face", "cat")


def test_vocabulary_counts_designs_not_repeats():
    assert _vocabulary().counts == (3, 2)


def test_vocabulary_ties_sorted_alphabetically():
    vocabulary = Vocabulary.build([["zebra", "ant", "moth"]], min_count=1)
    assert vocabulary.keywords == ("ant", "moth", "zebra")


def test_vocabulary_encode_decode():
    vocabulary = _vocabulary()
    multi_hot = vocabulary.encode(["cat"])
    assert multi_hot.dtype == np.float32
    assert multi_hot.tolist() == [0.0, 1.0]
    assert vocabulary.decode(multi_hot) == ["cat"]


def test_vocabulary_unknown_keyword_suggests():
    with pytest.raises(KeyError, match="Did you mean: cat"):
        _vocabulary().index("cta")


def test_vocabulary_contains_and_len():
    vocabulary = _vocabulary()
    assert "cat" in vocabulary
    assert "dog" not in vocabulary
    assert len(vocabulary) == 2


def test_vocabulary_dict_round_trip():
    vocabulary = _vocabulary()
    assert Vocabulary.from_dict(vocabulary.to_dict()) == vocabulary


def test_vocabulary_rejects_duplicates():
    with pytest.raises(ValueError, match="must be unique"):
        Vocabulary(keywords=("cat", "cat"), counts=(1, 1))
