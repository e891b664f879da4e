"""Controllable generation without retraining: edit, morph, blend and vary ideas, and reproduce any output.

    from designgan import load_model
    from designgan.control import IdeaSpec, MorphConfig, morph, save_strip

    model = load_model()
    strip = morph(model, MorphConfig(IdeaSpec(("cat",), seed=1), IdeaSpec(("heart",), seed=5), steps=8))
    save_strip(strip, "morph.png", animation="gif")

Every operation returns a `Strip` of frames whose recipe re-creates it (`reproduce`).
"""

from .blend import BlendConfig, blend
from .direction_store import (
    DirectionSet,
    DirectionsError,
    compute_directions,
    find_directions,
    load_directions,
    save_directions,
    store_directions,
)
from .directions import BoundaryConfig, Boundaries, fit_boundaries, linear_path, project_out, sefa_directions
from .edit import EDIT_METHODS, MAX_STRENGTH, EditConfig, edit
from .guided_edit import guided_edit_path, target_signs
from .interpolate import MorphConfig, morph, slerp, slerp_path
from .latent import IdeaSpec, module_sha256, render_inputs, resolve_known_keywords
from .reproduce import RecipeError, Reproduction, compare_pixels, read_recipe, reproduce
from .strip import ANIMATION_FORMATS, Strip, save_strip
from .variations import VariationConfig, variations

__all__ = [
    "ANIMATION_FORMATS",
    "EDIT_METHODS",
    "MAX_STRENGTH",
    "BlendConfig",
    "Boundaries",
    "BoundaryConfig",
    "DirectionSet",
    "DirectionsError",
    "EditConfig",
    "IdeaSpec",
    "MorphConfig",
    "RecipeError",
    "Reproduction",
    "Strip",
    "VariationConfig",
    "blend",
    "compare_pixels",
    "compute_directions",
    "edit",
    "find_directions",
    "fit_boundaries",
    "guided_edit_path",
    "linear_path",
    "load_directions",
    "module_sha256",
    "morph",
    "project_out",
    "read_recipe",
    "render_inputs",
    "reproduce",
    "resolve_known_keywords",
    "save_directions",
    "save_strip",
    "sefa_directions",
    "slerp",
    "slerp_path",
    "store_directions",
    "target_signs",
    "variations",
]
