"""The benchmark's sections: training throughput, generation latency, cost growth and
the fraction of the machine's matrix-multiply peak that training reaches."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import multiprocessing

import numpy as np
import torch

from ..config import ModelConfig, TrainConfig, critic_norm_default, loss_defaults
from ..data.dataset import DesignDataset
from ..data.vocabulary import Vocabulary
from ..models import Generator
from ..training import Trainer
from .measure import Alternation, PeakMemory, alternate, count_flops, matmul_variant, synchronize
from .plain import PlainLoop

logger = logging.getLogger(__name__)

PLAIN = "plain PyTorch loop"
DESIGNGAN = "designgan Trainer"
DESIGNGAN_NO_AUGMENT = "designgan Trainer, no DiffAugment"
MATMUL_PEAK = "fp32 matrix multiply"  # a variant whose rate is FLOP/s, not images/s


@dataclass(frozen=True)
class BenchConfig:
    """What to measure and for how long."""

    device: torch.device = torch.device("cpu")
    batch_size: int = 64  # images per training step
    width: int = 32  # base channels of both networks
    # Short calls and many rounds: on a shared machine the load changes within minutes,
    # and a round of one step per variant keeps the variants it compares seconds apart.
    rounds: int = 12  # alternation rounds of the training variants
    bce_steps_per_call: int = 1  # BCE steps timed per variant per round
    wgan_steps_per_call: int = 1  # WGAN-GP steps (5 critic updates each) per variant per round
    ablations: bool = True  # also time designgan with each speed option switched
    compile: bool = True  # include the torch.compile variant among the ablations
    growth_steps: int = 3  # timed steps per cost-growth point
    resolutions_px: tuple[int, ...] = (32, 64, 128)
    vocabulary_sizes: tuple[int, ...] = (10, 100, 1000, 5000)
    generation_batches: tuple[int, ...] = (1, 16, 64)

    @classmethod
    def quick(cls, device: torch.device) -> "BenchConfig":
        return cls(device=device, rounds=4, ablations=False, compile=False, growth_steps=1)


# ----------------------------------------------------------------------------------
# Training throughput


@dataclass
class TrainingResult:
    loss: str
    alternation: Alternation
    baseline: str
    batch_size: int
    width: int
    resolution_px: int
    flops_per_image: dict[str, float] = field(default_factory=dict)  # variant -> FLOPs of a step per image
    forward_flops_per_image: dict[str, float] = field(default_factory=dict)  # "Generator", "Critic" -> one forward pass
    notes: list[str] = field(default_factory=list)


def _trainer(dataset: DesignDataset, loss: str, config: BenchConfig, **overrides: Any) -> Trainer:
    model_config = ModelConfig(width=config.width, critic_norm=critic_norm_default(loss))
    device_name = "cuda" if config.device.type == "cuda" else "cpu"
    train_config = TrainConfig(loss=loss, batch_size=config.batch_size, device=device_name,
                               **{**loss_defaults(loss), **overrides})
    run_dir = tempfile.mkdtemp(prefix="designgan-bench-")  # never written: the benchmark calls train_step only
    return Trainer(dataset, model_config, train_config, run_dir, progress=False)


def _plain(dataset: DesignDataset, loss: str, config: BenchConfig) -> PlainLoop:
    images = torch.from_numpy(np.asarray(dataset.images)).permute(0, 3, 1, 2).float().mul_(2.0 / 255.0).sub_(1.0)
    labels = torch.from_numpy(np.asarray(dataset.labels)).float()
    model_config = ModelConfig(width=config.width, critic_norm=critic_norm_default(loss),
                               num_keywords=dataset.num_keywords, resolution_px=dataset.resolution_px)
    recipe = loss_defaults(loss)
    return PlainLoop(images, labels, model_config, loss, batch_size=config.batch_size, n_critic=recipe["n_critic"],
                     lr=recipe["lr_generator"], betas=(recipe["beta1"], recipe["beta2"]), device=config.device)


def _steps(step: Callable[[], Any], images_per_step: int, count: int, device: torch.device) -> Callable[[], int]:
    def run() -> int:
        for _ in range(count):
            step()
        synchronize(device)
        return images_per_step * count

    return run


def _with_threads(threads: int, run: Callable[[], int]) -> Callable[[], int]:
    """Run with `threads` intra-op threads, then restore the process's setting."""

    def wrapped() -> int:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return run()
        finally:
            torch.set_num_threads(previous)

    return wrapped


