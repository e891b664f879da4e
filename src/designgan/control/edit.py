"""Edit one idea toward or away from keywords, by classifier gradients or by linear directions."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from ..pipeline import DesignModel
from .direction_store import RELIABLE_ACCURACY, DirectionSet
from .directions import linear_path, project_out, sefa_directions
from .guided_edit import guided_edit_path, target_signs
from .latent import IdeaSpec, keyword_embedding, module_sha256, render_inputs
from .strip import MAX_FRAMES, Strip, strip_recipe

logger = logging.getLogger(__name__)

EditMethod = Literal["gradient", "direction", "direction-projected", "sefa"]
EDIT_METHODS: tuple[str, ...] = ("gradient", "direction", "direction-projected", "sefa")
MAX_STRENGTH = 2.0  # an edit of strength 2 moves z twice its typical norm; far beyond that the generator's output degrades
MAX_EDIT_STEPS = MAX_FRAMES - 1  # the strip shows steps + 1 frames


@dataclass(frozen=True)
class EditConfig:
    """An edit of `idea`: which keywords to raise or lower, by which method, how far."""

    idea: IdeaSpec
    more: tuple[str, ...] = ()  # keywords whose classifier score should rise
    less: tuple[str, ...] = ()  # keywords whose classifier score should fall
    method: EditMethod = "gradient"
    strength: float = 0.5  # length of the edit in z, in units of sqrt(latent_dim) (the typical norm of z)
    steps: int = 20  # steps of the edit; the strip shows the idea and the result of each step
    penalty: float = 1.0  # gradient: weight of the mean squared change of the other keywords' logits; 0 = off
    keep: tuple[str, ...] | None = None  # direction-projected: keywords whose directions are projected out; None = automatic
    # direction-projected with keep=None: project out the keep_count reliable keywords whose directions are most
    # aligned with the edit; None = the idea's own keywords, which kept more of the target's gain (docs/control.md).
    keep_count: int | None = None
    component: int = 0  # sefa: index of the direction, 0 = the one with the largest eigenvalue

    def validate(self) -> "EditConfig":
        if self.method not in EDIT_METHODS:
            raise ValueError(f"method={self.method!r} is invalid; use one of {', '.join(EDIT_METHODS)}.")
        if not (0.0 < self.strength <= MAX_STRENGTH):  # also rejects NaN
            raise ValueError(f"strength={self.strength} is out of range; use a value in (0, {MAX_STRENGTH}] "
                             "(the length of the edit in units of the typical norm of z).")
        if not 1 <= self.steps <= MAX_EDIT_STEPS:
            raise ValueError(f"steps={self.steps} is out of range; use 1..{MAX_EDIT_STEPS}.")
        if self.keep_count is not None and self.keep_count < 0:
            raise ValueError(f"keep_count={self.keep_count} is out of range; use 0 or more, or None for the idea's keywords.")
        if not (0.0 <= self.penalty < math.inf):
            raise ValueError(f"penalty={self.penalty} is out of range; use 0 (off) or a larger finite weight.")
        if self.method == "sefa":
            if self.more or self.less:
                raise ValueError("--more and --less do not apply to --method sefa, whose directions have no "
                                 "keyword; choose a direction with --component.")
            if self.component < 0:
                raise ValueError(f"component={self.component} is out of range; use 0 or more.")
        elif not (self.more or self.less):
            raise ValueError("an edit needs at least one target keyword; pass --more KEYWORD or --less KEYWORD.")
        return self


def edit(model: DesignModel, config: EditConfig, classifier: nn.Module | None = None,
         directions: DirectionSet | None = None) -> Strip:
    """Edit `config.idea` and return the strip of steps + 1 frames along the edit.

    The gradient method needs `classifier`; direction and direction-projected need
    `directions` (from `designgan.control.compute_directions`); sefa needs neither.
    Frame 0 is the unedited idea, except for sefa, whose strip runs from -strength to
    +strength with the idea in the middle.
    """
    config.validate()
    z = model.latent(config.idea.seed, config.idea.truncation)
    embedding = keyword_embedding(model, config.idea.keywords)
    parameters: dict[str, Any] = {
        "method": config.method, "more": list(config.more), "less": list(config.less),
        "strength": config.strength, "steps": config.steps,
    }

    if config.method == "gradient":
        if classifier is None:
            raise ValueError("--method gradient needs a classifier; pass one, or use a direction method.")
        signs = target_signs(list(classifier.keywords), config.more, config.less)
        path = guided_edit_path(model, classifier, z[None], embedding, signs, config.strength, config.steps,
                                config.penalty)[:, 0].cpu()
        parameters.update({"penalty": config.penalty, "classifier_sha256": module_sha256(classifier)})
    elif config.method == "sefa":
        sefa, _ = sefa_directions(model)
        if config.component >= len(sefa):
            raise ValueError(f"component={config.component} is out of range; this model has {len(sefa)} "
                             f"SeFa directions (0..{len(sefa) - 1}).")
        path = linear_path(z, sefa[config.component], config.strength, config.steps, centered=True)
        parameters["component"] = config.component
    else:
        if directions is None:
            raise ValueError(f"--method {config.method} needs directions; compute them with `designgan directions`.")
        if directions.model_sha256 != model.files.sha256:
            raise ValueError("the directions were computed for other weights; recompute them for this model.")
        direction = keyword_direction(directions, config.more, config.less)
        if config.method == "direction-projected":
            keep = config.keep
            targets = set(config.more) | set(config.less)
            if keep is None and config.keep_count is not None:
                keep = tuple(directions.most_entangled(direction, config.keep_count, targets))
            elif keep is None:
                keep = default_keep(directions, config.idea.keywords, targets)
            if set(keep) & targets:
                raise ValueError("a keyword cannot be both a target and kept; remove it from --keep.")
            others = torch.stack([directions.normal(k) for k in keep]) if keep else torch.zeros(0, len(direction))
            direction = project_out(direction, others)
            parameters["keep"] = list(keep)
        for keyword in (*config.more, *config.less):
            accuracy = directions.val_accuracy(keyword)
            if accuracy < RELIABLE_ACCURACY:
                logger.warning("The boundary of %r has validation accuracy %.2f, close to chance (0.5), so "
                               "moving along it may not change %r.", keyword, accuracy, keyword)
        path = linear_path(z, direction, config.strength, config.steps)
        parameters["directions_sha256"] = directions.sha256

    logger.info("Edited %s by %s in %d steps", config.idea, config.method, config.steps)
    frames = render_inputs(model, path, embedding)
    return Strip(frames, strip_recipe(model, config.idea, "edit", parameters, len(frames)), latents=path)


def default_keep(directions: DirectionSet, idea_keywords: tuple[str, ...], targets: set[str]) -> tuple[str, ...]:
    """Return the idea's own keywords with reliable boundaries, less the targets: the ones a projected edit keeps.

    Projecting out these directions keeps what the idea is ("face") while it gains the
    target ("smiling"). Projecting out the keywords whose directions are most aligned
    with the target instead removed most of the target's gain on the built-in model,
    because those are co-labels whose normals have cosines above 0.9 with the target's
    ("eyes", "smileys" for "smiling"). docs/control.md has the measurement.
    """
    return tuple(k for k in idea_keywords
                 if k not in targets and directions.val_accuracy(k) >= RELIABLE_ACCURACY)


def keyword_direction(directions: DirectionSet, more: tuple[str, ...], less: tuple[str, ...]) -> torch.Tensor:
    """Return the unit direction (latent_dim,) that raises `more` and lowers `less`: the normalised sum of signed normals."""
    total = sum((directions.normal(k) for k in more), torch.zeros(directions.sefa.shape[1]))
    total = total - sum((directions.normal(k) for k in less), torch.zeros_like(total))
    norm = total.norm()
    if norm < 1e-6:
        raise ValueError("the --more and --less directions cancel out; edit fewer keywords at once.")
    return total / norm
