"""Generate design ideas from keywords with an exported model.

    from designgan import load_model
    model = load_model()                        # the built-in OpenMoji model
    images = model.generate(["cat", "heart"], n=8, seed=0)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Sequence

import torch
from PIL import Image

from . import text_embedding
from .data.keyword_mapping import KeywordMapping, KeywordMatcher, WordMatch, dropped_words
from .data.keywords import tokenize_keywords
from .data.vocabulary import Vocabulary
from .export import WEIGHTS_NAME, ModelFileError, ModelFiles, read_model_files
from .images import float_to_uint8
from .models import Generator

MAX_SEED = 2**63 - 1
MAX_IDEAS = 1024


class KeywordError(ValueError):
    """None of the requested keywords is known to the model."""


@dataclass
class KeywordResolution:
    """The mapping of the words a user typed onto the model's vocabulary."""

    requested: list[str]  # keywords after tokenising the user's text
    known: list[str]  # vocabulary keywords to draw, typed or mapped, in request order
    unknown: dict[str, list[str]] = field(default_factory=dict)  # word -> closest known keywords by spelling
    mappings: list[KeywordMapping] = field(default_factory=list)  # words replaced by a keyword, and how
    dropped: list[str] = field(default_factory=list)  # text the tokenizer removed, such as emoji or other scripts
    similarity_hint: str = ""  # why matching by meaning did not run, when it could have helped

    @classmethod
    def from_matches(cls, requested: list[str], matches: Sequence[WordMatch], vocabulary: Vocabulary,
                     dropped: list[str], similarity_hint: str = "") -> KeywordResolution:
        """Collect the keywords of matched words in order; words without a match become unknown."""
        resolution = cls(requested, [], dropped=dropped)
        for match in matches:
            if not match.mappings:
                resolution.unknown[match.text] = vocabulary.suggest(match.text)
            for mapping in match.mappings:
                if mapping.method != "exact":
                    resolution.mappings.append(mapping)
                if mapping.keyword not in resolution.known:
                    resolution.known.append(mapping.keyword)
        resolution.similarity_hint = similarity_hint if resolution.unknown else ""
        return resolution

    def describe_mappings(self) -> list[str]:
        """Return one line per mapping: "kitten → cat (0.83)", "cats → cat (plural)", "kitty → cat (synonym)"."""
        return [mapping.describe() for mapping in self.mappings]

    def describe_unknown(self) -> list[str]:
        lines = []
        for word, close in self.unknown.items():
            hint = f"; closest known: {', '.join(close)}" if close else "; no close match"
            lines.append(f"unknown keyword {word!r} ignored{hint}")
        for text in self.dropped:
            lines.append(f"{text!r} ignored: keywords are read from the letters a-z and digits only")
        if self.similarity_hint:
            lines.append(self.similarity_hint)
        return lines


@dataclass
class Idea:
    """One generated design and the recipe that reproduces it exactly."""

    image: Image.Image
    recipe: dict[str, Any]


def builtin_model_path() -> Path:
    return Path(str(files("designgan") / "builtin"))


def load_model(path: str | Path | None = None, device: str = "cpu",
               similarity_threshold: float | None = text_embedding.DEFAULT_SIMILARITY_THRESHOLD) -> "DesignModel":
    """Load an exported model folder; with no path, the built-in OpenMoji model.

    similarity_threshold: minimum cosine similarity (-1..1) at which an unknown
        word maps to a keyword by meaning; None turns matching by meaning off.
    """
    model_files = read_model_files(path if path is not None else builtin_model_path())
    return DesignModel(model_files, device=device, similarity_threshold=similarity_threshold)


