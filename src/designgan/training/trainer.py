"""The training loop: critic and generator updates, EMA, samples, checkpoints, export."""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..augment import DiffAugment
from ..config import ModelConfig, TrainConfig, from_dict, to_dict
from ..data.dataset import DesignDataset
from ..data.keywords import tokenize_keywords
from ..data.sampling import base_design_count, sampling_weights
from ..export import export_model
from ..keyword_context import KeywordSets
from ..images import uint8_to_float
from ..losses import get_loss, gradient_penalty, mode_seeking_loss
from ..models import Critic, Generator
from ..files import atomic_write
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .distributed import (DistributedContext, all_reduce_mean, any_rank, barrier, resolve_device,
                          synchronize_batchnorm)
from .ema import ExponentialMovingAverage, recompute_batchnorm_statistics
from .progress import ProgressReporter
from .samples import plot_loss_curves, save_sample_grid

logger = logging.getLogger(__name__)

RUN_CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.jsonl"
SAMPLE_COLUMNS = 8  # fixed noise vectors per keyword set in sample grids
SAMPLE_ROWS = 8  # keyword sets in sample grids
CALIBRATION_BATCHES = 16  # batches of 64 used to re-estimate the EMA's batch-norm statistics


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint, if one was saved, is kept."""


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    seconds: float
    images_per_second: float
    model_dir: Path


class Trainer:
    """Train a generator and critic on a `DesignDataset` inside `run_dir`.

    The run folder receives config.json (every setting), metrics.jsonl, samples/,
    loss_curve.png, checkpoint.pt (atomic, every `checkpoint_every` steps) and, at
    the end, model/ (the exported EMA generator). `step` counts generator updates.

    With a `distributed` context of several ranks (see `training.distributed`), every
    rank trains on its own `batch_size` rows of each global batch of
    `world_size * batch_size` images, DistributedDataParallel averages the gradients
    and batch norm is synchronised; only rank 0 logs and writes files.
    """

    def __init__(self, dataset: DesignDataset, model_config: ModelConfig, train_config: TrainConfig,
                 run_dir: str | Path, data_source: str = "", progress: bool = True,
                 distributed: DistributedContext | None = None):
        self.train_config = train_config.validate()
        self.run_dir = Path(run_dir)
        self.dataset = dataset
        self.data_source = data_source
        self.context = distributed if distributed is not None else DistributedContext(
            device=resolve_device(train_config.device))
        self.device = self.context.device
        self.progress = progress and self.context.is_main
        if train_config.threads:
            torch.set_num_threads(train_config.threads)

        conditional = train_config.conditional
        if conditional and dataset.num_keywords == 0:
            raise ValueError(
                f"conditional training needs keywords, but dataset {data_source or '(in memory)'} has none; "
                "train with --unconditional or import the data with keywords."
            )
        self.model_config = model_config = ModelConfig(
            **{**to_dict(model_config), "num_keywords": dataset.num_keywords if conditional else 0,
               "resolution_px": dataset.resolution_px}
        ).validate()

        # Weights come from the seed alone, so two runs with one seed start equal, and so
        # do all ranks of a data-parallel run.
        torch.manual_seed(train_config.seed)
        self.generator = Generator(model_config).to(self.device)
        self.critic = Critic(model_config).to(self.device)
        if train_config.channels_last:
            self.generator.to(memory_format=torch.channels_last)
            self.critic.to(memory_format=torch.channels_last)
        self._fakes: tuple[torch.Tensor, torch.Tensor | None, torch.Tensor] | None = None  # images, keywords, noise
        self.loss = get_loss(train_config.loss)

        # The EMA copy is taken before batch norm is synchronised: rank 0 alone samples
        # and exports from it, so it must not wait for the other ranks.
        self.ema = ExponentialMovingAverage(self.generator, train_config.ema_decay, train_config.ema_start_step)
        if self.context.enabled:
            if self.loss.uses_gradient_penalty and model_config.critic_norm == "batch":
                raise ValueError("data-parallel WGAN-GP needs a critic without batch norm, because the gradient "
                                 "penalty differentiates twice through the synchronised statistics; use "
                                 "--critic-norm none or spectral.")
            self.generator = synchronize_batchnorm(self.generator, self.device)
            self.critic = synchronize_batchnorm(self.critic, self.device)
        if train_config.compile:
            # In place, so state-dict keys stay the same; the EMA copy above stays eager.
            self.generator.compile()
            self.critic.compile()

        betas = (train_config.beta1, train_config.beta2)
        self.optimizer_g = _adam(self.generator.parameters(), train_config.lr_generator, betas, train_config)
        self.optimizer_c = _adam(self.critic.parameters(), train_config.lr_critic, betas, train_config)

        # The training passes go through these; `generator` and `critic` stay the plain
        # modules for checkpoints, the EMA and passes that need no gradient averaging.
        self.generator_parallel = _data_parallel(self.generator, self.context)
        self.critic_parallel = _data_parallel(self.critic, self.context)

        # Separate random streams, each saved in checkpoints, make a resumed run draw the
        # same noise, batches and augmentations as an uninterrupted one. They live on the
        # CPU, so a run draws the same numbers on any device, and every rank draws for the
        # whole global batch and keeps its own rows.
        self.augment = DiffAugment(train_config.diffaugment, seed=train_config.seed + 1,
                                   rank=self.context.rank, world_size=self.context.world_size)
        self.noise_rng = torch.Generator().manual_seed(train_config.seed + 2)
        self.data_rng = torch.Generator().manual_seed(train_config.seed + 3)

        # Images stay uint8 (N, H, W, 3) in the dataset's own array, which may be a memory
        # map of the dataset file, and only each batch is gathered and converted, so memory
        # stays bounded for large sets. Labels stay uint8 (N, K) for the same reason.
        self.images = dataset.images
        self.labels = torch.from_numpy(np.asarray(dataset.labels))
        if len(dataset) == 0:
            raise ValueError(f"dataset {data_source or '(in memory)'} has no images; import or build it again.")
        world_size = self.context.world_size
        if len(dataset) < world_size:
            raise ValueError(f"dataset {data_source or '(in memory)'} has {len(dataset)} images, fewer than the "
                             f"{world_size} ranks; train with fewer processes.")
        self.batch_size = min(train_config.batch_size, len(dataset) // world_size)  # per rank
        self.global_batch_size = self.batch_size * world_size
        if self.batch_size < train_config.batch_size and self.context.is_main:
            logger.warning("the dataset has %d images, fewer than --batch-size %d x %d ranks; using batches of %d "
                           "per rank.", len(dataset), train_config.batch_size, world_size, self.batch_size)
        self.order = torch.randperm(len(dataset), generator=self.data_rng)
        self.cursor = 0
        weights = sampling_weights(dataset.source_ids, train_config.sampling)
        self.sample_weights = torch.from_numpy(weights) if weights is not None else None
        if weights is not None and self.context.is_main:
            logger.info("sampling by base design: %d designs in %d base designs", len(dataset),
                        base_design_count(dataset.source_ids))
        if train_config.mode_seeking > 0 and self.batch_size < 2 and self.context.is_main:
            logger.warning("--mode-seeking %g needs at least 2 images per batch and process to form a pair; "
                           "with batches of %d it has no effect. Raise --batch-size.",
                           train_config.mode_seeking, self.batch_size)

        # Minibatch-std groups must divide the batch.
        self.group_size = math.gcd(model_config.minibatch_std_group, self.batch_size) or 1

        self.step = 0
        # Settings that a resume changed, each with the step it took effect at, so the run
        # config and the exported recipe tell which steps ran with which setting.
        self.setting_changes: list[dict[str, Any]] = []
        self.elapsed_seconds = 0.0
        self._prepare_fixed_inputs()

    # ----------------------------------------------------------------------------------
    # Set-up

    def _prepare_fixed_inputs(self) -> None:
        """Fix the sample-grid inputs and the batch-norm calibration inputs from the seed."""
        rng = torch.Generator().manual_seed(self.train_config.seed + 4)
        latent = self.model_config.latent_dim
        self.sample_z = torch.randn(SAMPLE_COLUMNS, latent, generator=rng).repeat(SAMPLE_ROWS, 1)
        self.sample_keywords = None
        self.sample_rows = 1
        if self.model_config.conditional:
            picks = torch.randperm(len(self.dataset), generator=rng)[:SAMPLE_ROWS]
            rows = self.labels[picks].float()  # (rows, K): keyword sets of real designs
            if self.train_config.sample_keywords:
                rows = torch.stack([self._encode_sample_keywords(text) for text in self.train_config.sample_keywords])
            self.sample_rows = len(rows)
            self.sample_keywords = rows.repeat_interleave(SAMPLE_COLUMNS, dim=0)
            self.sample_z = self.sample_z[: len(self.sample_keywords)]
        else:
            self.sample_z = self.sample_z[:SAMPLE_COLUMNS]
        self.sample_z = self.sample_z.to(self.device)
        if self.sample_keywords is not None:
            self.sample_keywords = self.sample_keywords.to(self.device)

        self.calibration = []
        for _ in range(CALIBRATION_BATCHES):
            z = torch.randn(64, latent, generator=rng)
            keywords = None
            if self.model_config.conditional:
                keywords = self.labels[torch.randint(len(self.dataset), (64,), generator=rng)].float().to(self.device)
            self.calibration.append((z.to(self.device), keywords))

    def _encode_sample_keywords(self, text: str) -> torch.Tensor:
        vocabulary = self.dataset.vocabulary
        keywords = tokenize_keywords(text)
        unknown = [k for k in keywords if k not in vocabulary]
        if unknown or not keywords:
            close = vocabulary.suggest(unknown[0]) if unknown else []
            raise ValueError(
                f"--sample-keywords {text!r}: {'keyword ' + repr(unknown[0]) + ' is not in the vocabulary' if unknown else 'no keyword'}"
                f"{'; closest known: ' + ', '.join(close) if close else ''}."
            )
        return torch.from_numpy(vocabulary.encode(keywords))

    def _write_run_config(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        record = {
            "model": to_dict(self.model_config),
            "train": to_dict(self.train_config),
            "data": {"source": self.data_source, "images": len(self.dataset), "render": self.dataset.render,
                     "keywords": list(self.dataset.vocabulary.keywords)},
            "batch_size_used": self.batch_size,
            "world_size": self.context.world_size,
            "global_batch_size": self.global_batch_size,
            "setting_changes": self.setting_changes,
        }
        (self.run_dir / RUN_CONFIG_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    # ----------------------------------------------------------------------------------
    # One iteration

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return real images (B, 3, H, W) in [-1, 1] and keywords (B, K) on the device.

        Global batches walk a new random permutation each epoch, the same on every rank,
        and each rank takes its own B consecutive rows of the global batch. A batch never
        straddles two epochs, so every epoch has at least one step once the global batch
        is at most N. Weighted sampling (`sampling` other than uniform) draws each global
        batch with replacement from the data stream instead."""
        if self.sample_weights is not None:
            # Sliced on the CPU, because the indices read the CPU-side image array.
            drawn = self._draw_weighted()
            index = drawn[self.context.rank * self.batch_size : (self.context.rank + 1) * self.batch_size]
        else:
            if self.cursor + self.global_batch_size > len(self.order):
                self.order = torch.randperm(len(self.dataset), generator=self.data_rng)
                self.cursor = 0
            start = self.cursor + self.context.rank * self.batch_size
            index = self.order[start : start + self.batch_size]
            self.cursor += self.global_batch_size
        keywords = self.labels[index].float().to(self.device) if self.model_config.conditional else None

        # Sorted indices read a memory-mapped file in order; the batch order is then restored.
        # The images travel as uint8, a quarter of the bytes of float32.
        sorted_index, permutation = torch.sort(index)
        rows = torch.from_numpy(np.ascontiguousarray(self.images[sorted_index.numpy()]))  # (B, H, W, 3)
        rows = rows[torch.argsort(permutation)].to(self.device, non_blocking=True)
        images = uint8_to_float(rows.permute(0, 3, 1, 2))
        return images, keywords

    def _draw_weighted(self) -> torch.Tensor:
        """Draw indices (global batch,) with replacement, in proportion to `sample_weights`."""
        return torch.multinomial(self.sample_weights, self.global_batch_size, replacement=True,
                                 generator=self.data_rng)

    def _autocast(self) -> torch.autocast:
        """bf16 autocast for the forward passes when `precision` is "bf16"; the losses,
        the gradient penalty and the optimizer stay in fp32."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.train_config.precision == "bf16")

    def _local_rows(self, values: torch.Tensor) -> torch.Tensor:
        """This rank's rows of values drawn for the global batch, moved to the device."""
        return values[self.context.rank * self.batch_size : (self.context.rank + 1) * self.batch_size].to(self.device)

    def _noise(self) -> torch.Tensor:
        z = torch.randn(self.global_batch_size, self.model_config.latent_dim, generator=self.noise_rng)
        return self._local_rows(z)

    def _mean_over_ranks(self, values: list[torch.Tensor]) -> list[float]:
        """Detach scalar tensors and average each over the ranks, in one collective."""
        stacked = torch.stack([value.detach().float().reshape(()) for value in values])
        return all_reduce_mean(stacked, self.context).tolist()

    def _check_finite(self, name: str, number: float) -> float:
        """Raise `TrainingDivergedError` unless `number` is finite. In data-parallel runs the
        number is a mean over ranks, so every rank gets the same value and stops together."""
        if not math.isfinite(number):
            checkpoint = self.run_dir / CHECKPOINT_NAME
            if checkpoint.is_file():
                advice = (f"The last good checkpoint {checkpoint} is kept; lower the learning rates "
                          "or try another --loss, then resume or restart.")
            else:
                advice = (f"No checkpoint was saved before it (--checkpoint-every {self.train_config.checkpoint_every}); "
                          "lower the learning rates or try another --loss, then restart.")
            raise TrainingDivergedError(f"training diverged at step {self.step + 1}: the {name} loss is {number}. {advice}")
        return number

    def _critic_update(self, keep_fakes: bool = False) -> dict[str, float]:
        """Run one critic update. With `keep_fakes` the fakes are drawn with gradients and kept
        with their keywords in `self._fakes`, so that the generator update can reuse them."""
        real, keywords = self._next_batch()
        fake_keywords = self._pair_keywords(keywords) if keep_fakes else keywords
        z = self._noise()
        with torch.set_grad_enabled(keep_fakes), self._autocast():
            fake = self.generator_parallel(z, fake_keywords)
        self._fakes = (fake, fake_keywords, z) if keep_fakes else None
        fake = fake.detach()
        if self.train_config.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)

        # Real and fake images go through the critic as two batches, so that a batch-norm
        # critic normalises each with its own statistics (as in DCGAN); a critic that receives
        # both in one batch can tell them apart by the batch statistics alone. DiffAugment
        # draws independent parameters per image.
        real_aug, fake_aug = self.augment(real), self.augment(fake)
        with self._autocast():
            if self.train_config.joint_critic_pass and self.model_config.critic_norm != "batch":
                # Without batch norm a score depends on its own image alone (minibatch-std
                # groups divide B, so none straddles the halves): one pass over the 2B images
                # gives the same scores with larger, more efficient matrix products.
                both = torch.cat([real_aug, fake_aug])  # (2B, 3, H, W)
                both_keywords = torch.cat([keywords, fake_keywords]) if keywords is not None else None
                real_scores, fake_scores = self.critic_parallel(both, both_keywords, self.group_size).chunk(2)
            else:
                real_scores = self.critic_parallel(real_aug, keywords, self.group_size)
                fake_scores = self.critic_parallel(fake_aug, fake_keywords, self.group_size)
        real_scores, fake_scores = real_scores.float(), fake_scores.float()
        loss = self.loss.critic(real_scores, fake_scores)
        reported = [loss, real_scores.mean(), fake_scores.mean()]

        # The penalty's pass uses the plain critic: its parameter gradients still reach
        # the data-parallel gradient hooks in the backward pass below.
        penalty = None
        if self.loss.uses_gradient_penalty:
            # Compiled graphs do not support the double backward the penalty needs, so its
            # pass calls `forward` directly, which runs the critic eagerly.
            eps = self._local_rows(torch.rand(self.global_batch_size, 1, 1, 1, generator=self.noise_rng))
            penalty = gradient_penalty(lambda x: self.critic.forward(x, keywords, self.group_size), real_aug,
                                       fake_aug, eps=eps)
            reported.append(penalty)

        numbers = self._mean_over_ranks(reported)
        stats = {"loss/critic": self._check_finite("critic", numbers[0]),
                 "critic/real": numbers[1], "critic/fake": numbers[2]}
        if penalty is not None:
            stats["loss/gradient_penalty"] = self._check_finite("gradient penalty", numbers[3])
            loss = loss + self.train_config.gp_weight * penalty

        self.optimizer_c.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer_c.step()
        return stats

    def _pair_keywords(self, keywords: torch.Tensor | None) -> torch.Tensor | None:
        """Copy the keywords of rows 0..P-1 into rows P..2P-1 (P = B // 2) when the mode-seeking
        term is on, so that each pair of fakes differs only in its noise. Shape (B, K)."""
        if keywords is None or self.train_config.mode_seeking == 0 or len(keywords) < 2:
            return keywords
        pairs = len(keywords) // 2
        paired = keywords.clone()
        paired[pairs : 2 * pairs] = keywords[:pairs]
        return paired

    def _generator_update(self, keywords: torch.Tensor | None) -> dict[str, float]:
        if self._fakes is not None:
            fake, keywords, z = self._fakes
            self._fakes = None
        else:
            keywords = self._pair_keywords(keywords)
            z = self._noise()
            with self._autocast():
                fake = self.generator_parallel(z, keywords)

        # The critic's weights need no gradients here: freezing them skips their
        # weight-gradient convolutions, about a third of the critic's backward pass.
        # The plain critic runs, because its frozen weights need no gradient averaging.
        self.critic.requires_grad_(False)
        try:
            with self._autocast():
                scores = self.critic(self.augment(fake), keywords, self.group_size).float()
        finally:
            self.critic.requires_grad_(True)
        loss = self.loss.generator(scores)
        reported = [loss]

        # Unconditional pairs share their (empty) keywords too, so the term applies to them as well.
        pairs = len(fake) // 2
        weight = self.train_config.mode_seeking
        if weight > 0 and pairs > 0:
            seeking = mode_seeking_loss(fake[:pairs], fake[pairs : 2 * pairs], z[:pairs], z[pairs : 2 * pairs])
            reported.append(seeking)
            loss = loss + weight * seeking
        numbers = self._mean_over_ranks(reported)
        stats = {"loss/generator": self._check_finite("generator", numbers[0])}
        if len(numbers) > 1:
            stats["loss/mode_seeking"] = self._check_finite("mode-seeking", numbers[1])

        self.optimizer_g.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer_g.step()
        return stats

    def train_step(self) -> dict[str, float]:
        """Run n_critic critic updates and one generator update; return their losses."""
        self.generator.train()
        self.critic.train()
        n_critic = self.train_config.n_critic
        for index in range(n_critic):
            stats = self._critic_update(keep_fakes=self.train_config.reuse_fakes and index == n_critic - 1)

        # Without reuse, the generator draws for keyword sets sampled from the data, like the critic's.
        keywords = None
        if self.model_config.conditional and self._fakes is None:
            if self.sample_weights is not None:
                drawn = self._draw_weighted()
            else:
                drawn = torch.randint(len(self.dataset), (self.global_batch_size,), generator=self.data_rng)
            keywords = self._local_rows(self.labels[drawn].float())
        stats.update(self._generator_update(keywords))

        self.ema.update(self.generator, self.step)
        self.step += 1
        return stats

    # ----------------------------------------------------------------------------------
    # The loop

    def run(self) -> TrainResult:
        config = self.train_config
        main = self.context.is_main
        if main:
            self._write_run_config()
        metrics_path = self.run_dir / METRICS_NAME
        deadline = time.monotonic() + config.max_minutes * 60.0 if config.max_minutes else math.inf
        if main:
            logger.info("training %s: %d images, %d keywords, batch %d x %d ranks on %s, %s loss, %d steps, "
                        "from step %d", self.run_dir, len(self.dataset), self.model_config.num_keywords,
                        self.batch_size, self.context.world_size, self.device, config.loss, config.steps, self.step)

        reporter = ProgressReporter(total=config.steps, initial=self.step, enabled=self.progress)
        writer = _open_tensorboard(self.run_dir) if config.tensorboard and main else None
        start_step, started = self.step, time.monotonic()
        try:
            with open(metrics_path, "a", encoding="utf-8") if main else contextlib.nullcontext() as metrics:
                while self.step < config.steps and not self._time_is_up(deadline):
                    tick = time.monotonic()
                    stats = self.train_step()
                    self.elapsed_seconds += time.monotonic() - tick
                    if not main:
                        continue
                    images_per_second = (self.global_batch_size * (self.step - start_step)
                                         / max(time.monotonic() - started, 1e-9))
                    reporter.update(self.step, images_per_second, stats)

                    if self.step % config.log_every == 0:
                        record = {"step": self.step, "seconds": round(self.elapsed_seconds, 3),
                                  "images_per_second": round(images_per_second, 2), **stats}
                        metrics.write(json.dumps(record) + "\n")
                        metrics.flush()
                        if writer is not None:
                            for key, value in stats.items():
                                writer.add_scalar(key, value, self.step)
                    if self.step % config.sample_every == 0:
                        self.save_samples()
                    if self.step % config.checkpoint_every == 0:
                        self.save_checkpoint()
        finally:
            reporter.close()
            if writer is not None:
                writer.close()

        # Final artefacts: samples, checkpoint, loss curve and the exported model, all
        # from one batch-norm calibration of the EMA generator. The other ranks wait, so
        # that the job ends once the model is written.
        model_dir = self.run_dir / "model"
        if main:
            generator = self.calibrated_ema()
            self.save_samples(final=True, generator=generator)
            self.save_checkpoint()
            plot_loss_curves(metrics_path, self.run_dir / "loss_curve.png")
            model_dir = self.export(model_dir, generator=generator)
        barrier(self.context)
        seconds = time.monotonic() - started
        rate = self.global_batch_size * (self.step - start_step) / max(seconds, 1e-9)
        if main:
            logger.info("finished at step %d after %.1f s (%.1f images/s); model in %s",
                        self.step, seconds, rate, model_dir)
        return TrainResult(self.run_dir, self.step, seconds, rate, model_dir)

    def _time_is_up(self, deadline: float) -> bool:
        """True once the wall-clock limit has passed; in data-parallel runs, once it has
        passed on any rank, so that all ranks run the same number of steps."""
        if math.isinf(deadline):
            return False
        return any_rank(time.monotonic() >= deadline, self.context)

    # ----------------------------------------------------------------------------------
    # Artefacts

    def calibrated_ema(self) -> torch.nn.Module:
        """Return the EMA generator with batch-norm statistics measured for its own weights."""
        return recompute_batchnorm_statistics(self.ema.shadow, self.calibration)

    def save_samples(self, final: bool = False, generator: torch.nn.Module | None = None) -> Path:
        name = "final.png" if final else f"step_{self.step:07d}.png"
        path = self.run_dir / "samples" / name
        generator = generator if generator is not None else self.calibrated_ema()
        save_sample_grid(generator, self.sample_z, self.sample_keywords, self.sample_rows, path)
        return path

    def export(self, out_dir: str | Path, generator: torch.nn.Module | None = None) -> Path:
        from ..data.keyword_mapping import synonyms_from_json

        vocabulary = self.dataset.vocabulary if self.model_config.conditional else None
        # The import stores the synonyms in the dataset's settings. config.json gets them
        # at the top level, where generation reads them, so the recipe leaves them out.
        render = {key: value for key, value in self.dataset.render.items() if key != "synonyms"}
        synonyms = synonyms_from_json(self.dataset.render.get("synonyms")) if vocabulary is not None else {}
        recipe = {
            "train": to_dict(self.train_config),
            "steps": self.step,
            "training_seconds": round(self.elapsed_seconds, 1),
            "images_seen": self.step * self.global_batch_size,
            "batch_size": self.batch_size,
            "world_size": self.context.world_size,
            "setting_changes": self.setting_changes,
            "data": {"source": self.data_source, "images": len(self.dataset), "render": render},
            "torch": torch.__version__,
        }
        generator = generator if generator is not None else self.calibrated_ema()
        keyword_sets = KeywordSets.from_labels(self.dataset.labels) if vocabulary is not None else None
        return export_model(out_dir, generator, self.model_config, vocabulary, recipe, synonyms=synonyms,
                            keyword_embeddings=True, keyword_sets=keyword_sets)

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "elapsed_seconds": self.elapsed_seconds,
            "setting_changes": self.setting_changes,
            "generator": self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer_generator": self.optimizer_g.state_dict(),
            "optimizer_critic": self.optimizer_c.state_dict(),
            "augment": self.augment.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "noise": self.noise_rng.get_state(),
                    "data": self.data_rng.get_state()},
            "data_order": self.order,
            "data_cursor": self.cursor,
            "model_config": to_dict(self.model_config),
            "train_config": to_dict(self.train_config),
            "dataset_images": len(self.dataset),
            "world_size": self.context.world_size,
        }

    def save_checkpoint(self) -> Path:
        path = self.run_dir / CHECKPOINT_NAME
        save_checkpoint(path, self.state_dict())
        return path

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["dataset_images"] != len(self.dataset):
            raise ValueError(
                f"the checkpoint was trained on {state['dataset_images']} images but the dataset has "
                f"{len(self.dataset)}; resume with the same --data as the original run."
            )
        saved_world_size = int(state.get("world_size", 1))
        if saved_world_size != self.context.world_size and self.context.is_main:
            logger.warning("the checkpoint was written by %d ranks and this run has %d: training continues with "
                           "global batches of %d images, so it will not repeat an uninterrupted run.",
                           saved_world_size, self.context.world_size, self.global_batch_size)
        self.step = int(state["step"])
        self.elapsed_seconds = float(state["elapsed_seconds"])
        self.setting_changes = [dict(change) for change in state.get("setting_changes", [])]
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer_g.load_state_dict(state["optimizer_generator"])
        self.optimizer_c.load_state_dict(state["optimizer_critic"])
        self.augment.load_state_dict(state["augment"])
        torch.set_rng_state(state["rng"]["torch"])
        self.noise_rng.set_state(state["rng"]["noise"])
        self.data_rng.set_state(state["rng"]["data"])
        self.order = state["data_order"]
        self.cursor = int(state["data_cursor"])

    @classmethod
    def resume(cls, run_dir: str | Path, dataset: DesignDataset, steps: int | None = None,
               progress: bool = True, max_minutes: float | None = None,
               distributed: DistributedContext | None = None, mode_seeking: float | None = None,
               sampling: str | None = None) -> "Trainer":
        """Rebuild a trainer from a run folder's checkpoint.

        `steps` may raise the total, and `max_minutes` sets a new wall-clock limit for this
        session of training. `mode_seeking` and `sampling` set a new weight and sampling
        mode from here on; each change is recorded in `setting_changes`. Every rank of a
        data-parallel run loads the same checkpoint."""
        run_dir = Path(run_dir)
        state = load_checkpoint(run_dir / CHECKPOINT_NAME)
        model_config = from_dict(ModelConfig, state["model_config"])
        train_values = dict(state["train_config"])
        train_values["sample_keywords"] = tuple(train_values.get("sample_keywords", ()))
        if steps is not None:
            train_values["steps"] = steps
        if max_minutes is not None:
            train_values["max_minutes"] = max_minutes
        defaults = TrainConfig()
        changes = {}
        for name, value in (("mode_seeking", mode_seeking), ("sampling", sampling)):
            if value is not None and value != train_values.get(name, getattr(defaults, name)):
                changes[name] = value
        train_values.update(changes)
        run_config = json.loads((run_dir / RUN_CONFIG_NAME).read_text(encoding="utf-8"))
        trainer = cls(dataset, model_config, from_dict(TrainConfig, train_values), run_dir,
                      data_source=run_config["data"]["source"], progress=progress, distributed=distributed)
        trainer.load_state_dict(state)
        if changes:
            trainer.setting_changes.append({"step": trainer.step, **changes})
        if trainer.context.is_main:
            _drop_metrics_after(run_dir / METRICS_NAME, trainer.step)
        return trainer


