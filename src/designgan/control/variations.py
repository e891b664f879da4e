"""Variations ("more like this"): small perturbations of one idea's z."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch

from ..pipeline import MAX_SEED, DesignModel
from .latent import IdeaSpec, keyword_embedding, render_inputs
from .strip import MAX_FRAMES, Strip, strip_recipe

logger = logging.getLogger(__name__)

MAX_RADIUS = 2.0  # at radius 2 a variation is about 63 degrees from its idea, close to an unrelated one (90)


@dataclass(frozen=True)
class VariationConfig:
    """Variations of `idea`: Gaussian perturbations of its z, kept at the idea's norm."""

    idea: IdeaSpec
    count: int = 7  # variations after the idea itself, which is the strip's first frame
    radius: float = 0.3  # standard deviation of the perturbation per z coordinate (the prior's is 1)
    variation_seed: int | None = None  # seed of the perturbations; None = the idea's seed
    columns: int | None = None  # frames per row of the strip; None = one row

    def validate(self) -> "VariationConfig":
        if not 1 <= self.count < MAX_FRAMES:
            raise ValueError(f"count={self.count} is out of range; ask for 1..{MAX_FRAMES - 1} variations.")
        if not 0.0 < self.radius <= MAX_RADIUS:
            raise ValueError(f"radius={self.radius} is out of range; use a value in (0, {MAX_RADIUS}] "
                             "(0.1 = close to the idea, 1 = about 45 degrees away).")
        if self.variation_seed is not None and not 0 <= self.variation_seed <= MAX_SEED:
            raise ValueError(f"variation_seed={self.variation_seed} is out of range; use 0..{MAX_SEED}.")
        if self.columns is not None and self.columns < 1:
            raise ValueError(f"columns={self.columns} is out of range; use 1 or more.")
        return self

    @property
    def resolved_variation_seed(self) -> int:
        return self.idea.seed if self.variation_seed is None else self.variation_seed


def perturb(z: torch.Tensor, radius: float, count: int, seed: int) -> torch.Tensor:
    """Return `count` perturbations (count, D) of z (D,): z + radius * noise, rescaled to |z|.

    Keeping the norm keeps each variation on the shell where the Gaussian prior puts
    its mass (|z| near sqrt(D)), so a larger radius changes the design more but does
    not push it toward the washed-out images of unusually long z. For large D the
    angle to the idea is about atan(radius). Variation i draws its noise after the
    noise of variations 0..i-1 from one generator, so asking for more variations keeps
    the earlier ones.
    """
    rng = torch.Generator().manual_seed(seed)
    norm = z.norm()
    rows = []
    for _ in range(count):
        moved = z + radius * torch.randn(z.shape, generator=rng, dtype=z.dtype)
        rows.append(moved * (norm / moved.norm()))
    return torch.stack(rows)


def variations(model: DesignModel, config: VariationConfig) -> Strip:
    """Draw the idea and `config.count` variations of it, with the idea's keywords.

    Truncation toward the average: the prior of z has mean zero, so the idea's
    truncation (z scaled by it, as in `generate`) also scales every variation and pulls
    them all toward the average design for the keywords. The first frame is
    bit-identical to the idea drawn by `generate`.
    """
    config.validate()
    base = model.latent(config.idea.seed, 1.0)
    moved = perturb(base, config.radius, config.count, config.resolved_variation_seed)
    # Scale after the perturbation: z * truncation is what `DesignModel.latent` computes.
    z = torch.cat([base[None], moved]) * config.idea.truncation

    logger.info("Drawing %d variations of %s at radius %.3g (about %.0f degrees)", config.count, config.idea,
                config.radius, math.degrees(math.atan(config.radius)))
    frames = render_inputs(model, z, keyword_embedding(model, config.idea.keywords))
    parameters = {"count": config.count, "radius": config.radius, "variation_seed": config.resolved_variation_seed}
    return Strip(frames, strip_recipe(model, config.idea, "variations", parameters, len(frames), config.columns),
                 latents=z)
