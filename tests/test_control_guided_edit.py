"""Classifier-guided editing of z and the edit configuration."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from control_fixtures import TinyClassifier, control_model_dir  # noqa: F401  (pytest fixture)
from designgan import load_model
from designgan.control import EditConfig, IdeaSpec, edit, guided_edit_path, target_signs
from designgan.control.guided_edit import classifier_logits, step_length
from designgan.control.latent import keyword_embedding
from control_fixtures import control_model_dir  # noqa: F401  (pytest fixture)

SEEDS = 12


@pytest.fixture(scope="module")
def model(control_model_dir):  # noqa: F811  (pytest fixture argument)
    return load_model(control_model_dir, similarity_threshold=None)


@pytest.fixture(scope="module")
def classifier():
    return TinyClassifier()


def edit_scores(model, classifier, penalty: float, more=("heart",), less=()):
    """Return the logits (SEEDS, K) before and after editing SEEDS ideas of "cat"."""
    z = torch.stack([model.latent(seed) for seed in range(SEEDS)])
    embedding = keyword_embedding(model, ["cat"])
    signs = target_signs(classifier.keywords, more, less)
    path = guided_edit_path(model, classifier, z, embedding, signs, strength=0.5, steps=8, penalty=penalty)
    before = classifier_logits(model, classifier, path[0], embedding)
    after = classifier_logits(model, classifier, path[-1], embedding)
    return before, after, signs


def test_edit_raises_target_on_average(model, classifier):
    before, after, signs = edit_scores(model, classifier, penalty=1.0)
    target = signs == 1
    assert (after[:, target] - before[:, target]).mean() > 0


def test_edit_lowers_less_target_on_average(model, classifier):
    before, after, signs = edit_scores(model, classifier, penalty=1.0, more=(), less=("red",))
    target = signs == -1
    assert (after[:, target] - before[:, target]).mean() < 0


def test_penalty_reduces_other_changes(model, classifier):
    free_before, free_after, signs = edit_scores(model, classifier, penalty=0.0)
    kept_before, kept_after, _ = edit_scores(model, classifier, penalty=50.0)
    others = signs == 0
    free_change = (free_after - free_before)[:, others].abs().mean()
    kept_change = (kept_after - kept_before)[:, others].abs().mean()
    assert kept_change < free_change


def test_penalty_still_raises_target(model, classifier):
    before, after, signs = edit_scores(model, classifier, penalty=50.0)
    assert (after[:, signs == 1] - before[:, signs == 1]).mean() > 0


def test_edit_steps_have_budget_length(model, classifier):
    z = model.latent(3)[None]
    signs = target_signs(classifier.keywords, ["cat"], [])
    path = guided_edit_path(model, classifier, z, keyword_embedding(model, ["heart"]), signs, 0.5, 4, 1.0)
    lengths = (path[1:] - path[:-1]).norm(dim=-1).flatten()
    assert torch.allclose(lengths, torch.full_like(lengths, step_length(0.5, z.shape[1], 4)), rtol=1e-4)


def test_edit_strip_starts_at_idea(model, classifier):
    strip = edit(model, EditConfig(IdeaSpec(("cat",), 3), more=("heart",), steps=3), classifier=classifier)
    assert len(strip.frames) == 4
    assert np.array_equal(np.asarray(strip.frames[0]), np.asarray(model.generate(["cat"], n=1, seed=3)[0]))


def test_target_signs_marks_more_and_less():
    signs = target_signs(["cat", "heart", "red"], ["heart"], ["red"])
    assert signs.tolist() == [0.0, 1.0, -1.0]


def test_target_signs_rejects_unknown_keyword():
    with pytest.raises(ValueError, match="'rocket'"):
        target_signs(["cat"], ["rocket"], [])


def test_target_signs_rejects_both_directions():
    with pytest.raises(ValueError, match="both"):
        target_signs(["cat", "heart"], ["cat"], ["cat"])


@pytest.mark.parametrize("overrides, message", [
    ({"strength": 0.0}, "strength=0.0"),
    ({"strength": 2.5}, "strength=2.5"),
    ({"strength": float("nan")}, "strength=nan"),
    ({"steps": 0}, "steps=0"),
    ({"penalty": -1.0}, "penalty=-1.0"),
    ({"method": "magic"}, "method='magic'"),
    ({"more": ()}, "--more KEYWORD"),
    ({"method": "sefa"}, "--component"),
])
def test_edit_config_rejects(overrides, message):
    values = {"idea": IdeaSpec(("cat",), 0), "more": ("heart",), **overrides}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("+", r"\+")):
        EditConfig(**values).validate()


def test_gradient_edit_needs_classifier(model):
    with pytest.raises(ValueError, match="classifier"):
        edit(model, EditConfig(IdeaSpec(("cat",), 0), more=("heart",)))
