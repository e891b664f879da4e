"""GAN objectives and the WGAN-GP gradient penalty, checked against hand-computed values."""

import math

import pytest
import torch
import torch.nn.functional as F

from designgan.losses import (
    LOSSES,
    bce_discriminator_loss,
    bce_generator_loss,
    get_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    hinge_generator_loss,
    mode_seeking_loss,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
)

REAL = torch.tensor([2.0, -0.5, 0.3, 1.5])
FAKE = torch.tensor([-1.0, 0.7, -2.5, 0.1])


def _mean(values) -> float:
    return sum(values) / len(values)


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


# ------------------------------------------------------------------------------------
# Known values on fixed logits


def test_bce_discriminator_zero_logits():
    zeros = torch.zeros(4)
    assert bce_discriminator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))


def test_bce_generator_zero_logits():
    assert bce_generator_loss(torch.zeros(4)).item() == pytest.approx(math.log(2))


def test_bce_discriminator_softplus_formula():
    expected = _mean([_softplus(-r) for r in REAL.tolist()]) + _mean([_softplus(f) for f in FAKE.tolist()])
    assert bce_discriminator_loss(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_bce_generator_softplus_formula():
    expected = _mean([_softplus(-f) for f in FAKE.tolist()])
    assert bce_generator_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_bce_discriminator_stable_for_large_logits():
    loss = bce_discriminator_loss(torch.tensor([200.0]), torch.tensor([-200.0]))
    assert loss.item() == pytest.approx(0.0, abs=1e-6)


def test_hinge_discriminator_formula():
    expected = _mean([max(0.0, 1 - r) for r in REAL.tolist()]) + _mean([max(0.0, 1 + f) for f in FAKE.tolist()])
    assert hinge_discriminator_loss(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_hinge_discriminator_zero_beyond_margin():
    assert hinge_discriminator_loss(torch.tensor([1.0, 3.0]), torch.tensor([-1.0, -4.0])).item() == 0.0


def test_hinge_generator_formula():
    assert hinge_generator_loss(FAKE).item() == pytest.approx(-_mean(FAKE.tolist()), rel=1e-6)


def test_wasserstein_critic_formula():
    expected = _mean(FAKE.tolist()) - _mean(REAL.tolist())
    assert wasserstein_critic_loss(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_wasserstein_generator_formula():
    assert wasserstein_generator_loss(FAKE).item() == pytest.approx(-_mean(FAKE.tolist()), rel=1e-6)


# ------------------------------------------------------------------------------------
# Signs: a critic that separates real from fake better has a lower loss, and a
# generator whose fakes score higher has a lower loss.


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_better_critic_lower_loss(name):
    loss = get_loss(name)
    weak = loss.critic(torch.tensor([0.1, 0.2]), torch.tensor([0.0, -0.1]))
    strong = loss.critic(torch.tensor([0.9, 0.8]), torch.tensor([-0.7, -0.9]))
    assert strong < weak


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_fooling_generator_lower_loss(name):
    loss = get_loss(name)
    caught = loss.generator(torch.tensor([-2.0, -1.0]))
    fooling = loss.generator(torch.tensor([1.0, 2.0]))
    assert fooling < caught


def test_only_wgan_gp_uses_gradient_penalty():
    assert {name for name, loss in LOSSES.items() if loss.uses_gradient_penalty} == {"wgan-gp"}


def test_get_loss_unknown_names_choices():
    with pytest.raises(ValueError, match="'lsgan'.*bce, wgan-gp, hinge"):
        get_loss("lsgan")


# ------------------------------------------------------------------------------------
# Gradient penalty. For a linear critic C(x) = <w, x> the input gradient is w at
# every interpolate, so the penalty is exactly (||w|| - 1)^2 whatever eps is drawn.


def _linear_critic(weight: torch.Tensor):
    return lambda images: images.flatten(start_dim=1) @ weight


def _images(seed: int, batch: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    rng = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, 4, 4, generator=rng), torch.randn(batch, 3, 4, 4, generator=rng)


def test_gradient_penalty_linear_critic():
    weight = torch.randn(48, generator=torch.Generator().manual_seed(1))
    real, fake = _images(2)
    expected = (weight.norm().item() - 1.0) ** 2
    assert gradient_penalty(_linear_critic(weight), real, fake).item() == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_unit_norm_is_zero():
    weight = torch.randn(48, generator=torch.Generator().manual_seed(1))
    real, fake = _images(2)
    penalty = gradient_penalty(_linear_critic(weight / weight.norm()), real, fake)
    assert penalty.item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_per_sample_norm():
    # C(x) = sum_i <w, x_i>^2 / 2 has gradient <w, x_i> w for sample i, whose norm
    # depends on the interpolate, so this checks the penalty at the drawn eps.
    weight = torch.full((48,), 0.1)
    real, fake = _images(3)
    rng_seed = 5
    eps = torch.rand(4, 1, 1, 1, generator=torch.Generator().manual_seed(rng_seed))
    interpolates = (eps * real + (1 - eps) * fake).flatten(start_dim=1)
    norms = (interpolates @ weight).abs() * weight.norm()
    expected = ((norms - 1.0) ** 2).mean().item()

    critic = lambda images: 0.5 * (images.flatten(start_dim=1) @ weight) ** 2  # noqa: E731
    penalty = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(rng_seed))
    assert penalty.item() == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_same_generator_same_value():
    critic = lambda images: 0.5 * images.flatten(start_dim=1).sum(dim=1) ** 2  # noqa: E731
    real, fake = _images(4)
    first = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    second = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    assert torch.equal(first, second)


def test_gradient_penalty_fp32_result_from_bf16_inputs():
    weight = torch.randn(48, generator=torch.Generator().manual_seed(1))
    real, fake = _images(2)
    penalty = gradient_penalty(_linear_critic(weight), real.bfloat16(), fake.bfloat16())
    assert penalty.dtype == torch.float32


def test_gradient_penalty_fp32_under_autocast():
    # The critic's weight norm is 1 + 1e-3, so the penalty is 1e-6. Rounding the weights
    # to bf16 (8 significant bits) moves the norm by about 4e-4 and the penalty by about
    # 80%, while fp32 keeps it within 1%.
    critic = torch.nn.Linear(48, 1, bias=False)
    with torch.no_grad():
        critic.weight.fill_(1.0)
        critic.weight.mul_((1.0 + 1e-3) / critic.weight.norm())
    real, fake = _images(2)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        penalty = gradient_penalty(lambda x: critic(x.flatten(start_dim=1)).squeeze(1), real, fake)
    assert penalty.dtype == torch.float32
    assert penalty.item() == pytest.approx(1e-6, rel=1e-2)


def test_gradient_penalty_differentiable_wrt_critic():
    weight = torch.randn(48, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    real, fake = _images(2)
    gradient_penalty(_linear_critic(weight), real, fake).backward()

    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    norm = weight.detach().norm()
    expected = 2.0 * (norm - 1.0) * weight.detach() / norm
    assert torch.allclose(weight.grad, expected, rtol=1e-4, atol=1e-6)


def test_gradient_penalty_no_grad_to_images():
    weight = torch.randn(48, generator=torch.Generator().manual_seed(1))
    real, fake = (x.requires_grad_(True) for x in _images(2))
    weight.requires_grad_(True)
    gradient_penalty(_linear_critic(weight), real, fake).backward()
    assert real.grad is None
    assert fake.grad is None


# ------------------------------------------------------------------------------------
# Mode-seeking term


def test_mode_seeking_formula():
    images_a, images_b = torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.5)
    z_a, z_b = torch.zeros(2, 8), torch.full((2, 8), 2.0)
    # image distance 0.5, noise distance 2.0: 1 / (0.25 + 1e-5)
    assert mode_seeking_loss(images_a, images_b, z_a, z_b).item() == pytest.approx(1 / (0.25 + 1e-5))


def test_mode_seeking_penalises_identical_images():
    z_a, z_b = torch.zeros(2, 8), torch.ones(2, 8)
    same = mode_seeking_loss(torch.ones(2, 3, 4, 4), torch.ones(2, 3, 4, 4), z_a, z_b)
    apart = mode_seeking_loss(torch.ones(2, 3, 4, 4), -torch.ones(2, 3, 4, 4), z_a, z_b)
    assert same.item() == pytest.approx(1e5)
    assert apart.item() < same.item()


def test_mode_seeking_pushes_images_apart():
    images_a = torch.zeros(2, 3, 4, 4)
    images_b = torch.full((2, 3, 4, 4), 0.1, requires_grad=True)
    loss = mode_seeking_loss(images_a, images_b, torch.zeros(2, 8), torch.ones(2, 8))
    loss.backward()
    # Minimising the term must raise images_b away from images_a (all zeros).
    assert (images_b.grad < 0).all()
