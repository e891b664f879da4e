"""Routes for controllable generation: variations, edit, morph, blend and the list of directions.

Each route calls the `designgan.control` function that the CLI command of the
same name calls. Gradient-guided edits are not served, because their classifier
may first have to be trained on the dataset, which takes minutes.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

from fastapi import APIRouter

from ..control import (
    BlendConfig,
    DirectionSet,
    EditConfig,
    IdeaSpec,
    MorphConfig,
    Strip,
    VariationConfig,
    blend,
    edit,
    find_directions,
    morph,
    resolve_known_keywords,
    sefa_directions,
    variations,
)
from ..control.direction_store import RELIABLE_ACCURACY
from ..pipeline import MAX_SEED, KeywordError
from .context import RequestValueError, ServeContext
from .control_schemas import (
    BlendRequest,
    DirectionsResponse,
    EditRequest,
    IdeaIn,
    KeywordDirection,
    MorphRequest,
    SefaDirection,
    StripResponse,
    VariationsRequest,
)
from .convert import idea_out, png_base64, public_recipe
from .routes import INFERENCE_ERRORS
from .schemas import RANDOM_SEED

logger = logging.getLogger(__name__)

SEFA_LISTED = 8  # SeFa directions listed by /v1/directions; later ones change the design little
KEYWORD_METHODS = ("direction", "direction-projected")


def known_keywords(context: ServeContext, keywords: Sequence[str], field: str) -> tuple[str, ...]:
    """Resolve typed keywords as the control commands do, rejecting unknown words with 422 on `field`."""
    try:
        return tuple(resolve_known_keywords(context.model, list(keywords), option=field).known)
    except KeywordError as error:
        raise RequestValueError(field, str(error), "keyword_error") from error


def idea_spec(context: ServeContext, idea: IdeaIn, field: str) -> IdeaSpec:
    return IdeaSpec(known_keywords(context, idea.keywords, f"{field}.keywords"), idea.seed, idea.truncation)


def strip_out(context: ServeContext, strip: Strip) -> StripResponse:
    """Encode a strip: the tiled PNG with the strip recipe, and each frame with the recipe plus its index."""
    recipe = public_recipe(strip.recipe, context.model_name)
    frames = [idea_out(frame, {**recipe, "frame": index}, context.model_name)
              for index, frame in enumerate(strip.frames)]
    strip_png = png_base64(strip.image(), recipe)
    return StripResponse(model_id=context.model.model_id, recipe=recipe, strip_png_base64=strip_png, frames=frames)


def control_router(context: ServeContext) -> APIRouter:
    router = APIRouter(tags=["control"])
    # Saved keyword directions are looked up once: computing them takes minutes and
    # is done offline with `designgan directions`. SeFa directions come from the weights.
    directions: DirectionSet | None = find_directions(context.model)
    _, sefa_eigenvalues = sefa_directions(context.model)
    sefa_total = float(sefa_eigenvalues.sum()) or 1.0
    if directions is None:
        logger.info("No keyword directions found for model %s; /v1/edit offers method sefa only",
                    context.model_name)

    @router.post("/v1/variations", response_model=StripResponse, responses=INFERENCE_ERRORS, summary="Draw variations")
    async def variations_route(request: VariationsRequest) -> StripResponse:
        """Draw the idea (first frame) and `count` variations of it ("more like this")."""
        variation_seed = secrets.randbelow(MAX_SEED + 1) if request.variation_seed == RANDOM_SEED else request.variation_seed

        def job() -> StripResponse:
            config = VariationConfig(idea_spec(context, request.idea, "idea"), request.count, request.radius,
                                     variation_seed)
            return strip_out(context, variations(context.model, config))

        return await context.infer(job, field="idea")

    @router.post("/v1/edit", response_model=StripResponse, responses=INFERENCE_ERRORS, summary="Edit an idea")
    async def edit_route(request: EditRequest) -> StripResponse:
        """Edit the idea toward `more` and away from `less` keywords, or along a SeFa direction.

        Frame 0 is the unedited idea and frame `steps` the full edit. For sefa the
        strip runs from -strength to +strength, with the idea in the middle.
        """
        if request.method in KEYWORD_METHODS and directions is None:
            raise RequestValueError("method", "this server has no keyword directions for its model; compute them with "
                                              "`designgan directions --model MODEL` and restart, or use method sefa")
        if request.component >= context.model.config.latent_dim:
            raise RequestValueError("component", f"component={request.component} is out of range; this model has "
                                                 f"{context.model.config.latent_dim} SeFa directions")

        def job() -> StripResponse:
            config = EditConfig(
                idea_spec(context, request.idea, "idea"),
                more=known_keywords(context, request.more, "more") if request.more else (),
                less=known_keywords(context, request.less, "less") if request.less else (),
                method=request.method, strength=request.strength, steps=request.steps,
                keep_count=request.keep_count, component=request.component,
            )
            return strip_out(context, edit(context.model, config, directions=directions))

        return await context.infer(job, field="more")

    @router.post("/v1/morph", response_model=StripResponse, responses=INFERENCE_ERRORS, summary="Morph two ideas")
    async def morph_route(request: MorphRequest) -> StripResponse:
        """Morph from `start` to `end`; the end frames equal the two ideas as /v1/generate draws them."""

        def job() -> StripResponse:
            config = MorphConfig(idea_spec(context, request.start, "start"), idea_spec(context, request.end, "end"),
                                 request.steps)
            return strip_out(context, morph(context.model, config))

        return await context.infer(job, field="end")

    @router.post("/v1/blend", response_model=StripResponse, responses=INFERENCE_ERRORS, summary="Blend two keyword sets")
    async def blend_route(request: BlendRequest) -> StripResponse:
        """Blend the idea's keywords into `to_keywords` at the idea's z; the midpoint of two single keywords is both at once."""

        def job() -> StripResponse:
            config = BlendConfig(idea_spec(context, request.idea, "idea"),
                                 known_keywords(context, request.to_keywords, "to_keywords"), request.steps)
            return strip_out(context, blend(context.model, config))

        return await context.infer(job, field="to_keywords")

    @router.get("/v1/directions", response_model=DirectionsResponse, summary="List edit directions")
    async def directions_route() -> DirectionsResponse:
        """List the directions /v1/edit can move along: keyword boundaries (if computed) and SeFa directions."""
        keyword_directions = []
        if directions is not None:
            boundaries = directions.boundaries
            for i, keyword in enumerate(boundaries.keywords):
                if not boundaries.normals[i].any():
                    continue  # no boundary could be fitted for this keyword
                accuracy = float(boundaries.val_accuracy[i])
                keyword_directions.append(KeywordDirection(keyword=keyword, val_accuracy=round(accuracy, 4),
                                                           reliable=accuracy >= RELIABLE_ACCURACY))
        sefa = [SefaDirection(component=i, variance_share=round(float(value) / sefa_total, 5))
                for i, value in enumerate(sefa_eigenvalues[:SEFA_LISTED])]
        methods = [*KEYWORD_METHODS, "sefa"] if directions is not None else ["sefa"]
        return DirectionsResponse(methods=methods, keyword_directions=keyword_directions, sefa_directions=sefa)

    return router
