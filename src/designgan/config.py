"""Typed configuration for models and training runs.

Every run folder and every exported model stores these dataclasses as JSON, so a
result can always be traced back to the exact settings that produced it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

LossName = Literal["bce", "wgan-gp", "hinge"]
CriticNorm = Literal["spectral", "batch", "none"]
DeviceName = Literal["auto", "cpu", "cuda"]
AdamImplementation = Literal["for-loop", "foreach", "fused"]
Precision = Literal["fp32", "bf16"]
SamplingMode = Literal["uniform", "base-design"]

LOSS_NAMES: tuple[str, ...] = ("bce", "wgan-gp", "hinge")
CRITIC_NORMS: tuple[str, ...] = ("spectral", "batch", "none")
RESOLUTIONS_PX: tuple[int, ...] = (32, 64, 128)
DEVICE_NAMES: tuple[str, ...] = ("auto", "cpu", "cuda")
ADAM_IMPLEMENTATIONS: tuple[str, ...] = ("for-loop", "foreach", "fused")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")
SAMPLING_MODES: tuple[str, ...] = ("uniform", "base-design")


class ConfigError(ValueError):
    """An option is outside its valid range; the message names the option and the range."""


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a generator and critic pair.

    The generator maps a latent vector (latent_dim,) plus a keyword embedding to an
    RGB image (3, resolution_px, resolution_px) in [-1, 1].
    """

    resolution_px: int = 64  # output side in pixels: 32, 64 or 128
    latent_dim: int = 128  # size of the noise vector z
    width: int = 32  # base channel count; the widest layer has width * resolution_px / 8 channels
    num_keywords: int = 0  # vocabulary size; 0 trains an unconditional model
    embed_dim: int = 64  # size of the learned keyword embedding
    critic_norm: CriticNorm = "spectral"  # normalisation inside the critic
    minibatch_std_group: int = 0  # images per minibatch-standard-deviation group in the critic; 0 = off

    def validate(self) -> "ModelConfig":
        if self.resolution_px not in RESOLUTIONS_PX:
            raise ConfigError(f"resolution_px={self.resolution_px} is not supported; use one of {RESOLUTIONS_PX}.")
        if not 1 <= self.latent_dim <= 4096:
            raise ConfigError(f"latent_dim={self.latent_dim} is out of range; use 1..4096.")
        if not 4 <= self.width <= 512:
            raise ConfigError(f"width={self.width} is out of range; use 4..512 channels.")
        if self.num_keywords < 0:
            raise ConfigError(f"num_keywords={self.num_keywords} must be 0 (unconditional) or more.")
        if not 1 <= self.embed_dim <= 4096:
            raise ConfigError(f"embed_dim={self.embed_dim} is out of range; use 1..4096.")
        if self.critic_norm not in CRITIC_NORMS:
            raise ConfigError(f"critic_norm={self.critic_norm!r} is invalid; use one of {CRITIC_NORMS}.")
        if not 0 <= self.minibatch_std_group <= 64:
            raise ConfigError(f"minibatch_std_group={self.minibatch_std_group} is out of range; use 0 (off) to 64.")
        return self

    @property
    def conditional(self) -> bool:
        return self.num_keywords > 0


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation recipe of a training run. Defaults suit 64 px OpenMoji on a CPU."""

    loss: LossName = "bce"
    batch_size: int = 64  # images per step; clamped to the dataset size when larger
    steps: int = 10_000  # generator updates
    max_minutes: float = 0.0  # stop after this wall-clock time in minutes; 0 = no limit
    lr_generator: float = 2e-4
    lr_critic: float = 2e-4
    beta1: float = 0.5  # Adam beta1: 0.5 for BCE and hinge, 0 for WGAN-GP
    beta2: float = 0.999  # Adam beta2: 0.999 for BCE and hinge, 0.9 for WGAN-GP
    n_critic: int = 1  # critic updates per generator update (5 for WGAN-GP)
    gp_weight: float = 10.0  # lambda of the WGAN-GP gradient penalty
    diffaugment: str = "color,translation,cutout"  # DiffAugment policy; "" turns it off
    ema_decay: float = 0.995  # per-step decay of the generator's moving average (half-life ~140 steps)
    ema_start_step: int = 0  # copy the raw weights into the EMA until this step
    sampling: SamplingMode = "uniform"  # uniform, or base-design: every design's variants (skin tones) share one draw
    # Weight of the mode-seeking term against collapse within a keyword set, 0 = off.
    # NOTE: the bound of 100 is a sanity limit, not a measured one; only weight 1 was tried on OpenMoji.
    mode_seeking: float = 0.0
    conditional: bool = True  # condition on keywords; False trains an unconditional model
    seed: int = 0
    sample_keywords: tuple[str, ...] = ()  # keyword sets, one per sample-grid row; () = sets of real designs
    sample_every: int = 500  # steps between sample grids
    checkpoint_every: int = 500  # steps between checkpoints
    log_every: int = 10  # steps between metric lines in metrics.jsonl
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    tensorboard: bool = False  # also write TensorBoard event files (needs the tensorboard extra)
    channels_last: bool = True  # NHWC memory format for both networks: faster convolutions on CPU
    reuse_fakes: bool = True  # the generator update scores the last critic step's fakes instead of drawing new ones
    device: DeviceName = "auto"  # auto = CUDA when available; under torchrun each rank takes GPU LOCAL_RANK
    adam_implementation: AdamImplementation = "for-loop"  # torch.optim.Adam update kernels: for-loop, foreach, fused
    compile: bool = False  # torch.compile both networks' training passes (needs a C++ compiler on CPU)
    joint_critic_pass: bool = False  # critics without batch norm score real and fake images in one pass
    precision: Precision = "fp32"  # bf16: bfloat16 autocast of the forward passes, for GPUs and CPUs with bf16 units

    def validate(self) -> "TrainConfig":
        if self.loss not in LOSS_NAMES:
            raise ConfigError(f"--loss {self.loss!r} is invalid; use one of {', '.join(LOSS_NAMES)}.")
        checks = [
            ("--batch-size", self.batch_size, 1, 65536),
            ("--steps", self.steps, 1, 10**9),
            ("--n-critic", self.n_critic, 1, 100),
            ("--sample-every", self.sample_every, 1, 10**9),
            ("--checkpoint-every", self.checkpoint_every, 1, 10**9),
            ("--log-every", self.log_every, 1, 10**9),
            ("--threads", self.threads, 0, 1024),
            ("--seed", self.seed, 0, 2**63 - 1),
        ]
        for flag, value, low, high in checks:
            if not low <= value <= high:
                raise ConfigError(f"{flag} {value} is out of range; use {low}..{high}.")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"--ema-decay {self.ema_decay} is out of range; use 0 <= decay < 1.")
        if self.device not in DEVICE_NAMES:
            raise ConfigError(f"--device {self.device!r} is invalid; use one of {', '.join(DEVICE_NAMES)}.")
        if self.adam_implementation not in ADAM_IMPLEMENTATIONS:
            raise ConfigError(f"--adam-implementation {self.adam_implementation!r} is invalid; "
                              f"use one of {', '.join(ADAM_IMPLEMENTATIONS)}.")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"--precision {self.precision!r} is invalid; use one of {', '.join(PRECISIONS)}.")
        if self.max_minutes < 0:
            raise ConfigError(f"--max-minutes {self.max_minutes} must be 0 (no limit) or more.")
        if self.lr_generator <= 0 or self.lr_critic <= 0:
            raise ConfigError(f"--lr-generator {self.lr_generator} and --lr-critic {self.lr_critic} must both be positive.")
        if self.sampling not in SAMPLING_MODES:
            raise ConfigError(f"--sampling {self.sampling!r} is invalid; use one of {', '.join(SAMPLING_MODES)}.")
        if not 0.0 <= self.mode_seeking <= 100.0:
            raise ConfigError(f"--mode-seeking {self.mode_seeking} is out of range; use 0 (off) to 100.")
        if self.gp_weight < 0:
            raise ConfigError(f"--gp-weight {self.gp_weight} must be 0 or more.")
        return self


def loss_defaults(loss: str) -> dict[str, Any]:
    """Return the recipe settings that suit each loss.

    BCE follows DCGAN (Adam betas 0.5/0.999, one discriminator step). WGAN-GP follows
    Gulrajani et al. 2017 (betas 0/0.9, five critic steps, lr 1e-4). Hinge follows the
    spectral-norm GAN recipe for a DCGAN-sized network with one critic step (Miyato et
    al. 2018: betas 0.5/0.999); with betas 0/0.9 the OpenMoji generator collapsed to a
    single image within 200 steps.
    """
    if loss == "bce":
        return {"beta1": 0.5, "beta2": 0.999, "n_critic": 1, "lr_generator": 2e-4, "lr_critic": 2e-4}
    if loss == "wgan-gp":
        return {"beta1": 0.0, "beta2": 0.9, "n_critic": 5, "lr_generator": 1e-4, "lr_critic": 1e-4}
    if loss == "hinge":
        return {"beta1": 0.5, "beta2": 0.999, "n_critic": 1, "lr_generator": 2e-4, "lr_critic": 2e-4}
    raise ConfigError(f"--loss {loss!r} is invalid; use one of {', '.join(LOSS_NAMES)}.")


def critic_norm_default(loss: str) -> str:
    """Return the critic normalisation that suits each loss.

    BCE and hinge use the DCGAN discriminator with batch norm. On OpenMoji a
    spectral-norm critic with these widths separated real from fake within 50 steps
    (critic loss near 0) and the generator collapsed to one image, while the batch-norm
    discriminator kept the samples diverse. WGAN-GP penalises per-sample input
    gradients, which batch norm would mix across the batch, so its critic has none.
    """
    return "none" if loss == "wgan-gp" else "batch"


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def from_dict(cls: type, values: dict[str, Any]):
    """Build a config dataclass from a dict, ignoring unknown keys from newer versions."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


__all__ = [
    "ConfigError",
    "ModelConfig",
    "TrainConfig",
    "loss_defaults",
    "critic_norm_default",
    "to_dict",
    "from_dict",
]
