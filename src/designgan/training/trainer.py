"""The training loop: critic and generator updates, EMA, samples, checkpoints, export."""

from __future__ import annotations

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
from ..export import export_model
from ..images import uint8_to_float
from ..losses import gradient_penalty, get_loss
from ..models import Critic, Generator
from ..files import atomic_write
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
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
    """

    def __init__(self, dataset: DesignDataset, model_config: ModelConfig, train_config: TrainConfig,
                 run_dir: str | Path, data_source: str = "", progress: bool = True):
        self.train_config = train_config.validate()
        self.run_dir = Path(run_dir)
        self.dataset = dataset
        self.data_source = data_source
        self.progress = progress
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

        # Weights come from the seed alone, so two runs with one seed start equal.
        torch.manual_seed(train_config.seed)
        self.generator = Generator(model_config)
        self.critic = Critic(model_config)
        self.ema = ExponentialMovingAverage(self.generator, train_config.ema_decay, train_config.ema_start_step)
        betas = (train_config.beta1, train_config.beta2)
        self.optimizer_g = torch.optim.Adam(self.generator.parameters(), lr=train_config.lr_generator, betas=betas)
        self.optimizer_c = torch.optim.Adam(self.critic.parameters(), lr=train_config.lr_critic, betas=betas)
        self.loss = get_loss(train_config.loss)

        # Separate random streams, each saved in checkpoints, make a resumed run draw the
        # same noise, batches and augmentations as an uninterrupted one.
        self.augment = DiffAugment(train_config.diffaugment, seed=train_config.seed + 1)
        self.noise_rng = torch.Generator().manual_seed(train_config.seed + 2)
        self.data_rng = torch.Generator().manual_seed(train_config.seed + 3)

        # Images stay uint8 (N, H, W, 3) in the dataset's own array, which may be a memory
        # map of the dataset file, and only each batch is gathered and converted, so memory
        # stays bounded for large sets. Labels stay uint8 (N, K) for the same reason.
        self.images = dataset.images
        self.labels = torch.from_numpy(np.asarray(dataset.labels))
        if len(dataset) == 0:
            raise ValueError(f"dataset {data_source or '(in memory)'} has no images; import or build it again.")
        self.batch_size = min(train_config.batch_size, len(dataset))
        if self.batch_size < train_config.batch_size:
            logger.warning("the dataset has %d images, fewer than --batch-size %d; using batches of %d.",
                           len(dataset), train_config.batch_size, self.batch_size)
        self.order = torch.randperm(len(dataset), generator=self.data_rng)
        self.cursor = 0

        # Minibatch-std groups must divide the batch.
        self.group_size = math.gcd(model_config.minibatch_std_group, self.batch_size) or 1

        self.step = 0
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

        self.calibration = []
        for _ in range(CALIBRATION_BATCHES):
            z = torch.randn(64, latent, generator=rng)
            keywords = None
            if self.model_config.conditional:
                keywords = self.labels[torch.randint(len(self.dataset), (64,), generator=rng)].float()
            self.calibration.append((z, keywords))

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
        }
        (self.run_dir / RUN_CONFIG_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    # ----------------------------------------------------------------------------------
    # One iteration

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return real images (B, 3, H, W) in [-1, 1] and keywords (B, K).

        Batches walk a new random permutation each epoch, and a batch never straddles
        two epochs, so every epoch has at least one step once B <= N."""
        if self.cursor + self.batch_size > len(self.order):
            self.order = torch.randperm(len(self.dataset), generator=self.data_rng)
            self.cursor = 0
        index = self.order[self.cursor : self.cursor + self.batch_size]
        self.cursor += self.batch_size
        keywords = self.labels[index].float() if self.model_config.conditional else None

        # Sorted indices read a memory-mapped file in order; the batch order is then restored.
        sorted_index, permutation = torch.sort(index)
        rows = torch.from_numpy(np.ascontiguousarray(self.images[sorted_index.numpy()]))  # (B, H, W, 3)
        images = uint8_to_float(rows[torch.argsort(permutation)].permute(0, 3, 1, 2))
        return images, keywords

    def _noise(self) -> torch.Tensor:
        return torch.randn(self.batch_size, self.model_config.latent_dim, generator=self.noise_rng)

    def _check_finite(self, name: str, value: torch.Tensor) -> float:
        number = float(value.detach())
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

    def _critic_update(self) -> dict[str, float]:
        real, keywords = self._next_batch()
        with torch.no_grad():
            fake = self.generator(self._noise(), keywords)

        # Real and fake images go through the critic as two batches, so that a batch-norm
        # critic normalises each with its own statistics (as in DCGAN); a critic that receives
        # both in one batch can tell them apart by the batch statistics alone. DiffAugment
        # draws independent parameters per image.
        real_aug, fake_aug = self.augment(real), self.augment(fake)
        real_scores = self.critic(real_aug, keywords, self.group_size)
        fake_scores = self.critic(fake_aug, keywords, self.group_size)
        loss = self.loss.critic(real_scores, fake_scores)
        stats = {"loss/critic": self._check_finite("critic", loss),
                 "critic/real": float(real_scores.detach().mean()), "critic/fake": float(fake_scores.detach().mean())}

        if self.loss.uses_gradient_penalty:
            penalty = gradient_penalty(lambda x: self.critic(x, keywords, self.group_size), real_aug, fake_aug,
                                       generator=self.noise_rng)
            stats["loss/gradient_penalty"] = self._check_finite("gradient penalty", penalty)
            loss = loss + self.train_config.gp_weight * penalty

        self.optimizer_c.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer_c.step()
        return stats

    def _generator_update(self, keywords: torch.Tensor | None) -> dict[str, float]:
        fake = self.generator(self._noise(), keywords)
        scores = self.critic(self.augment(fake), keywords, self.group_size)
        loss = self.loss.generator(scores)
        stats = {"loss/generator": self._check_finite("generator", loss)}

        self.optimizer_g.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer_g.step()
        return stats

    def train_step(self) -> dict[str, float]:
        """Run n_critic critic updates and one generator update; return their losses."""
        self.generator.train()
        self.critic.train()
        for _ in range(self.train_config.n_critic):
            stats = self._critic_update()

        # The generator draws for keyword sets sampled from the data, like the critic's.
        keywords = None
        if self.model_config.conditional:
            keywords = self.labels[torch.randint(len(self.dataset), (self.batch_size,), generator=self.data_rng)].float()
        stats.update(self._generator_update(keywords))

        self.ema.update(self.generator, self.step)
        self.step += 1
        return stats

    # ----------------------------------------------------------------------------------
    # The loop

    def run(self) -> TrainResult:
        config = self.train_config
        self._write_run_config()
        metrics_path = self.run_dir / METRICS_NAME
        deadline = time.monotonic() + config.max_minutes * 60.0 if config.max_minutes else math.inf
        logger.info("training %s: %d images, %d keywords, batch %d, %s loss, %d steps, from step %d",
                    self.run_dir, len(self.dataset), self.model_config.num_keywords, self.batch_size,
                    config.loss, config.steps, self.step)

        reporter = ProgressReporter(total=config.steps, initial=self.step, enabled=self.progress)
        writer = _open_tensorboard(self.run_dir) if config.tensorboard else None
        start_step, started = self.step, time.monotonic()
        try:
            with open(metrics_path, "a", encoding="utf-8") as metrics:
                while self.step < config.steps and time.monotonic() < deadline:
                    tick = time.monotonic()
                    stats = self.train_step()
                    self.elapsed_seconds += time.monotonic() - tick
                    images_per_second = self.batch_size * (self.step - start_step) / max(time.monotonic() - started, 1e-9)
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
        # from one batch-norm calibration of the EMA generator.
        generator = self.calibrated_ema()
        self.save_samples(final=True, generator=generator)
        self.save_checkpoint()
        plot_loss_curves(metrics_path, self.run_dir / "loss_curve.png")
        model_dir = self.export(self.run_dir / "model", generator=generator)
        seconds = time.monotonic() - started
        rate = self.batch_size * (self.step - start_step) / max(seconds, 1e-9)
        logger.info("finished at step %d after %.1f s (%.1f images/s); model in %s", self.step, seconds, rate, model_dir)
        return TrainResult(self.run_dir, self.step, seconds, rate, model_dir)

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
            "images_seen": self.step * self.batch_size,
            "batch_size": self.batch_size,
            "data": {"source": self.data_source, "images": len(self.dataset), "render": render},
            "torch": torch.__version__,
        }
        generator = generator if generator is not None else self.calibrated_ema()
        return export_model(out_dir, generator, self.model_config, vocabulary, recipe, synonyms=synonyms,
                            keyword_embeddings=True)

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "elapsed_seconds": self.elapsed_seconds,
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
        self.step = int(state["step"])
        self.elapsed_seconds = float(state["elapsed_seconds"])
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
               progress: bool = True) -> "Trainer":
        """Rebuild a trainer from a run folder's checkpoint; `steps` may raise the total."""
        run_dir = Path(run_dir)
        state = load_checkpoint(run_dir / CHECKPOINT_NAME)
        model_config = from_dict(ModelConfig, state["model_config"])
        train_values = dict(state["train_config"])
        train_values["sample_keywords"] = tuple(train_values.get("sample_keywords", ()))
        if steps is not None:
            train_values["steps"] = steps
        run_config = json.loads((run_dir / RUN_CONFIG_NAME).read_text(encoding="utf-8"))
        trainer = cls(dataset, model_config, from_dict(TrainConfig, train_values), run_dir,
                      data_source=run_config["data"]["source"], progress=progress)
        trainer.load_state_dict(state)
        _drop_metrics_after(run_dir / METRICS_NAME, trainer.step)
        return trainer


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