def _adam(parameters, lr: float, betas: tuple[float, float], config: TrainConfig) -> torch.optim.Adam:
    """Adam with the update implementation that `config.adam_implementation` names.

    "fused" updates all tensors in one kernel per step (on CPU since torch 2.4),
    "foreach" in a few multi-tensor kernels, "for-loop" one tensor at a time (torch's
    CPU default). All three compute the same update up to float rounding.
    """
    implementation = config.adam_implementation
    return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=implementation == "fused" or None,
                            foreach=implementation == "foreach" if implementation != "fused" else None)


def _data_parallel(module: torch.nn.Module, context: DistributedContext) -> torch.nn.Module:
    """Wrap `module` in DistributedDataParallel when the run has several ranks.

    Buffers are copied from rank 0 once, at construction, and not on each forward pass,
    because synchronised batch norm keeps the running statistics equal on all ranks.
    torch 2.13 names that option forward_sync_buffers and deprecates broadcast_buffers;
    older versions know only broadcast_buffers.
    """
    if not context.enabled:
        return module
    parallel = torch.nn.parallel.DistributedDataParallel
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    if "forward_sync_buffers" in inspect.signature(parallel).parameters:
        return parallel(module, device_ids=device_ids, forward_sync_buffers=False)
    return parallel(module, device_ids=device_ids, broadcast_buffers=False)


def _drop_metrics_after(metrics_path: Path, step: int) -> None:
    """Remove metric lines logged after the checkpoint's step, which the resumed run will
    log again, so that the loss curve has each step once."""
    if not metrics_path.is_file():
        return
    kept = [line for line in metrics_path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line)["step"] <= step]
    text = "".join(line + "\n" for line in kept)
    atomic_write(metrics_path, lambda handle: handle.write(text.encode("utf-8")))


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / RUN_CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; --resume needs the folder of an earlier training run.")
    return json.loads(path.read_text(encoding="utf-8"))


def _open_tensorboard(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise RuntimeError("--tensorboard needs the tensorboard package: pip install 'designgan[tensorboard]'.") from error
    return SummaryWriter(log_dir=str(run_dir / "tensorboard"))
