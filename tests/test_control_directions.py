"""Keyword boundaries in z, SeFa directions, projection and the saved direction files."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from control_fixtures import TinyClassifier, control_model_dir, model_copy  # noqa: F401  (pytest fixtures)
from designgan import load_model
from designgan.control import (
    BoundaryConfig,
    EditConfig,
    IdeaSpec,
    compute_directions,
    edit,
    find_directions,
    fit_boundaries,
    load_directions,
    project_out,
    sefa_directions,
    store_directions,
)
from designgan.control.direction_store import DIRECTIONS_NAME, DIRECTIONS_SUMMARY_NAME, cache_folder
from designgan.control.directions import center_by_group, linear_path, quantile_labels, single_keyword_conditions
from designgan.control.guided_edit import classifier_logits
from designgan.control.latent import keyword_embedding

SMALL = BoundaryConfig(conditions=4, samples_per_condition=200, iterations=50)


@pytest.fixture(scope="module")
def model(control_model_dir):  # noqa: F811  (pytest fixture argument)
    return load_model(control_model_dir, similarity_threshold=None)


@pytest.fixture(scope="module")
def directions(model):
    return compute_directions(model, TinyClassifier(), single_keyword_conditions(model), SMALL)


def planted_data(count: int = 600, dim: int = 12, seed: int = 0):
    """z (N, D) and two scores: one linear in a planted unit direction, one pure noise."""
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(count, dim, generator=rng)
    direction = torch.randn(dim, generator=rng)
    direction /= direction.norm()
    scores = torch.stack([z @ direction + 0.1 * torch.randn(count, generator=rng), torch.randn(count, generator=rng)], 1)
    return z, scores, direction


def test_boundary_recovers_planted_direction():
    z, scores, direction = planted_data()
    boundaries = fit_boundaries(z, scores, ["signal", "noise"], BoundaryConfig(iterations=50))
    assert boundaries.val_accuracy[0] > 0.95
    assert boundaries.normals[0] @ direction > 0.95


def test_boundary_of_noise_near_chance():
    z, scores, _ = planted_data()
    boundaries = fit_boundaries(z, scores, ["signal", "noise"], BoundaryConfig(iterations=50))
    assert boundaries.val_accuracy[1] < 0.7


def test_boundary_normals_unit_length():
    z, scores, _ = planted_data()
    norms = fit_boundaries(z, scores, ["signal", "noise"], BoundaryConfig(iterations=50)).normals.norm(dim=1)
    assert torch.allclose(norms, torch.ones(2), atol=1e-5)


def test_quantile_labels_balanced():
    labels, mask = quantile_labels(torch.arange(100.0)[:, None], 0.25)
    assert mask.sum() == 50
    assert labels.sum() == 25
    assert labels[75:].all()
    assert not labels[:75].any()


def test_center_by_group_removes_group_means():
    scores = torch.tensor([[1.0], [3.0], [10.0], [14.0]])
    centered = center_by_group(scores, torch.tensor([0, 0, 1, 1]))
    assert centered.flatten().tolist() == [-1.0, 1.0, -2.0, 2.0]


def test_fitted_boundary_separates_generated_samples(directions):
    # The tiny classifier's scores of the tiny generator's ideas: every boundary beats chance on its own samples.
    assert (directions.boundaries.train_accuracy > 0.6).all()
    assert directions.boundaries.val_accuracy.mean() > 0.6


def test_direction_edit_raises_target_score(model, directions):
    classifier = TinyClassifier()
    embedding = keyword_embedding(model, ["cat"])
    gains = []
    for seed in range(8):
        strip = edit(model, EditConfig(IdeaSpec(("cat",), seed), more=("heart",), method="direction", steps=2),
                     directions=directions)
        logits = classifier_logits(model, classifier, strip.latents[[0, -1]], embedding)
        gains.append(float(logits[1, 1] - logits[0, 1]))
    assert sum(gains) / len(gains) > 0


def test_projected_direction_orthogonal_to_kept():
    rng = torch.Generator().manual_seed(0)
    direction, others = torch.randn(16, generator=rng), torch.randn(3, 16, generator=rng)
    projected = project_out(direction, others)
    assert projected.norm().item() == pytest.approx(1.0, abs=1e-5)
    assert (others @ projected).abs().max() < 1e-5


def test_project_out_rejects_direction_in_span():
    others = torch.eye(4)[:2]
    with pytest.raises(ValueError, match="span"):
        project_out(torch.tensor([1.0, 1.0, 0.0, 0.0]), others)


def test_projected_edit_records_keep(model, directions):
    strip = edit(model, EditConfig(IdeaSpec(("cat",), 0), more=("heart",), method="direction-projected", steps=2,
                                   keep=("red",)), directions=directions)
    assert strip.recipe["parameters"]["keep"] == ["red"]
    step = strip.latents[1] - strip.latents[0]
    assert abs(float(step @ directions.normal("red"))) < 1e-4


def test_projected_edit_keeps_idea_keywords(model, directions):
    reliable = copy.deepcopy(directions)
    reliable.boundaries.val_accuracy[:] = 0.9  # every boundary reliable, so the choice is the idea's keywords
    strip = edit(model, EditConfig(IdeaSpec(("cat", "red"), 0), more=("heart",), method="direction-projected", steps=2),
                 directions=reliable)
    assert strip.recipe["parameters"]["keep"] == ["cat", "red"]


def test_projected_edit_keep_count_most_aligned(model, directions):
    config = EditConfig(IdeaSpec(("cat",), 0), more=("heart",), method="direction-projected", steps=2, keep_count=1)
    keep = edit(model, config, directions=directions).recipe["parameters"]["keep"]
    assert keep == directions.most_entangled(directions.normal("heart"), 1, {"heart"})


def test_sefa_directions_orthonormal_and_sorted(model):
    directions, eigenvalues = sefa_directions(model)
    assert torch.allclose(directions @ directions.T, torch.eye(len(directions)), atol=1e-4)
    assert (eigenvalues[:-1] >= eigenvalues[1:]).all()


def test_sefa_edit_centred_on_idea(model):
    strip = edit(model, EditConfig(IdeaSpec(("cat",), 0), method="sefa", component=1, steps=4))
    assert torch.allclose(strip.latents[2], model.latent(0))


def test_linear_path_length():
    z = torch.zeros(16)
    path = linear_path(z, torch.eye(16)[0], strength=0.5, steps=4)
    assert path[-1].norm().item() == pytest.approx(0.5 * 4.0)


def test_directions_saved_beside_model(model_copy):  # noqa: F811  (pytest fixture argument)
    model = load_model(model_copy, similarity_threshold=None)
    directions = compute_directions(model, TinyClassifier(), single_keyword_conditions(model), SMALL)
    path = store_directions(model, directions)
    assert path == model_copy / DIRECTIONS_NAME
    summary = json.loads((model_copy / DIRECTIONS_SUMMARY_NAME).read_text())
    assert [row["keyword"] for row in summary["boundaries"]] == list(model.vocabulary.keywords)


def test_directions_round_trip(model_copy, directions):  # noqa: F811  (pytest fixture argument)
    model = load_model(model_copy, similarity_threshold=None)
    store_directions(model, directions)
    loaded = load_directions(model_copy / DIRECTIONS_NAME)
    assert torch.equal(loaded.boundaries.normals, directions.boundaries.normals)
    assert loaded.sha256 == directions.sha256
    assert loaded.config == SMALL


def test_directions_cached_when_model_folder_read_only(model_copy, directions, tmp_path, monkeypatch):  # noqa: F811
    model = load_model(model_copy, similarity_threshold=None)
    # Tests may run as root, which writes through file modes, so deny the model folder by policy.
    real_access = __import__("os").access
    monkeypatch.setattr("designgan.control.direction_store.os.access",
                        lambda path, mode: False if str(path) == str(model_copy) else real_access(path, mode))
    path = store_directions(model, directions, cache_dir=tmp_path / "cache")
    assert path == cache_folder(model, tmp_path / "cache") / DIRECTIONS_NAME
    assert find_directions(model, tmp_path / "cache").sha256 == directions.sha256


def test_directions_of_other_weights_ignored(model_copy, directions):  # noqa: F811  (pytest fixture argument)
    model = load_model(model_copy, similarity_threshold=None)
    stale = copy.deepcopy(directions)
    stale.model_sha256 = "0" * 64
    store_directions(model, stale)
    assert find_directions(model, model_copy / "no-cache") is None


def test_direction_edit_needs_directions(model):
    with pytest.raises(ValueError, match="designgan directions"):
        edit(model, EditConfig(IdeaSpec(("cat",), 0), more=("heart",), method="direction"))
