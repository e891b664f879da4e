"""Generate design ideas from keywords with an exported model.

    from designgan import load_model
    model = load_model()                        # the built-in OpenMoji model
    images = model.generate(["cat", "heart"], n=8, seed=0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Sequence

import torch
from PIL import Image

from .data.keywords import tokenize_keywords
from .export import WEIGHTS_NAME, ModelFileError, ModelFiles, read_model_files
from .images import float_to_uint8
from .models import Generator

MAX_SEED = 2**63 - 1
MAX_IDEAS = 1024


class KeywordError(ValueError):
    """None of the requested keywords is known to the model."""


@dataclass
class KeywordResolution:
    """How the words a user typed map onto the model's vocabulary."""

    requested: list[str]  # keywords after tokenising the user's text
    known: list[str]  # the ones the model was trained on, in request order
    unknown: dict[str, list[str]] = field(default_factory=dict)  # word -> closest known keywords by spelling

    def describe_unknown(self) -> list[str]:
        lines = []
        for word, close in self.unknown.items():
            hint = f"; closest known: {', '.join(close)}" if close else "; no close match"
            lines.append(f"unknown keyword {word!r} ignored{hint}")
        return lines


@dataclass
class Idea:
    """One generated design and the recipe that reproduces it exactly."""

    image: Image.Image
    recipe: dict[str, Any]


def builtin_model_path() -> Path:
    return Path(str(files("designgan") / "builtin"))


def load_model(path: str | Path | None = None, device: str = "cpu") -> "DesignModel":
    """Load an exported model folder; with no path, the built-in OpenMoji model."""
    return DesignModel(read_model_files(path if path is not None else builtin_model_path()), device=device)


class DesignModel:
    """An exported generator with its vocabulary, ready to draw ideas."""

    def __init__(self, model_files: ModelFiles, device: str = "cpu"):
        self.files = model_files
        self.config = model_files.model_config
        self.vocabulary = model_files.vocabulary
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
        """Tokenise the user's text (or each item of a list) and split known from unknown words."""
        texts = [keywords] if isinstance(keywords, str) else list(keywords)
        requested: list[str] = []
        for text in texts:
            for keyword in tokenize_keywords(str(text)):
                if keyword not in requested:
                    requested.append(keyword)
        if self.vocabulary is None:
            return KeywordResolution(requested, [], {})
        known = [k for k in requested if k in self.vocabulary]
        unknown = {k: self.vocabulary.suggest(k) for k in requested if k not in self.vocabulary}
        return KeywordResolution(requested, known, unknown)

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
                       truncation: float = 1.0) -> tuple[list[Idea], KeywordResolution]:
        """Draw `n` ideas; idea i uses seed (seed + i) mod 2**63 and carries its recipe."""
        if not 1 <= n <= MAX_IDEAS:
            raise ValueError(f"n={n} is out of range; ask for 1..{MAX_IDEAS} ideas.")
        _check_seed(seed)
        _check_truncation(truncation)
        resolution = self.resolve_keywords(keywords)
        if self.vocabulary is not None and not resolution.known:
            asked = ", ".join(repr(k) for k in resolution.requested) or "nothing"
            details = "; ".join(resolution.describe_unknown())
            raise KeywordError(
                f"none of the keywords is known to this model (asked for {asked}){': ' + details if details else ''}. "
                "Run `designgan keywords` to list the vocabulary."
            )

        seeds = [(seed + i) % (MAX_SEED + 1) for i in range(n)]
        z = torch.stack([self.latent(s, truncation) for s in seeds])
        images = self.render(z, self.keyword_vector(resolution.known))
        ideas = [Idea(image, self.recipe(resolution.known, s, truncation)) for image, s in zip(images, seeds)]
        return ideas, resolution

    def generate(self, keywords: str | Sequence[str], n: int = 16, seed: int = 0,
                 truncation: float = 1.0) -> list[Image.Image]:
        """Return `n` PIL images for the keywords; the same arguments give the same images."""
        ideas, _ = self.generate_ideas(keywords, n=n, seed=seed, truncation=truncation)
        return [idea.image for idea in ideas]

    def recipe(self, known: Sequence[str], seed: int, truncation: float) -> dict[str, Any]:
        return {
            "designgan_recipe": 1,
            "model": str(self.path),
            "model_sha256": self.files.sha256,
            "keywords": list(known),
            "seed": seed,
            "truncation": truncation,
            "resolution_px": self.resolution_px,
        }


def _check_seed(seed: int) -> None:
    if not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed={seed!r} is out of range; use an integer in 0..{MAX_SEED}.")


def _check_truncation(truncation: float) -> None:
    if not 0.0 <= truncation <= 1.0:
        raise ValueError(f"truncation={truncation} is out of range; use a value in 0..1 (1 = no truncation).")
