"""Spherical interpolation (slerp) in z and the morph between two ideas."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch

from ..pipeline import DesignModel
from .latent import IdeaSpec, keyword_embedding, render_inputs
from .strip import MAX_FRAMES, Strip, strip_recipe

logger = logging.getLogger(__name__)

# Below this angle (radians) between two vectors, sin(angle) is too small to divide
# by in float32, and interpolating the unit directions linearly is just as accurate.
PARALLEL_ANGLE = 1e-4


def slerp(start: torch.Tensor, end: torch.Tensor, t: float) -> torch.Tensor:
    """Interpolate on the sphere from `start` to `end` (both (D,)) at fraction t in [0, 1].

    The direction moves along the great circle at constant angular speed (Shoemake
    1985), and the norm goes linearly from |start| to |end|. For Gaussian z the norm
    concentrates near sqrt(D), so the path stays where the prior puts its mass, unlike
    a straight line, whose midpoint is about 1/sqrt(2) as long. t = 0 and t = 1 return
    copies of the inputs exactly. Vectors pointing the opposite way (angle pi) have no
    unique great circle, and the one chosen by rounding is used.
    """
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t={t} is out of range; use 0..1.")
    if start.shape != end.shape or start.dim() != 1:
        raise ValueError(f"slerp needs two vectors of the same shape (D,), got {tuple(start.shape)} and {tuple(end.shape)}.")
    if t == 0.0:
        return start.clone()
    if t == 1.0:
        return end.clone()

    # Work in float64 so that the angle of two nearly parallel vectors keeps its precision.
    a, b = start.double(), end.double()
    norm_a, norm_b = a.norm(), b.norm()
    if norm_a == 0 or norm_b == 0:
        return torch.lerp(a, b, t).to(start.dtype)  # a zero vector has no direction to rotate
    unit_a, unit_b = a / norm_a, b / norm_b
    angle = torch.arccos((unit_a @ unit_b).clamp(-1.0, 1.0))
    if angle < PARALLEL_ANGLE:
        direction = torch.lerp(unit_a, unit_b, t)
        direction = direction / direction.norm()
    else:
        direction = (torch.sin((1.0 - t) * angle) * unit_a + torch.sin(t * angle) * unit_b) / torch.sin(angle)
    norm = (1.0 - t) * norm_a + t * norm_b
    return (direction * norm).to(start.dtype)


def interpolation_fractions(frames: int) -> list[float]:
    """Return `frames` evenly spaced fractions from 0 to 1, both ends included."""
    if not 2 <= frames <= MAX_FRAMES:
        raise ValueError(f"steps={frames} is out of range; use 2..{MAX_FRAMES} frames (both ends included).")
    return [i / (frames - 1) for i in range(frames)]


def slerp_path(start: torch.Tensor, end: torch.Tensor, frames: int) -> torch.Tensor:
    """Return `frames` points (frames, D) of the slerp from start to end, both ends included."""
    return torch.stack([slerp(start, end, t) for t in interpolation_fractions(frames)])


@dataclass(frozen=True)
class MorphConfig:
    """A morph from one idea to another."""

    start: IdeaSpec
    end: IdeaSpec
    steps: int = 8  # frames in the strip, both ideas included

    def validate(self) -> "MorphConfig":
        interpolation_fractions(self.steps)
        if self.start == self.end:
            raise ValueError("the two ideas of a morph are the same; change the second idea's seed, keywords or truncation.")
        return self


def morph(model: DesignModel, config: MorphConfig) -> Strip:
    """Morph from `config.start` to `config.end`: slerp between their z, linear between their keyword embeddings.

    The first and last frames are bit-identical to the two ideas as `generate` draws them.
    """
    config.validate()
    fractions = interpolation_fractions(config.steps)
    z = slerp_path(model.latent(config.start.seed, config.start.truncation),
                   model.latent(config.end.seed, config.end.truncation), config.steps)

    # The keyword embedding is the mean of the keywords' vectors, so a straight line
    # between two sets' embeddings is a path between their means. torch.lerp returns
    # each end exactly at weights 0 and 1.
    start_embedding = keyword_embedding(model, config.start.keywords)
    embeddings = None
    if start_embedding is not None:
        end_embedding = keyword_embedding(model, config.end.keywords)
        embeddings = torch.stack([torch.lerp(start_embedding, end_embedding, t) for t in fractions])

    logger.info("Morphing %s to %s in %d frames", config.start, config.end, config.steps)
    frames = render_inputs(model, z, embeddings)
    parameters = {"end": config.end.to_dict(), "steps": config.steps}
    return Strip(frames, strip_recipe(model, config.start, "morph", parameters, len(frames)), latents=z)


def path_angles(path: torch.Tensor) -> list[float]:
    """Return the angles (radians) between consecutive rows of a path (F, D); equal for a slerp."""
    unit = path.double() / path.double().norm(dim=1, keepdim=True)
    return [math.acos(float((unit[i] @ unit[i + 1]).clamp(-1.0, 1.0))) for i in range(len(path) - 1)]