class DesignModel:
    """An exported generator with its vocabulary, ready to draw ideas."""

    def __init__(self, model_files: ModelFiles, device: str = "cpu",
                 similarity_threshold: float | None = text_embedding.DEFAULT_SIMILARITY_THRESHOLD):
        if similarity_threshold is not None and not -1.0 <= similarity_threshold <= 1.0:
            raise ValueError(f"similarity_threshold={similarity_threshold} is out of range; use -1..1, or None to turn it off.")
        self.files = model_files
        self.config = model_files.model_config
        self.vocabulary = model_files.vocabulary
        self.similarity_threshold = similarity_threshold
        self.keyword_matcher = KeywordMatcher(self.vocabulary, model_files.synonyms) if self.vocabulary is not None else None
        self._similarity: text_embedding.KeywordSimilarity | None = None  # built on the first unknown word
        self._similarity_lock = threading.Lock()
        self.device = torch.device(device)
        self.generator = Generator(self.config)
        try:
            self.generator.load_state_dict(model_files.state_dict)
        except RuntimeError as error:
            raise ModelFileError(
                f"{model_files.path / WEIGHTS_NAME} does not match the architecture in its config.json "
                f"({str(error).splitlines()[0]}); export the model again."
            ) from error
        self.generator.to(self.device).eval().requires_grad_(False)

    @property
    def path(self) -> Path:
        return self.files.path

    @property
    def model_id(self) -> str:
        """A short identifier of the weights: the first 16 hex digits of their SHA-256."""
        return self.files.sha256[:16]

    @property
    def resolution_px(self) -> int:
        return self.config.resolution_px

    def resolve_keywords(self, keywords: str | Sequence[str]) -> KeywordResolution:
        """Tokenise the user's text (or each item of a list) and map the words onto the vocabulary.

        Words outside the vocabulary are mapped by spacing, plural and the
        dataset's synonyms (`KeywordMatcher`), then by meaning when the
        designgan[text] extra is installed. The words left over are unknown.
        """
        texts = [keywords] if isinstance(keywords, str) else list(keywords)
        requested: list[str] = []
        dropped: list[str] = []
        for text in texts:
            for keyword in tokenize_keywords(str(text)):
                if keyword not in requested:
                    requested.append(keyword)
            dropped += [part for part in dropped_words(str(text)) if part not in dropped]
        if self.vocabulary is None or self.keyword_matcher is None:
            return KeywordResolution(requested, [], {}, dropped=dropped)

        matches = self.keyword_matcher.match(requested)
        similarity_hint = ""
        if self.similarity_threshold is not None and any(not match.mappings for match in matches):
            try:
                matches = self._keyword_similarity().match_unknown(matches, self.similarity_threshold)
            except text_embedding.TextEncoderMissing:
                similarity_hint = text_embedding.MISSING_EXTRA_HINT
        return KeywordResolution.from_matches(requested, matches, self.vocabulary, dropped, similarity_hint)

    def _keyword_similarity(self) -> text_embedding.KeywordSimilarity:
        with self._similarity_lock:
            if self._similarity is None:
                self._similarity = text_embedding.KeywordSimilarity.for_model(self.path, self.vocabulary)
            return self._similarity

    def keyword_vector(self, known: Sequence[str]) -> torch.Tensor | None:
        """Return the multi-hot condition (1, K) for known keywords, or None if unconditional."""
        if self.vocabulary is None:
            return None
        return torch.from_numpy(self.vocabulary.encode(list(known)))[None].to(self.device)

    def latent(self, seed: int, truncation: float = 1.0) -> torch.Tensor:
        """Return the noise vector (latent_dim,) of one seed, scaled toward the mean by
        `truncation` (1 = the full prior, 0 = the average design for the keywords)."""
        _check_seed(seed)
        _check_truncation(truncation)
        rng = torch.Generator().manual_seed(seed)
        return torch.randn(self.config.latent_dim, generator=rng) * truncation

    @torch.no_grad()
    def render(self, z: torch.Tensor, keywords: torch.Tensor | None) -> list[Image.Image]:
        """Draw images for noise (B, latent_dim) and conditions (B, K) or (1, K).

        Each image is drawn alone (batch of one): the eval-mode generator makes every
        image independent of its neighbours, and a fixed batch shape keeps the pixels
        bit-identical however many ideas are requested at once.
        """
        images = []
        for i in range(len(z)):
            condition = None if keywords is None else keywords[min(i, len(keywords) - 1)][None]
            output = self.generator(z[i][None].to(self.device), condition)
            images.append(Image.fromarray(float_to_uint8(output)[0]))
        return images

    def generate_ideas(self, keywords: str | Sequence[str], n: int = 16, seed: int = 0,
                       truncation: float = 1.0, context: bool = True) -> tuple[list[Idea], KeywordResolution]:
        """Draw `n` ideas; idea i uses seed + i and carries its recipe.

        context: complete the known keywords of each idea to the keyword set of a real
            training design drawn from the idea's seed (`designgan.keyword_context`).
            The recipe's "keywords" then lists the whole set the idea was drawn with.
            Models exported without keyword_sets.json generate from the keywords alone.
        """
        if not 1 <= n <= MAX_IDEAS:
            raise ValueError(f"n={n} is out of range; ask for 1..{MAX_IDEAS} ideas.")
        _check_seed(seed)
        _check_truncation(truncation)
        if not isinstance(context, bool):
            raise TypeError(f"context={context!r} is invalid; pass True or False.")
        resolution = self.resolve_keywords(keywords)
        if self.vocabulary is not None and not resolution.known:
            requested_text = ", ".join(repr(k) for k in resolution.requested) or "nothing"
            details = "; ".join(resolution.describe_unknown())
            raise KeywordError(
                f"none of the keywords is known to this model (requested: {requested_text}){': ' + details if details else ''}. "
                "Run `designgan keywords` to list the vocabulary."
            )

        if seed + n - 1 > MAX_SEED:
            raise ValueError(f"seed={seed} with n={n} runs past the largest seed {MAX_SEED} (idea i uses seed + i); "
                             f"use a seed of at most {MAX_SEED - n + 1}.")
        seeds = [seed + i for i in range(n)]
        z = torch.stack([self.latent(s, truncation) for s in seeds])
        idea_keywords = [self.idea_keywords(resolution.known, s, context) for s in seeds]
        conditions = None
        if self.vocabulary is not None:
            conditions = torch.cat([self.keyword_vector(known) for known in idea_keywords])  # (n, K)
        images = self.render(z, conditions)
        ideas = [Idea(image, self.recipe(known, s, truncation, requested=resolution.known))
                 for image, known, s in zip(images, idea_keywords, seeds)]
        return ideas, resolution

    def context_covers(self, known: Sequence[str]) -> bool:
        """Return whether a training design carries all of `known`; True without keyword sets."""
        if self.files.keyword_sets is None or self.vocabulary is None or not known:
            return True
        return self.files.keyword_sets.covers(self.vocabulary.encode(list(known)))

    def idea_keywords(self, known: Sequence[str], seed: int, context: bool = True) -> list[str]:
        """Return the keywords one idea is drawn with: `known`, completed to a real
        keyword set drawn from `seed` when `context` is on and the model has its sets."""
        if not context or self.files.keyword_sets is None or self.vocabulary is None:
            return list(known)
        completed = self.files.keyword_sets.complete(self.vocabulary.encode(list(known)), seed)
        extra = [keyword for keyword in self.vocabulary.decode(completed) if keyword not in known]
        return list(known) + extra

    def generate(self, keywords: str | Sequence[str], n: int = 16, seed: int = 0,
                 truncation: float = 1.0, context: bool = True) -> list[Image.Image]:
        """Return `n` PIL images for the keywords; the same arguments give the same images."""
        ideas, _ = self.generate_ideas(keywords, n=n, seed=seed, truncation=truncation, context=context)
        return [idea.image for idea in ideas]

    def recipe(self, known: Sequence[str], seed: int, truncation: float,
               requested: Sequence[str] | None = None) -> dict[str, Any]:
        """Return the fields that reproduce an idea. `requested` are the user's known
        keywords, stored when keyword context added others to `known`."""
        recipe = {
            "designgan_recipe": 1,
            "model": str(self.path),
            "model_sha256": self.files.sha256,
            "keywords": list(known),
            "seed": seed,
            "truncation": truncation,
            "resolution_px": self.resolution_px,
        }
        if requested is not None and list(requested) != list(known):
            recipe["requested_keywords"] = list(requested)
        return recipe


def _check_seed(seed: int) -> None:
    if not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed={seed!r} is out of range; use an integer in 0..{MAX_SEED}.")


def _check_truncation(truncation: float) -> None:
    if not 0.0 <= truncation <= 1.0:
        raise ValueError(f"truncation={truncation} is out of range; use a value in 0..1 (1 = no truncation).")
