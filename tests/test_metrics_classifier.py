"""The domain classifier: interface, split, cache reuse and cache keys."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from metrics_fixtures import FAST_RECIPE, SHAPE_KEYWORDS, make_shape_dataset, single_thread  # noqa: F401

from designgan.metrics import classifier as classifier_module
from designgan.metrics.classifier import DomainClassifier, load_or_train_classifier
from designgan.metrics.split import design_group, held_out_split


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cache_dir = tmp_path_factory.mktemp("classifier-cache")
    dataset = make_shape_dataset()
    return load_or_train_classifier(dataset, cache_dir=cache_dir, recipe=FAST_RECIPE), dataset, cache_dir


def test_classifier_interface(trained):
    classifier, dataset, _ = trained
    images = torch.rand(3, 3, 32, 32) * 2 - 1
    assert isinstance(classifier, DomainClassifier)
    assert classifier.keywords == list(SHAPE_KEYWORDS)
    assert classifier(images).shape == (3, len(SHAPE_KEYWORDS))
    assert classifier.features(images).shape == (3, classifier.num_features)
    assert 0.0 <= classifier.held_out_map <= 1.0


def test_classifier_gradient_reaches_images(trained):
    classifier, _, _ = trained
    images = torch.zeros(2, 3, 32, 32, requires_grad=True)
    classifier(images)[:, 0].sum().backward()
    assert images.grad is not None
    assert images.grad.abs().sum() > 0


def test_classifier_resizes_other_sides(trained):
    classifier, _, _ = trained
    assert classifier(torch.zeros(1, 3, 64, 64)).shape == (1, len(SHAPE_KEYWORDS))


def test_classifier_cache_reused(trained, monkeypatch):
    _, dataset, cache_dir = trained

    def no_training(*args, **kwargs):
        raise AssertionError("the cached classifier should have been loaded")

    monkeypatch.setattr(classifier_module, "train_classifier", no_training)
    again = load_or_train_classifier(dataset, cache_dir=cache_dir, recipe=FAST_RECIPE)
    assert again.loaded_from_cache
    assert again.held_out_map == pytest.approx(trained[0].held_out_map)


def test_classifier_cache_changed_dataset(trained):
    _, dataset, cache_dir = trained
    changed = dataclasses.replace(dataset, images=dataset.images.copy())
    changed.images[0, 0, 0] = 0  # one pixel differs
    before = set((cache_dir / "classifiers").glob("*.json"))
    retrained = load_or_train_classifier(changed, cache_dir=cache_dir, recipe=FAST_RECIPE)
    after = set((cache_dir / "classifiers").glob("*.json"))
    assert not retrained.loaded_from_cache
    assert len(after - before) == 1


def test_classifier_cache_damaged_retrains(tmp_path):
    dataset = make_shape_dataset(count=30)
    first = load_or_train_classifier(dataset, cache_dir=tmp_path, recipe=FAST_RECIPE)
    weights = next((tmp_path / "classifiers").glob("*.safetensors"))
    weights.write_bytes(b"damaged")
    second = load_or_train_classifier(dataset, cache_dir=tmp_path, recipe=FAST_RECIPE)
    assert not second.loaded_from_cache
    assert second.held_out_map == pytest.approx(first.held_out_map)


def test_classifier_default_cache_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DESIGNGAN_CACHE", str(tmp_path))
    load_or_train_classifier(make_shape_dataset(count=30), recipe=FAST_RECIPE)
    assert len(list((tmp_path / "classifiers").glob("*.safetensors"))) == 1


def test_split_keeps_skin_tones_together():
    dataset = make_shape_dataset(count=12)
    dataset.source_ids[:] = ["1F44B", "1F44B-1F3FB", "1F44B-1F3FF", "1F600", "1F601", "1F602",
                             "1F603", "1F604", "1F605", "1F606", "1F607", "1F608"]
    for seed in range(10):
        split = held_out_split(dataset, 0.3, seed)
        sides = {0 in split.held_out, 1 in split.held_out, 2 in split.held_out}
        assert len(sides) == 1


def test_split_seeded_and_disjoint():
    dataset = make_shape_dataset(count=40)
    first, second = held_out_split(dataset, 0.2, 3), held_out_split(dataset, 0.2, 3)
    assert np.array_equal(first.held_out, second.held_out)
    assert not set(first.train) & set(first.held_out)
    assert len(first.train) + len(first.held_out) == 40


def test_split_keeps_identical_images_together():
    dataset = make_shape_dataset(count=20)
    dataset.images[7] = dataset.images[3]
    dataset.images[12] = dataset.images[3]
    dataset.images[12, 0, 0, 0] = 235  # a faint one-pixel difference: still near-identical
    for seed in range(10):
        split = held_out_split(dataset, 0.3, seed)
        sides = {3 in split.held_out, 7 in split.held_out, 12 in split.held_out}
        assert len(sides) == 1


def test_design_group_strips_skin_tone():
    assert design_group("1F9D1-1F3FE-200D-1F91D-200D-1F9D1-1F3FF") == "1F9D1-200D-1F91D-200D-1F9D1"
    assert design_group("cat_01") == "cat_01"
