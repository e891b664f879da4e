"""Blend two concepts: interpolate between two keyword sets' conditions at a fixed z."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from ..pipeline import DesignModel
from .interpolate import interpolation_fractions
from .latent import IdeaSpec, keyword_embedding, render_inputs
from .strip import Strip, strip_recipe

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlendConfig:
    """A blend from the keywords of `idea` to `to_keywords`, with the idea's z held fixed."""

    idea: IdeaSpec  # the first keyword set, the seed and the truncation
    to_keywords: tuple[str, ...]  # the second keyword set (vocabulary keywords)
    steps: int = 7  # frames in the strip, both keyword sets included

    def validate(self) -> "BlendConfig":
        interpolation_fractions(self.steps)
        if set(self.idea.keywords) == set(self.to_keywords):
            raise ValueError(f"both keyword sets are {', '.join(self.to_keywords)}; pass two different sets to blend.")
        return self


def blend(model: DesignModel, config: BlendConfig) -> Strip:
    """Draw one z under conditions that move linearly from the first keyword set's embedding to the second's.

    The generator's condition is the mean of the keywords' embedding vectors, so the
    midpoint of a blend of two single keywords, "cat" and "heart", is the condition of
    the set {cat, heart}. The other frames weight the two concepts unequally, which no
    keyword set can express. The end frames are bit-identical to `generate` with each set.
    """
    if model.generator.embedding is None:
        raise ValueError("this model is unconditional, so it has no keyword conditions to blend; use a conditional model.")
    config.validate()
    start = keyword_embedding(model, config.idea.keywords)
    end = keyword_embedding(model, config.to_keywords)
    fractions = interpolation_fractions(config.steps)
    embeddings = torch.stack([torch.lerp(start, end, t) for t in fractions])  # (F, embed_dim)
    z = model.latent(config.idea.seed, config.idea.truncation)[None].expand(config.steps, -1)

    logger.info("Blending %s with %s in %d frames", config.idea.keywords, config.to_keywords, config.steps)
    frames = render_inputs(model, z, embeddings)
    parameters = {"to_keywords": list(config.to_keywords), "steps": config.steps}
    return Strip(frames, strip_recipe(model, config.idea, "blend", parameters, len(frames)), latents=z.clone())
