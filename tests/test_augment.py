"""DiffAugment: shapes, gradients, reproducible draws, policy parsing."""

import pytest
import torch

from designgan.augment import POLICIES, DiffAugment

ALL_POLICIES = ",".join(POLICIES)


def _images(batch: int = 4, side_px: int = 16) -> torch.Tensor:
    rng = torch.Generator().manual_seed(0)
    return torch.rand(batch, 3, side_px, side_px, generator=rng) * 2 - 1


@pytest.mark.parametrize("policy", [*POLICIES, ALL_POLICIES])
def test_augment_preserves_shape(policy):
    images = _images()
    assert DiffAugment(policy)(images).shape == images.shape


@pytest.mark.parametrize("policy", [*POLICIES, ALL_POLICIES])
def test_augment_changes_images(policy):
    images = _images()
    assert not torch.equal(DiffAugment(policy)(images), images)


@pytest.mark.parametrize("policy", [*POLICIES, ALL_POLICIES])
def test_augment_differentiable(policy):
    images = _images().requires_grad_(True)
    DiffAugment(policy)(images).square().sum().backward()
    assert images.grad is not None
    assert torch.isfinite(images.grad).all()
    assert images.grad.abs().sum() > 0


def test_translation_adds_only_white():
    # A shift only moves pixels or brings in the white (1.0) padding, so every output
    # value of a constant image is that constant or 1.
    images = torch.full((8, 3, 16, 16), -0.25)
    values = set(DiffAugment("translation")(images).unique().tolist())
    assert values <= {-0.25, 1.0}


def test_cutout_erases_to_zero():
    images = torch.full((8, 3, 16, 16), 0.75)
    out = DiffAugment("cutout")(images)
    erased = (out == 0).all(dim=1).flatten(start_dim=1).sum(dim=1)  # (B,) pixels per image
    assert torch.equal(erased, torch.full((8,), 8 * 8))  # an 8x8 square: half of each side


def test_augment_draws_per_sample():
    images = _images(batch=1).expand(4, -1, -1, -1)
    out = DiffAugment(ALL_POLICIES)(images)
    assert not torch.equal(out[0], out[1])


def test_augment_same_seed_same_output():
    images = _images()
    assert torch.equal(DiffAugment(ALL_POLICIES, seed=3)(images), DiffAugment(ALL_POLICIES, seed=3)(images))


def test_augment_other_seed_other_output():
    images = _images()
    assert not torch.equal(DiffAugment(ALL_POLICIES, seed=3)(images), DiffAugment(ALL_POLICIES, seed=4)(images))


def test_augment_state_dict_replays_next_draw():
    augment = DiffAugment(ALL_POLICIES, seed=5)
    images = _images()
    augment(images)  # advance the stream past its seeded start

    state = augment.state_dict()
    expected = augment(images)
    augment(images)  # move on, so the replay cannot pass by accident
    augment.load_state_dict(state)
    assert torch.equal(augment(images), expected)


def test_augment_state_dict_moves_to_new_instance():
    source = DiffAugment(ALL_POLICIES, seed=5)
    images = _images()
    source(images)
    target = DiffAugment(ALL_POLICIES, seed=9)
    target.load_state_dict(source.state_dict())
    assert torch.equal(target(images), source(images))


def test_augment_state_dict_is_snapshot():
    augment = DiffAugment(ALL_POLICIES)
    state = augment.state_dict()
    saved = state["generator"].clone()
    augment(_images())
    assert torch.equal(state["generator"], saved)


def test_augment_unknown_policy_named():
    with pytest.raises(ValueError, match="'blur'"):
        DiffAugment("color,blur")


@pytest.mark.parametrize("policy", ["", " ", ", ,"])
def test_augment_empty_policy_identity(policy):
    augment = DiffAugment(policy)
    images = _images()
    assert not augment.enabled
    assert torch.equal(augment(images), images)


def test_augment_policy_ignores_spaces():
    assert DiffAugment(" color , cutout ").policy == ("color", "cutout")
