"""The reference for the throughput ratios: a textbook GAN loop in plain PyTorch.

It trains designgan's own Generator and Critic classes, so the architecture is the
same, but with nothing that designgan's Trainer adds: fp32 in the default (NCHW)
memory format, torch.optim.Adam with its default update kernels, the whole dataset
held as a float tensor, uniformly drawn batches, no augmentation and no EMA.

The BCE step follows pytorch/examples dcgan/main.py: one generator forward pass
with gradients, the discriminator on the detached fakes, then the same fakes scored
again for the generator loss, with the discriminator's weight gradients computed
and thrown away. The WGAN-GP step follows Gulrajani et al. 2017 (Algorithm 1):
n_critic critic updates, each on new fakes with the gradient penalty on random
interpolates, then one generator update on new fakes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config import ModelConfig
from ..models import Critic, Generator


class PlainLoop:
    """A minimal conditional GAN training loop; `step()` does one generator update."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, model_config: ModelConfig, loss: str,
                 batch_size: int = 64, n_critic: int = 1, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999),
                 gp_weight: float = 10.0, seed: int = 0, device: torch.device | str = "cpu"):
        """images: float (N, 3, R, R) in [-1, 1]; labels: float multi-hot (N, K)."""
        if loss not in ("bce", "wgan-gp"):
            raise ValueError(f"PlainLoop loss {loss!r} is invalid; use bce or wgan-gp.")
        self.device = torch.device(device)
        self.images = images.to(self.device)
        self.labels = labels.to(self.device)
        self.loss = loss
        self.batch_size = batch_size
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.latent_dim = model_config.latent_dim
        torch.manual_seed(seed)
        self.generator = Generator(model_config).to(self.device).train()
        self.critic = Critic(model_config).to(self.device).train()
        self.optimizer_g = torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas)
        self.optimizer_c = torch.optim.Adam(self.critic.parameters(), lr=lr, betas=betas)

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        index = torch.randint(len(self.images), (self.batch_size,), device=self.device)
        z = torch.randn(self.batch_size, self.latent_dim, device=self.device)
        return self.images[index], self.labels[index], z

    def step(self) -> int:
        """Run one generator update (and its critic updates); return the images trained on."""
        if self.loss == "bce":
            self._bce_step()
        else:
            self._wgan_gp_step()
        return self.batch_size

    def _bce_step(self) -> None:
        real, keywords, z = self._batch()
        fake = self.generator(z, keywords)

        # Discriminator: maximise log D(x) + log(1 - D(G(z))).
        loss_c = F.softplus(-self.critic(real, keywords)).mean() + F.softplus(self.critic(fake.detach(), keywords)).mean()
        self.optimizer_c.zero_grad()
        loss_c.backward()
        self.optimizer_c.step()

        # Generator: maximise log D(G(z)) on the same fakes.
        loss_g = F.softplus(-self.critic(fake, keywords)).mean()
        self.optimizer_g.zero_grad()
        loss_g.backward()
        self.optimizer_g.step()

    def _wgan_gp_step(self) -> None:
        for _ in range(self.n_critic):
            real, keywords, z = self._batch()
            with torch.no_grad():
                fake = self.generator(z, keywords)

            # Critic: minimise C(G(z)) - C(x) + lambda * (||grad C(x_hat)|| - 1)^2.
            eps = torch.rand(self.batch_size, 1, 1, 1, device=self.device)
            interpolates = (eps * real + (1 - eps) * fake).requires_grad_(True)
            scores = self.critic(interpolates, keywords)
            (grad,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
            penalty = ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
            loss_c = self.critic(fake, keywords).mean() - self.critic(real, keywords).mean() + self.gp_weight * penalty
            self.optimizer_c.zero_grad()
            loss_c.backward()
            self.optimizer_c.step()

        # Generator: minimise -C(G(z)) on new fakes.
        _, keywords, z = self._batch()
        loss_g = -self.critic(self.generator(z, keywords), keywords).mean()
        self.optimizer_g.zero_grad()
        loss_g.backward()
        self.optimizer_g.step()
