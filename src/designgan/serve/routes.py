"""Routes for generation, the vocabulary, the model card and health checks."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ..data.keywords import normalize_text
from ..pipeline import MAX_SEED
from .context import ServeContext
from .convert import idea_out, resolution_out
from .schemas import (
    MAX_KEYWORD_CHARS,
    RANDOM_SEED,
    ErrorResponse,
    GenerateRequest,
    GenerateResponse,
    HealthResponse,
    KeywordCount,
    KeywordsResponse,
    ModelResponse,
    QueueState,
    ReadyResponse,
    ValidationErrorResponse,
)

MODEL_CARD_NAME = "MODEL_CARD.md"
MAX_CARD_BYTES = 256 * 1024  # a model card longer than this is cut, so /v1/model stays small

# Error responses of every route that runs the generator, for the OpenAPI document.
INFERENCE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body cannot be parsed at all, for example because it is not UTF-8."},
    413: {"model": ErrorResponse, "description": "The request body is over the size limit."},
    422: {"model": ValidationErrorResponse, "description": "A field is invalid; the error names it and its allowed values."},
    503: {"model": ErrorResponse, "description": "The inference queue is full; retry after the Retry-After header's seconds."},
}
QUERY_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationErrorResponse, "description": "A query parameter is invalid."},
}


def random_seed(n: int) -> int:
    """Return a seed in 0..MAX_SEED - n + 1, so that the seeds of all n ideas stay in range."""
    return secrets.randbelow(MAX_SEED - n + 2)


def generation_router(context: ServeContext) -> APIRouter:
    router = APIRouter(tags=["generation"])

    @router.post("/v1/generate", response_model=GenerateResponse, responses=INFERENCE_ERRORS, summary="Generate ideas")
    async def generate(request: GenerateRequest) -> GenerateResponse:
        """Draw n ideas for the keywords, each with the recipe that reproduces it.

        The response also lists how the typed words were read: which were mapped to
        a vocabulary keyword (plural, synonym, spacing, meaning), which are unknown
        (with the closest known keywords) and what text was dropped.
        """
        seed = random_seed(request.n) if request.seed == RANDOM_SEED else request.seed

        def job() -> GenerateResponse:
            ideas, resolution = context.model.generate_ideas(request.keywords, n=request.n, seed=seed,
                                                             truncation=request.truncation, context=request.context)
            return GenerateResponse(
                model_id=context.model.model_id,
                seed=seed,
                keywords=resolution_out(resolution),
                ideas=[idea_out(idea.image, idea.recipe, context.model_name) for idea in ideas],
            )

        return await context.infer(job)

    return router


def keywords_in_order(context: ServeContext, prefix: str) -> list[KeywordCount]:
    """Return the keywords of the vocabulary that match `prefix`, most-used first.

    A keyword matches when it or one of its words starts with the prefix, so "sk"
    finds "dark skin tone". Keywords that start with the prefix come first.
    """
    vocabulary = context.model.vocabulary
    if vocabulary is None:
        return []
    # The prefix is read like typed keywords: lowercase ASCII, accents and punctuation folded.
    needle = normalize_text(prefix)
    matches = []
    for keyword, count in zip(vocabulary.keywords, vocabulary.counts):
        if keyword.startswith(needle) or any(word.startswith(needle) for word in keyword.split()):
            matches.append((not keyword.startswith(needle), -count, keyword))
    return [KeywordCount(keyword=keyword, count=-negative_count) for _, negative_count, keyword in sorted(matches)]


def training_summary(config: dict[str, Any]) -> dict[str, Any]:
    """Pick the training facts a client may want from config.json's recipe.

    A dataset file's path is reduced to its file name, because the full path
    describes the server's disk, not the model.
    """
    recipe = config.get("recipe") or {}
    train = recipe.get("train") or {}
    data = recipe.get("data") or {}
    render = data.get("render") or {}
    source = data.get("source")
    return {
        "steps": recipe.get("steps"),
        "images_seen": recipe.get("images_seen"),
        "training_seconds": recipe.get("training_seconds"),
        "loss": train.get("loss"),
        "data_source": Path(source).name if isinstance(source, str) else None,
        "data_images": data.get("images"),
        "data_license": render.get("source_license"),
        "data_attribution": render.get("source_attribution"),
    }


def read_model_card(folder: Path) -> str | None:
    path = folder / MODEL_CARD_NAME
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        return handle.read(MAX_CARD_BYTES).decode("utf-8", errors="replace")


def catalog_router(context: ServeContext) -> APIRouter:
    router = APIRouter(tags=["model"])
    card = read_model_card(context.model.path)  # read once: the model folder does not change while serving

    @router.get("/v1/keywords", response_model=KeywordsResponse, responses=QUERY_ERRORS, summary="List keywords")
    async def keywords(
        prefix: Annotated[str, Query(max_length=MAX_KEYWORD_CHARS,
                                     description="Return only keywords that start with this text, or have a word that does.")] = "",
        limit: Annotated[int, Query(ge=1, le=10_000, description="Maximum number of keywords returned.")] = 10_000,
    ) -> KeywordsResponse:
        """List the model's keywords with the number of training designs for each; with a prefix, for autocomplete."""
        matches = keywords_in_order(context, prefix)
        return KeywordsResponse(total=len(matches), keywords=matches[:limit])

    @router.get("/v1/model", response_model=ModelResponse, summary="Describe the model")
    async def model_card() -> ModelResponse:
        """Describe the model: its weights' hash, image size, vocabulary size, training and model card."""
        model = context.model
        return ModelResponse(
            model_id=model.model_id,
            sha256=model.files.sha256,
            name=context.model_name,
            resolution_px=model.resolution_px,
            conditional=model.vocabulary is not None,
            num_keywords=len(model.vocabulary) if model.vocabulary is not None else 0,
            latent_dim=model.config.latent_dim,
            training=training_summary(model.files.config),
            card_markdown=card,
        )

    return router


def health_router(context: ServeContext) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=HealthResponse, summary="Liveness")
    async def healthz() -> HealthResponse:
        """Liveness: 200 while the server process handles requests."""
        return HealthResponse(status="ok")

    @router.get("/readyz", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}}, summary="Readiness")
    async def readyz() -> Any:
        """Readiness: 200 once the model has drawn its warm-up image, 503 before."""
        snapshot = context.queue.snapshot()
        body = ReadyResponse(
            status="ready" if context.ready else "starting",
            model_id=context.model.model_id,
            queue=QueueState(running=snapshot.running, waiting=snapshot.waiting, max_waiting=snapshot.max_waiting),
        )
        return JSONResponse(body.model_dump(), status_code=200 if context.ready else 503)

    return router
