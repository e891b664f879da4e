"""Request and response bodies of the controllable-generation routes: variations, edit, morph, blend, directions."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field

from ..control.edit import MAX_STRENGTH
from ..control.variations import MAX_RADIUS
from ..pipeline import MAX_SEED
from .schemas import MAX_IDEAS_PER_REQUEST, RANDOM_SEED, STRICT_REQUEST, IdeaOut, KeywordList, Truncation

# The frames of one strip cost as much as the ideas of one generate request, so they share its cap.
MAX_STRIP_FRAMES = MAX_IDEAS_PER_REQUEST

# Allowed values of the fields below, added to the ones 422 responses name.
CONTROL_ALLOWED_VALUES: dict[str, str] = {
    "idea.seed": f"an integer in 0..{MAX_SEED}",
    "start.seed": f"an integer in 0..{MAX_SEED}",
    "end.seed": f"an integer in 0..{MAX_SEED}",
    "idea": f"an object with keywords, seed (0..{MAX_SEED}) and truncation (0..1)",
    "start": f"an object with keywords, seed (0..{MAX_SEED}) and truncation (0..1)",
    "end": f"an object with keywords, seed (0..{MAX_SEED}) and truncation (0..1)",
    "count": f"an integer in 1..{MAX_STRIP_FRAMES - 1}",
    "radius": f"a number in (0, {MAX_RADIUS}]",
    "variation_seed": f"an integer in 0..{MAX_SEED}, or {RANDOM_SEED} for a random seed",
    "steps": "an integer in 2..64 for morph and blend, 1..63 for edit",
    "strength": f"a number in (0, {MAX_STRENGTH}]",
    "method": "direction, direction-projected or sefa",
    "component": "an integer in 0..latent_dim-1",
    "keep_count": "null or an integer in 0..64",
    "more": "a list of at most 16 vocabulary keywords",
    "less": "a list of at most 16 vocabulary keywords",
    "to_keywords": "a list of at most 16 vocabulary keywords",
}


class IdeaIn(BaseModel):
    """One idea as its recipe names it: vocabulary keywords, a seed and a truncation."""

    model_config = STRICT_REQUEST

    keywords: KeywordList = Field(default_factory=list, description="Vocabulary keywords; unknown words are rejected.")
    seed: int = Field(ge=0, le=MAX_SEED)
    truncation: Truncation = 1.0


class VariationsRequest(BaseModel):
    """Draw the idea and `count` variations of it: its z moved at random by `radius`."""

    model_config = STRICT_REQUEST

    idea: IdeaIn
    count: int = Field(7, ge=1, le=MAX_STRIP_FRAMES - 1, description="Variations after the idea itself.")
    radius: float = Field(0.3, gt=0.0, le=MAX_RADIUS, allow_inf_nan=False,
                          description="Standard deviation of the change per z coordinate; 0.1 = close, 1 = about 45 degrees away.")
    variation_seed: int = Field(RANDOM_SEED, ge=RANDOM_SEED, le=MAX_SEED,
                                description=f"Seed of the changes; {RANDOM_SEED} picks a random one, returned in the recipe.")


class EditRequest(BaseModel):
    """Move the idea's z toward (more) or away from (less) keywords, or along a SeFa direction."""

    model_config = STRICT_REQUEST

    idea: IdeaIn
    more: KeywordList = Field(default_factory=list, description="Keywords to strengthen.")
    less: KeywordList = Field(default_factory=list, description="Keywords to weaken.")
    method: Literal["direction", "direction-projected", "sefa"] = Field(
        "direction",
        description="direction: the keyword's linear boundary in z; direction-projected: the same with the most "
                    "entangled keywords' directions projected out; sefa: an unlabelled direction of the generator "
                    "(pick it with component). Keyword methods need directions computed with `designgan directions`.",
    )
    strength: float = Field(0.5, gt=0.0, le=MAX_STRENGTH, allow_inf_nan=False,
                            description="Length of the edit in units of the typical norm of z.")
    steps: int = Field(8, ge=1, le=MAX_STRIP_FRAMES - 1, description="Steps of the edit; the strip has steps + 1 frames.")
    component: int = Field(0, ge=0, description="sefa: index of the direction, 0 = the strongest.")
    keep_count: Optional[int] = Field(None, ge=0, le=64, description="direction-projected: project out this many of the most entangled keywords' directions instead of the idea's own keywords (the default, null, measured best).")


class MorphRequest(BaseModel):
    """Morph from one idea to another: slerp between their z, a straight line between their keyword conditions."""

    model_config = STRICT_REQUEST

    start: IdeaIn
    end: IdeaIn
    steps: int = Field(8, ge=2, le=MAX_STRIP_FRAMES, description="Frames, both ideas included.")


class BlendRequest(BaseModel):
    """Blend two concepts: the idea's z drawn under conditions moving from its keywords to `to_keywords`."""

    model_config = STRICT_REQUEST

    idea: IdeaIn
    to_keywords: KeywordList = Field(description="The second keyword set.")
    steps: int = Field(7, ge=2, le=MAX_STRIP_FRAMES, description="Frames, both keyword sets included.")


class StripResponse(BaseModel):
    """Frames of one control operation, left to right."""

    model_id: str
    recipe: dict = Field(description="Recipe of the whole strip; `designgan reproduce` re-creates the strip PNG from it.")
    strip_png_base64: str = Field(description="All frames tiled in one PNG, with the recipe in its text chunk.")
    frames: list[IdeaOut] = Field(description="Each frame alone; its recipe is the strip's plus the frame index.")


class KeywordDirection(BaseModel):
    keyword: str
    val_accuracy: float = Field(description="Share of held-out ideas on the correct side of the boundary; 0.5 is chance.")
    reliable: bool = Field(description="val_accuracy is at least 0.6; moving along an unreliable one may change little.")


class SefaDirection(BaseModel):
    component: int
    variance_share: float = Field(description="Share of the generator's first-layer response to z along this direction.")


class DirectionsResponse(BaseModel):
    methods: list[Literal["direction", "direction-projected", "sefa"]] = Field(description="Edit methods this server can run.")
    keyword_directions: list[KeywordDirection] = Field(description="Empty until directions are computed with `designgan directions`.")
    sefa_directions: list[SefaDirection] = Field(description="The strongest unlabelled directions, strongest first.")
