"""DiffAugment: differentiable augmentation of real and fake images before the critic.

Zhao et al. 2020 showed that augmenting both real and generated images, with the
same differentiable transforms, stops the critic from memorising a small training
set. Each transform draws its own parameters per sample from a dedicated
`torch.Generator`, whose state is saved in checkpoints so that a resumed run draws
the same augmentations as an uninterrupted one.

In data-parallel training every rank holds the same generator state, draws the
parameters for the whole global batch (world_size * B images) and keeps the rows of
its own shard, so N ranks augment exactly as one process with the global batch does.
"""

from __future__ import annotations

import torch

POLICIES = ("color", "translation", "cutout")


class DiffAugment:
    """Apply a comma-separated policy ("color,translation,cutout") to images (B, 3, H, W)
    in [-1, 1]. An empty policy is the identity."""

    def __init__(self, policy: str, seed: int = 0, device: str | torch.device = "cpu",
                 translation_ratio: float = 0.125, cutout_ratio: float = 0.5, rank: int = 0, world_size: int = 1):
        self.policy = tuple(p.strip() for p in policy.split(",") if p.strip())
        unknown = [p for p in self.policy if p not in POLICIES]
        if unknown:
            raise ValueError(f"DiffAugment policy {unknown[0]!r} is unknown; use a comma-separated subset of {', '.join(POLICIES)}.")
        self.translation_ratio = translation_ratio  # largest shift, as a fraction of the side
        self.cutout_ratio = cutout_ratio  # side of the erased square, as a fraction of the side
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is out of range for world_size {world_size}; use 0..{world_size - 1}.")
        self.rank = rank  # this process's shard of each global batch
        self.world_size = world_size
        # Parameters are drawn on the generator's device and moved to the images' device,
        # so a CPU generator keeps one random stream for CPU and GPU training alike.
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed)

    @property
    def enabled(self) -> bool:
        return bool(self.policy)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        for name in self.policy:
            images = getattr(self, f"_{name}")(images)
        return images

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])

    def _shard(self, values: torch.Tensor, dim: int, device: torch.device) -> torch.Tensor:
        """Keep this rank's rows of values drawn for the global batch along `dim`."""
        size = values.shape[dim] // self.world_size
        return values.narrow(dim, self.rank * size, size).to(device)

    def _rand(self, *shape: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """U(0, 1) of `shape`, whose first dimension is the local batch."""
        drawn = torch.rand(shape[0] * self.world_size, *shape[1:], generator=self.generator,
                           device=self.generator.device)
        return self._shard(drawn, 0, device).to(dtype)

    def _randint(self, low: int, high: int, shape: tuple[int, ...], batch_dim: int, device: torch.device) -> torch.Tensor:
        """Integers in [low, high) of `shape`, whose dimension `batch_dim` is the local batch."""
        global_shape = list(shape)
        global_shape[batch_dim] *= self.world_size
        drawn = torch.randint(low, high, tuple(global_shape), generator=self.generator, device=self.generator.device)
        return self._shard(drawn, batch_dim, device)

    def _color(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]

        # Brightness: add U(-0.5, 0.5) per sample.
        x = x + (self._rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)

        # Saturation: scale the distance from the per-pixel grey by U(0, 2).
        grey = x.mean(dim=1, keepdim=True)
        x = (x - grey) * (self._rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) * 2.0) + grey

        # Contrast: scale the distance from the image mean by U(0.5, 1.5).
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - mean) * (self._rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean

    def _translation(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        pad = max(1, int(h * self.translation_ratio + 0.5))
        shift = self._randint(-pad, pad + 1, (2, b, 1), batch_dim=1, device=x.device)

        # Pad with the white background value, then crop a shifted window per sample by
        # gathering rows and columns: rows (B, H), columns (B, W) index the padded image.
        padded = torch.nn.functional.pad(x, (pad, pad, pad, pad), value=1.0)
        rows = torch.arange(h, device=x.device)[None, :] + pad + shift[0]
        cols = torch.arange(w, device=x.device)[None, :] + pad + shift[1]
        batch = torch.arange(b, device=x.device)[:, None, None]
        return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)

    def _cutout(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        size_y, size_x = int(h * self.cutout_ratio + 0.5), int(w * self.cutout_ratio + 0.5)
        top = self._randint(0, h - size_y + 1, (b, 1, 1), batch_dim=0, device=x.device)
        left = self._randint(0, w - size_x + 1, (b, 1, 1), batch_dim=0, device=x.device)
        rows = torch.arange(h, device=x.device)[None, :, None]
        cols = torch.arange(w, device=x.device)[None, None, :]
        inside = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)  # (B, H, W)

        # Erased pixels become 0, the middle of [-1, 1], as in the original method.
        return x * (~inside).unsqueeze(1).to(x.dtype)
