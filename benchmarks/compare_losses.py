"""Train BCE, WGAN-GP and hinge on the same data for the same training time.

    python benchmarks/compare_losses.py --minutes 5 --out docs/losses

The three trainers live in one process and take turns: each runs a few generator steps,
then the next one does, and each stops once its own summed step time reaches the budget.
Taking turns exposes all three to the same background load, which on a shared 2-core
machine moves absolute speed by a factor of three or more; run one after the other,
the comparison measured the load instead of the losses.

Each loss uses its own default recipe (`designgan train --help`): BCE and hinge with a
batch-norm critic and one critic step, WGAN-GP with no critic normalisation, five critic
steps, gradient penalty 10 and Adam (0, 0.9). The script writes each run's final sample
grid (EMA generator), its exported model under --runs, one side-by-side picture, and a
Markdown table of steps, images/s and losses.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from designgan.config import ModelConfig, TrainConfig, critic_norm_default, loss_defaults
from designgan.data import load_or_build_openmoji
from designgan.training import Trainer

LOSSES = ("bce", "wgan-gp", "hinge")
SAMPLE_KEYWORDS = ("cat", "heart", "smiling face", "flag", "food", "woman dark skin tone")
STEPS_PER_TURN = 5  # generator steps a trainer runs before the next one takes its turn


def make_trainer(loss: str, dataset, run_dir: Path, seed: int) -> Trainer:
    train_config = TrainConfig(loss=loss, steps=10**9, seed=seed, sample_keywords=SAMPLE_KEYWORDS,
                               **loss_defaults(loss))
    model_config = ModelConfig(width=32, critic_norm=critic_norm_default(loss))
    return Trainer(dataset, model_config, train_config, run_dir, data_source="openmoji", progress=False)


def side_by_side(paths: list[Path], labels: list[str], out: Path) -> None:
    grids = [Image.open(p).convert("RGB") for p in paths]
    label_px = 18
    width = sum(g.width for g in grids) + 10 * (len(grids) - 1)
    canvas = Image.new("RGB", (width, max(g.height for g in grids) + label_px), "white")
    draw = ImageDraw.Draw(canvas)
    left = 0
    for grid, label in zip(grids, labels):
        draw.text((left + 4, 2), label, fill="black")
        canvas.paste(grid, (left, label_px))
        left += grid.width + 10
    canvas.save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0, help="training time per loss, in minutes")
    parser.add_argument("--out", type=Path, default=Path("docs/losses"), help="folder for grids and the table")
    parser.add_argument("--runs", type=Path, default=Path("runs/compare"), help="folder for the run folders")
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSSES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    dataset = load_or_build_openmoji(resolution_px=64, min_count=10, progress=False)
    trainers = {loss: make_trainer(loss, dataset, args.runs / loss, args.seed) for loss in args.losses}
    seconds = {loss: 0.0 for loss in trainers}
    losses: dict[str, list[dict[str, float]]] = {loss: [] for loss in trainers}
    budget = args.minutes * 60.0

    # Take turns until every trainer has used its budget of step time.
    while any(spent < budget for spent in seconds.values()):
        for loss, trainer in trainers.items():
            if seconds[loss] >= budget:
                continue
            for _ in range(STEPS_PER_TURN):
                start = time.perf_counter()
                stats = trainer.train_step()
                seconds[loss] += time.perf_counter() - start
                losses[loss].append(stats)
        print(" ".join(f"{loss}: {t.step} steps {seconds[loss]:.0f} s" for loss, t in trainers.items()), flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    rows, grids = [], []
    for loss, trainer in trainers.items():
        trainer.run_dir.mkdir(parents=True, exist_ok=True)
        trainer.elapsed_seconds = seconds[loss]
        ema = trainer.calibrated_ema()
        grid = trainer.save_samples(final=True, generator=ema)
        trainer.export(trainer.run_dir / "model", generator=ema)
        Image.open(grid).save(args.out / f"{loss}.png")
        grids.append(args.out / f"{loss}.png")
        tail = losses[loss][-20:]
        row = {
            "loss": loss, "steps": trainer.step, "seconds": round(seconds[loss], 1),
            "images_per_second": round(trainer.step * trainer.batch_size / seconds[loss], 1),
            "critic_loss": round(float(np.mean([s["loss/critic"] for s in tail])), 3),
            "generator_loss": round(float(np.mean([s["loss/generator"] for s in tail])), 3),
        }
        rows.append(row)

    side_by_side(grids, [f"{r['loss']}: {r['steps']} steps" for r in rows], args.out / "side_by_side.png")
    table = ["| loss | steps | step time (s) | images/s | critic loss | generator loss |", "|---|---|---|---|---|---|"]
    for r in rows:
        table.append(f"| {r['loss']} | {r['steps']} | {r['seconds']} | {r['images_per_second']} "
                     f"| {r['critic_loss']} | {r['generator_loss']} |")
    text = "\n".join(table) + "\n"
    (args.out / "table.md").write_text(text)
    (args.out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
