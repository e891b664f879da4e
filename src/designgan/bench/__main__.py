"""`python -m designgan.bench`: measure training and generation speed and print ratios."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Optional

import torch
import typer

from ..data import load_or_build_openmoji
from ..training.distributed import resolve_device
from .report import render_report
from .sections import BenchConfig, cost_growth, generation_latency, plot_growth, training_throughput

SECTIONS = ("training", "generation", "growth", "limit")
LOSSES = ("bce", "wgan-gp")


app = typer.Typer(add_completion=False)


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="Four alternation rounds, no ablations, one step per growth point: a few minutes on 2 idle CPU cores instead of about 20."),
    sections: str = typer.Option(",".join(SECTIONS), help=f"Comma-separated sections to run: {', '.join(SECTIONS)}. 'limit' needs 'training'."),
    losses: str = typer.Option(",".join(LOSSES), help="Comma-separated losses for the training section: bce, wgan-gp."),
    device: str = typer.Option("cpu", help="auto, cpu or cuda."),
    rounds: Optional[int] = typer.Option(None, help="Alternation rounds of the training variants, one step per variant each (default 12, 4 with --quick)."),
    ablations: bool = typer.Option(True, help="Also time designgan with each speed option switched (off with --quick)."),
    no_compile: bool = typer.Option(False, "--no-compile", help="Leave the torch.compile variant out of the ablations (compiling takes minutes on a small CPU)."),
    plot: Optional[Path] = typer.Option(None, help="Write the cost-growth plot (PNG) here."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every measured number as JSON here."),
) -> None:
    """Measure designgan against a plain PyTorch loop, alternating the variants in one run."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    chosen = [name.strip() for name in sections.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        raise typer.BadParameter(f"section {unknown[0]!r} is unknown; use a comma-separated subset of {', '.join(SECTIONS)}.",
                                 param_hint="--sections")
    chosen_losses = [name.strip() for name in losses.split(",") if name.strip()]
    if any(name not in LOSSES for name in chosen_losses):
        raise typer.BadParameter(f"{losses!r} is invalid; use a comma-separated subset of {', '.join(LOSSES)}.",
                                 param_hint="--losses")
    if rounds is not None and rounds < 1:
        raise typer.BadParameter(f"{rounds} is out of range; use 1 or more.", param_hint="--rounds")
    try:
        target = resolve_device(device)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--device") from error

    config = BenchConfig.quick(target) if quick else BenchConfig(device=target)
    if rounds is not None:
        config = dataclasses.replace(config, rounds=rounds)
    if no_compile:
        config = dataclasses.replace(config, compile=False)
    if not ablations:
        config = dataclasses.replace(config, ablations=False)

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    started = time.time()
    dataset = load_or_build_openmoji(resolution_px=64, min_count=10, progress=False)
    machine = {
        "command": "python -m designgan.bench " + " ".join(sys.argv[1:]),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(target),
        "device_name": torch.cuda.get_device_name(target) if target.type == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "dataset": f"OpenMoji 64 px, {len(dataset)} designs, {dataset.num_keywords} keywords",
        "load_average_start": os.getloadavg()[0],
    }
    results: dict = {"machine": machine, "config": {k: str(v) for k, v in dataclasses.asdict(config).items()}}

    if "training" in chosen:
        results["training"] = [training_throughput(dataset, loss, config, log, with_peak="limit" in chosen)
                               for loss in chosen_losses]
    if "generation" in chosen:
        results["generation"] = generation_latency(dataset.num_keywords, config, log)
    if "growth" in chosen:
        results["growth"] = cost_growth(config, dataset.num_keywords, log)
        if plot is not None:
            plot.parent.mkdir(parents=True, exist_ok=True)
            plot_growth(*results["growth"], plot)
    results["seconds"] = time.time() - started
    machine["load_average_end"] = os.getloadavg()[0]

    typer.echo(render_report(results))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(_jsonable(results), indent=2) + "\n", encoding="utf-8")


def _jsonable(value):
    if dataclasses.is_dataclass(value):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def main() -> None:
    app(prog_name="python -m designgan.bench")


if __name__ == "__main__":
    main()