def training_throughput(dataset: DesignDataset, loss: str, config: BenchConfig,
                        log: Callable[[str], None], with_peak: bool = True) -> TrainingResult:
    """Alternate the plain loop and designgan's Trainer (defaults, without DiffAugment,
    and with each speed option switched) and count FLOPs per training image. With
    `with_peak`, a 2048 x 2048 fp32 matrix product runs in every round too, so that the
    fraction of the peak compares rates measured seconds apart."""
    count = config.bce_steps_per_call if loss == "bce" else config.wgan_steps_per_call
    plain = _plain(dataset, loss, config)
    makers: dict[str, Callable[[], Trainer]] = {
        DESIGNGAN: lambda: _trainer(dataset, loss, config),
        DESIGNGAN_NO_AUGMENT: lambda: _trainer(dataset, loss, config, diffaugment=""),
    }
    threads = torch.get_num_threads()
    # WGAN-GP steps cost about five BCE steps, so its ablations keep to the options that
    # change its work; the optimizer, compiler and thread options are timed with BCE.
    every_option = loss == "bce"
    if config.ablations:
        no_augment = {"diffaugment": ""}
        makers["  channels_last off"] = lambda: _trainer(dataset, loss, config, channels_last=False, **no_augment)
        makers["  reuse_fakes off"] = lambda: _trainer(dataset, loss, config, reuse_fakes=False, **no_augment)
        if critic_norm_default(loss) != "batch":
            makers["  joint critic pass on"] = lambda: _trainer(dataset, loss, config, joint_critic_pass=True,
                                                                **no_augment)
        if every_option:
            makers["  Adam foreach"] = lambda: _trainer(dataset, loss, config, adam_implementation="foreach",
                                                        **no_augment)
            makers["  Adam fused"] = lambda: _trainer(dataset, loss, config, adam_implementation="fused", **no_augment)
        if config.compile and every_option:
            makers["  torch.compile"] = lambda: _trainer(dataset, loss, config, compile=True, **no_augment)
        if config.device.type == "cuda":
            # bf16 is emulated on CPUs without bf16 units (a bf16 matrix product here once ran
            # for minutes), so the benchmark times it on GPUs only.
            makers["  bf16 autocast"] = lambda: _trainer(dataset, loss, config, precision="bf16", **no_augment)

    variants: dict[str, Callable[[], int]] = {PLAIN: _steps(plain.step, config.batch_size, count, config.device)}
    trainers: dict[str, Trainer] = {}
    result = TrainingResult(loss, Alternation(), PLAIN, config.batch_size, config.width, dataset.resolution_px)
    for name, make in makers.items():
        trainer = trainers[name] = make()
        run = _steps(trainer.train_step, trainer.global_batch_size, count, config.device)
        if "torch.compile" in name:
            # Compilation happens in the first steps; time it once, apart from the rounds.
            start = time.perf_counter()
            trainer.train_step()
            trainer.train_step()
            result.notes.append(f"torch.compile: the first two {loss} steps took {time.perf_counter() - start:.0f} s "
                                "(compilation), excluded from the rates.")
        variants[name] = run
    if config.ablations and every_option and config.device.type == "cpu" and threads > 1:
        one_thread = _trainer(dataset, loss, config, diffaugment="")
        variants[f"  1 thread instead of {threads}"] = _with_threads(
            1, _steps(one_thread.train_step, one_thread.global_batch_size, count, config.device))

    if with_peak:
        variants[MATMUL_PEAK] = matmul_variant(config.device)
    log(f"training throughput, {loss}: {len(variants)} variants x {config.rounds} rounds of {count} steps")
    result.alternation = alternate(variants, config.rounds, log=log)

    # FLOPs of one step per image trained on, and of one forward pass of each network.
    for name, step, images in ((PLAIN, plain.step, config.batch_size),
                               (DESIGNGAN, trainers[DESIGNGAN].train_step, trainers[DESIGNGAN].global_batch_size)):
        result.flops_per_image[name] = count_flops(step) / images
    z = torch.randn(config.batch_size, plain.latent_dim, device=config.device)
    keywords = plain.labels[: config.batch_size]
    with torch.no_grad():
        fake = plain.generator(z, keywords)
        result.forward_flops_per_image["Generator"] = count_flops(lambda: plain.generator(z, keywords)) / config.batch_size
        result.forward_flops_per_image["Critic"] = count_flops(lambda: plain.critic(fake, keywords)) / config.batch_size
    return result


