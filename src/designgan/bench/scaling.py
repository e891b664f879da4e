"""`python -m designgan.bench.scaling`: data-parallel scaling of training on this machine.

Each configuration runs in fresh processes started with torch.multiprocessing.spawn:
the ranks meet through a file store and gloo talks over the loopback interface, so
nothing listens beyond 127.0.0.1. The configurations alternate, repeat after repeat:

- 1 process, per-rank batch B, all threads (what `designgan train` does by default)
- 1 process, batch B, 1 thread (the one-core reference for the efficiencies)
- N processes, batch B / N each, 1 thread each (strong scaling: the same global batch)
- N processes, batch B each, 1 thread each (weak scaling: N times the global batch)

Efficiency = images/s / (cores used x images/s of the one-core reference), where a
run uses processes x threads cores.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.multiprocessing as mp
import typer

from ..config import ModelConfig, TrainConfig, critic_norm_default, loss_defaults
from ..data import load_or_build_openmoji
from ..training import Trainer
from ..training.distributed import barrier, init_distributed, shutdown


@dataclass(frozen=True)
class ScalingRun:
    name: str
    world_size: int
    per_rank_batch: int
    threads: int


def _rank_main(rank: int, run: ScalingRun, loss: str, warmup_steps: int, steps: int, out_dir: str) -> None:
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(run.world_size), "LOCAL_RANK": str(rank),
                       "GLOO_SOCKET_IFNAME": "lo"})
    context = init_distributed("cpu", init_method=f"file://{Path(out_dir) / 'store'}")
    try:
        dataset = load_or_build_openmoji(resolution_px=64, min_count=10, progress=False)
        model_config = ModelConfig(width=32, critic_norm=critic_norm_default(loss))
        train_config = TrainConfig(loss=loss, batch_size=run.per_rank_batch, threads=run.threads, device="cpu",
                                   **loss_defaults(loss))
        trainer = Trainer(dataset, model_config, train_config, Path(out_dir) / "run", progress=False,
                          distributed=context)
        for _ in range(warmup_steps):
            trainer.train_step()
        barrier(context)
        start = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
        barrier(context)
        seconds = time.perf_counter() - start
        if context.is_main:
            rate = steps * trainer.global_batch_size / seconds
            (Path(out_dir) / "rate.json").write_text(json.dumps({"images_per_second": rate}), encoding="utf-8")
    finally:
        shutdown(context)


def measure(run: ScalingRun, loss: str, warmup_steps: int, steps: int) -> float:
    """Train `steps` steps after `warmup_steps` in fresh processes; return images/s."""
    with tempfile.TemporaryDirectory(prefix="designgan-scaling-") as out_dir:
        mp.spawn(_rank_main, args=(run, loss, warmup_steps, steps, out_dir), nprocs=run.world_size, join=True)
        return json.loads((Path(out_dir) / "rate.json").read_text(encoding="utf-8"))["images_per_second"]


def scaling(
    processes: int = typer.Option(2, help="Ranks of the data-parallel runs (2 or more)."),
    batch_size: int = typer.Option(64, help="Batch of the one-process runs; strong scaling splits it over the ranks."),
    loss: str = typer.Option("bce", help="bce or wgan-gp."),
    steps: int = typer.Option(20, help="Timed steps per run."),
    warmup_steps: int = typer.Option(3, help="Untimed steps per run before the timing starts."),
    repeats: int = typer.Option(3, help="Times each configuration runs, alternating with the others."),
) -> None:
    """Measure the data-parallel scaling efficiency of training on this machine's CPU cores."""
    if processes < 2:
        raise typer.BadParameter(f"{processes} is out of range; use 2 or more.", param_hint="--processes")
    if batch_size % processes:
        raise typer.BadParameter(f"{batch_size} is not divisible by --processes {processes}.", param_hint="--batch-size")
    if loss not in ("bce", "wgan-gp"):
        raise typer.BadParameter(f"{loss!r} is invalid; use bce or wgan-gp.", param_hint="--loss")
    threads = torch.get_num_threads()
    runs = [
        ScalingRun(f"1 process, batch {batch_size}, {threads} threads", 1, batch_size, threads),
        ScalingRun(f"1 process, batch {batch_size}, 1 thread", 1, batch_size, 1),
        ScalingRun(f"{processes} processes x batch {batch_size // processes}, 1 thread each", processes,
                   batch_size // processes, 1),
        ScalingRun(f"{processes} processes x batch {batch_size}, 1 thread each", processes, batch_size, 1),
    ]
    rates: dict[str, list[float]] = {run.name: [] for run in runs}
    for repeat in range(repeats):
        for run in runs:
            rates[run.name].append(measure(run, loss, warmup_steps, steps))
            typer.echo(f"[{time.strftime('%H:%M:%S')}] repeat {repeat + 1}: {run.name}: "
                       f"{rates[run.name][-1]:.1f} images/s", err=True)

    median = {name: statistics.median(values) for name, values in rates.items()}
    reference = median[runs[1].name]
    typer.echo(f"`python -m designgan.bench.scaling --processes {processes} --batch-size {batch_size} --loss {loss} "
               f"--steps {steps} --repeats {repeats}`, torch {torch.__version__}, {os.cpu_count()} CPUs\n")
    typer.echo("| configuration | images/s (median, range) | efficiency per core vs 1 process on 1 thread |")
    typer.echo("|---|---|---|")
    for run in runs:
        values = rates[run.name]
        efficiency = median[run.name] / (run.world_size * run.threads * reference)  # per core used
        typer.echo(f"| {run.name} | {median[run.name]:.1f} ({min(values):.1f}–{max(values):.1f}) | {efficiency:.0%} |")


def main() -> None:
    typer.run(scaling)


if __name__ == "__main__":
    main()
