"""GAN objectives: BCE (non-saturating), WGAN-GP and hinge.

Every function takes raw critic outputs (logits or scores, shape (B,)) and returns
a scalar to minimise. `GANLoss` bundles the pair used by one training recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F


def bce_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))], with D = sigmoid(logits).

    Written as softplus(-l_real) + softplus(l_fake), which is the same value computed
    stably from logits (Goodfellow et al. 2014).
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def bce_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss -E[log D(G(z))] = E[softplus(-l_fake)].

    It keeps strong gradients early in training, when the discriminator rejects
    every fake, where the minimax form log(1 - D(G(z))) would saturate.
    """
    return F.softplus(-fake_logits).mean()


def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E[C(G(z))] - E[C(x)]: the negated estimate of the Wasserstein-1 distance
    (Arjovsky et al. 2017). The gradient penalty is added separately."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """-E[C(G(z))]."""
    return -fake_scores.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
    eps: torch.Tensor | None = None,
) -> torch.Tensor:
    """E[(||grad_x C(x_hat)||_2 - 1)^2] with x_hat = eps * real + (1 - eps) * fake.

    Gulrajani et al. 2017: eps ~ U(0, 1) per sample, the norm taken over all pixels and
    channels of each sample. Computed in fp32 even under autocast, because the squared
    difference of a norm near 1 loses most of its digits in bf16. `critic` maps images
    (B, 3, H, W) to scores (B,); the penalty is differentiable w.r.t. its parameters.
    `eps` (B, 1, 1, 1) may be given, as data-parallel training does to draw it for the
    global batch; otherwise it is drawn from `generator`.
    """
    real = real.detach().float()
    fake = fake.detach().float()
    if eps is None:
        eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, generator=generator)
    interpolates = (eps * real + (1.0 - eps) * fake).requires_grad_(True)

    # The gradient is taken inside the fp32 block too, because with create_graph=True
    # the backward ops run under the caller's autocast state. Outside this block the
    # gradient came out in bf16 (torch 2.13, CPU).
    with torch.autocast(device_type=real.device.type, enabled=False):
        scores = critic(interpolates).float()
        (grad,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
        norms = grad.flatten(start_dim=1).norm(2, dim=1)  # (B,)
        return ((norms - 1.0) ** 2).mean()


def hinge_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))] (Lim and Ye 2017; Miyato et al. 2018)."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-E[D(G(z))]."""
    return -fake_logits.mean()


def mode_seeking_loss(images_a: torch.Tensor, images_b: torch.Tensor, z_a: torch.Tensor, z_b: torch.Tensor,
                      eps: float = 1e-5) -> torch.Tensor:
    """1 / (mean|G(z_a, c) - G(z_b, c)| / mean|z_a - z_b| + eps), for pairs drawn with the same keywords c.

    The mode-seeking term of Mao et al. 2019: the generator minimises it, so images drawn
    from two noise vectors must differ in proportion to the distance of the vectors. A
    conditional generator that ignores its noise (every "cat" the same) makes the ratio
    small and this term large. Its gradient, -1/ratio^2, fades once the images differ.
    Images are (P, C, H, W) in [-1, 1] and noise vectors (P, latent). The means run over
    all pairs and elements, so one pair's tiny distance cannot blow the term up on its own.
    """
    image_distance = (images_a.float() - images_b.float()).abs().mean()
    noise_distance = (z_a.float() - z_b.float()).abs().mean()
    return 1.0 / (image_distance / noise_distance + eps)


@dataclass(frozen=True)
class GANLoss:
    """The critic and generator objectives of one recipe."""

    name: str
    critic: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: Callable[[torch.Tensor], torch.Tensor]
    uses_gradient_penalty: bool = False


LOSSES: dict[str, GANLoss] = {
    "bce": GANLoss("bce", bce_discriminator_loss, bce_generator_loss),
    "wgan-gp": GANLoss("wgan-gp", wasserstein_critic_loss, wasserstein_generator_loss, uses_gradient_penalty=True),
    "hinge": GANLoss("hinge", hinge_discriminator_loss, hinge_generator_loss),
}


def get_loss(name: str) -> GANLoss:
    if name not in LOSSES:
        raise ValueError(f"loss {name!r} is unknown; use one of {', '.join(LOSSES)}.")
    return LOSSES[name]