# ----------------------------------------------------------------------------------
# Generation latency


def in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """Return `function(*args)` computed in a new Python process.

    Memory is measured there: in a process that has already trained, the allocator
    reuses pages that earlier work left resident, and the peak resident set barely
    grows (measured here: 8 MiB for a 64 px training step that needs hundreds)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def _generation_memory(num_keywords: int, batch: int, config: BenchConfig) -> float | None:
    model_config = ModelConfig(width=config.width, num_keywords=num_keywords)
    generator = Generator(model_config).to(config.device).eval()
    z = torch.randn(batch, model_config.latent_dim, device=config.device)
    keywords = torch.zeros(batch, num_keywords, device=config.device)
    keywords[:, 0] = 1.0
    with PeakMemory(config.device) as memory, torch.inference_mode():
        generator(z, keywords)
    return memory.mib


@dataclass
class GenerationRow:
    batch: int
    ms_per_image: float  # default memory format
    ms_per_image_channels_last: float
    peak_mib: float | None


def generation_latency(num_keywords: int, config: BenchConfig, log: Callable[[str], None]) -> list[GenerationRow]:
    """Time the generator's forward pass in eval mode under torch.inference_mode, in the
    default and the channels-last memory format, alternated."""
    model_config = ModelConfig(width=config.width, num_keywords=num_keywords)
    torch.manual_seed(0)
    plain = Generator(model_config).to(config.device).eval()
    channels_last = Generator(model_config).to(config.device).eval().to(memory_format=torch.channels_last)
    channels_last.load_state_dict(plain.state_dict())
    rows = []
    for batch in config.generation_batches:
        z = torch.randn(batch, model_config.latent_dim, device=config.device)
        keywords = torch.zeros(batch, num_keywords, device=config.device)
        keywords[:, 0] = 1.0
        repeats = max(1, 256 // batch)  # about 256 images per timed call

        def timed(generator: torch.nn.Module) -> Callable[[], int]:
            def run() -> int:
                with torch.inference_mode():
                    for _ in range(repeats):
                        generator(z, keywords)
                synchronize(config.device)
                return batch * repeats

            return run

        alternation = alternate({"default": timed(plain), "channels_last": timed(channels_last)},
                                rounds=max(3, config.rounds))
        peak_mib = in_fresh_process(_generation_memory, num_keywords, batch, config)
        rows.append(GenerationRow(batch, 1000.0 / alternation.median_rate("default"),
                                  1000.0 / alternation.median_rate("channels_last"), peak_mib))
        log(f"generation, batch {batch}: {rows[-1].ms_per_image:.2f} ms/image")
    return rows


# ----------------------------------------------------------------------------------
# Cost growth


@dataclass
class GrowthRow:
    resolution_px: int
    num_keywords: int
    step_ms: float
    peak_mib: float | None  # peak resident-set growth: networks, optimizer states, activations and caches


def synthetic_dataset(count: int, resolution_px: int, num_keywords: int, seed: int = 0) -> DesignDataset:
    """Random images, each with 1 to 3 random keywords out of `num_keywords`."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, resolution_px, resolution_px, 3), dtype=np.uint8)
    labels = np.zeros((count, num_keywords), dtype=np.uint8)
    for row in labels:
        row[rng.choice(num_keywords, size=min(num_keywords, int(rng.integers(1, 4))), replace=False)] = 1
    vocabulary = Vocabulary(keywords=tuple(f"keyword{i}" for i in range(num_keywords)),
                            counts=tuple(int(n) for n in labels.sum(axis=0)))
    return DesignDataset(images=images, labels=labels, vocabulary=vocabulary,
                         source_ids=[f"synthetic-{i}" for i in range(count)],
                         render={"source": "synthetic", "resolution_px": resolution_px})


