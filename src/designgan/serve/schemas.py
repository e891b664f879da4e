"""Request and response bodies of the HTTP API, with the bounds every request is checked against.

Requests are parsed in strict mode: a JSON string is not accepted where a number
is expected ("5" for n), and a boolean is not a number. Unknown fields are
rejected, so a misspelt field ("seeds") fails instead of being ignored.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints,
                      ValidationInfo, field_validator)

from ..pipeline import MAX_SEED

MAX_IDEAS_PER_REQUEST = 64  # a request for 64 ideas of 64 px takes about 1.5 s on 2 CPU cores
MAX_KEYWORDS = 16
MAX_KEYWORD_CHARS = 64
RANDOM_SEED = -1  # the seed value that requests a random seed, picked by the server

# The allowed values of each field, as 422 responses name them.
ALLOWED_VALUES: dict[str, str] = {
    "n": f"an integer in 1..{MAX_IDEAS_PER_REQUEST}",
    "seed": f"an integer in 0..{MAX_SEED} (2^63-1), or {RANDOM_SEED} for a random seed",
    "truncation": "a number in 0..1 (1 = no truncation)",
    "keywords": f"a list of at most {MAX_KEYWORDS} strings of at most {MAX_KEYWORD_CHARS} characters each",
    "prefix": f"a string of at most {MAX_KEYWORD_CHARS} characters",
    "limit": "an integer in 1..10000",
}


def _nfc(value: Any) -> Any:
    """Normalise a string to Unicode NFC, so that "é" typed as e + U+0301 equals the one-character "é"."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _no_control_characters(value: str) -> str:
    # Control characters (newlines, NUL, escapes) have no place in a keyword; rejecting
    # them also keeps them out of every log line and error message.
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValueError("contains a control character such as a newline or NUL")
    return value


# Pydantic runs a BeforeValidator ahead of the string checks listed before it, so the
# length limit applies to the NFC form: "é" counts as one character however it was typed.
Keyword = Annotated[
    str,
    StringConstraints(max_length=MAX_KEYWORD_CHARS),
    BeforeValidator(_nfc),
    AfterValidator(_no_control_characters),
]
KeywordList = Annotated[list[Keyword], Field(max_length=MAX_KEYWORDS)]
Seed = Annotated[int, Field(ge=RANDOM_SEED, le=MAX_SEED)]
Truncation = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]

STRICT_REQUEST = ConfigDict(strict=True, extra="forbid")


class GenerateRequest(BaseModel):
    """Draw n ideas for keywords; idea i uses seed + i."""

    model_config = STRICT_REQUEST

    keywords: KeywordList = Field(
        default_factory=list,
        description="Words or phrases to draw, e.g. [\"smiling cat\", \"red\"]. Unknown words are named in the "
                    "response and skipped. Ignored by an unconditional model.",
        examples=[["smiling cat face"]],
    )
    n: int = Field(8, ge=1, le=MAX_IDEAS_PER_REQUEST, description="Number of ideas.")
    seed: Seed = Field(RANDOM_SEED, description=f"Seed of the first idea; {RANDOM_SEED} picks a random one, returned in the response.")
    truncation: Truncation = Field(1.0, description="Pull the noise toward the average design: 1 = none, 0 = fully.")
    context: bool = Field(True, description="Complete the keywords of each idea with the keyword set of a real "
                                            "training design that shares them, drawn from the idea's seed; the "
                                            "recipe lists the whole set. false: the keywords alone.")

    @field_validator("seed")
    @classmethod
    def _seed_range_fits_n(cls, seed: int, info: ValidationInfo) -> int:
        n = info.data.get("n")  # absent when n itself is invalid
        if n is not None and seed != RANDOM_SEED and seed + n - 1 > MAX_SEED:
            raise ValueError(f"seed {seed} with n={n} runs past the largest seed {MAX_SEED}, "
                             f"because idea i uses seed + i; use a seed of at most {MAX_SEED - n + 1}")
        return seed


class KeywordMappingOut(BaseModel):
    """A typed word replaced by a vocabulary keyword, and how the match was found."""

    word: str
    keyword: str
    method: Literal["exact", "spacing", "plural", "synonym", "similarity"]
    score: float | None = Field(None, description="Cosine similarity for method \"similarity\", else null.")


class KeywordResolutionOut(BaseModel):
    """The reading of the typed words: the keywords drawn, the words mapped, unknown and dropped."""

    requested: list[str] = Field(description="Words after tokenising: lowercase ASCII, stop words removed.")
    known: list[str] = Field(description="Vocabulary keywords drawn, in request order.")
    mappings: list[KeywordMappingOut]
    unknown: dict[str, list[str]] = Field(description="Unknown word -> closest known keywords by spelling.")
    dropped: list[str] = Field(description="Text the tokenizer removed, such as emoji or other scripts.")
    notes: list[str] = Field(description="One human-readable line per mapping, unknown word and dropped text.")


class IdeaOut(BaseModel):
    """One generated image and the recipe that reproduces it."""

    image_png_base64: str = Field(description="PNG file, base64-encoded; its designgan-recipe text chunk holds the recipe.")
    recipe: dict[str, Any]


class GenerateResponse(BaseModel):
    model_id: str = Field(description="First 16 hex digits of the SHA-256 of the model's weights.")
    seed: int = Field(description="Seed of the first idea, also when the request asked for a random one.")
    keywords: KeywordResolutionOut
    ideas: list[IdeaOut]


class KeywordCount(BaseModel):
    keyword: str
    count: int = Field(description="Number of training designs tagged with the keyword.")


class KeywordsResponse(BaseModel):
    total: int = Field(description="Keywords that match the prefix, before the limit.")
    keywords: list[KeywordCount] = Field(description="Matches, most-used first.")


class ModelResponse(BaseModel):
    model_id: str
    sha256: str = Field(description="SHA-256 of model.safetensors.")
    name: str = Field(description="Name of the model folder; \"builtin\" for the built-in OpenMoji model.")
    resolution_px: int
    conditional: bool
    num_keywords: int
    latent_dim: int
    training: dict[str, Any] = Field(description="Training summary from the model's config.json: steps, images seen, loss, data source.")
    card_markdown: str | None = Field(description="MODEL_CARD.md of the model folder, if it has one.")


class HealthResponse(BaseModel):
    status: Literal["ok"]


class QueueState(BaseModel):
    running: int
    waiting: int
    max_waiting: int


class ReadyResponse(BaseModel):
    status: Literal["ready", "starting"]
    model_id: str
    queue: QueueState


class ErrorResponse(BaseModel):
    """A request that failed as a whole: too large, server busy, not found."""

    detail: str


class FieldError(BaseModel):
    """One invalid field of a request."""

    loc: list[str | int] = Field(description="Path of the field, e.g. [\"body\", \"n\"].")
    msg: str
    type: str
    allowed: str | None = Field(None, description="The values the field accepts.")


class ValidationErrorResponse(BaseModel):
    detail: list[FieldError]