def _growth_point(resolution_px: int, num_keywords: int, config: BenchConfig) -> GrowthRow:
    """Time the default BCE recipe on random data of one shape; runs in a fresh process."""
    # The measured memory covers the data too: in a fresh process the allocator has no
    # freed blocks to reuse yet, so the growth from here is what one training run needs.
    with PeakMemory(config.device) as memory:
        dataset = synthetic_dataset(max(256, config.batch_size), resolution_px, num_keywords)
        trainer = _trainer(dataset, "bce", config)
        trainer.train_step()  # first step: allocations and the optimizers' state
        synchronize(config.device)
        start = time.perf_counter()
        for _ in range(config.growth_steps):
            trainer.train_step()
        synchronize(config.device)
        step_ms = 1000.0 * (time.perf_counter() - start) / config.growth_steps
    return GrowthRow(resolution_px, num_keywords, step_ms, memory.mib)


def cost_growth(config: BenchConfig, num_keywords: int, log: Callable[[str], None]) -> tuple[list[GrowthRow], list[GrowthRow]]:
    """Step time and training memory of the default BCE recipe against the image side
    (at `num_keywords` keywords) and against the vocabulary size (at 64 px), each on
    random images of that shape."""
    by_resolution = []
    for resolution in config.resolutions_px:
        by_resolution.append(in_fresh_process(_growth_point, resolution, num_keywords, config))
        log(f"growth: {resolution} px, {num_keywords} keywords: {by_resolution[-1].step_ms:.0f} ms/step")
    by_vocabulary = []
    for size in config.vocabulary_sizes:
        by_vocabulary.append(in_fresh_process(_growth_point, 64, size, config))
        log(f"growth: 64 px, {size} keywords: {by_vocabulary[-1].step_ms:.0f} ms/step")
    return by_resolution, by_vocabulary


def plot_growth(by_resolution: list[GrowthRow], by_vocabulary: list[GrowthRow], path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(9, 6), dpi=100)
    series = ((by_resolution, "resolution_px", "image side (px)", 2), (by_vocabulary, "num_keywords", "vocabulary size", 10))
    for column, (rows, key, label, base) in enumerate(series):
        x = [getattr(row, key) for row in rows]
        axes[0][column].plot(x, [row.step_ms for row in rows], marker="o")
        axes[0][column].set_ylabel("step time (ms, batch 64)")
        memory = [row.peak_mib if row.peak_mib is not None else float("nan") for row in rows]
        axes[1][column].plot(x, memory, marker="o", color="tab:orange")
        axes[1][column].set_ylabel("peak training memory (MiB)")
        for row_axes in (axes[0][column], axes[1][column]):
            row_axes.set_ylim(bottom=0)  # from zero, so that noise between points does not look like growth
            row_axes.set_xscale("log", base=base)
            row_axes.set_xlabel(label)
            row_axes.grid(alpha=0.3)
    figure.suptitle("designgan training cost, BCE, width 32")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)

