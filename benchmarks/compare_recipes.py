"""Compare BCE, WGAN-GP and hinge, each with and without DiffAugment and EMA, at equal
training time, and evaluate every model with `designgan evaluate`'s metrics.

    python benchmarks/compare_recipes.py --minutes 5 --samples 1000 --out docs/comparison

Six trainers (three losses, DiffAugment on and off) live in one process and take turns
of about `--turn-seconds` each. A trainer stops once its own summed step time reaches
the budget. Taking turns exposes all six to the same background load of a shared
machine. Run one after the other, the comparison would measure the load instead of the
recipes. EMA does not change training, only which weights draw the samples, so each run
is evaluated twice: with its EMA generator and with its raw generator. That gives the
twelve cells of loss x DiffAugment x EMA from six runs of equal time.

Each loss keeps its own default recipe (`designgan train --help`): BCE and hinge with a
batch-norm critic and one critic step, WGAN-GP with no critic normalisation, five
critic steps, gradient penalty 10 and Adam (0, 0.9). The script writes, under --runs,
each run's exported models and evaluation reports, and under --out the sample grids,
`table.md` and `results.json`.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from designgan import load_model
from designgan.config import ModelConfig, TrainConfig, critic_norm_default, loss_defaults
from designgan.data import load_or_build_openmoji
from designgan.metrics.evaluate import EvaluationConfig, evaluate_model
from designgan.metrics.report import write_report
from designgan.metrics.sampling import ModelSampler
from designgan.training import Trainer

LOSSES = ("bce", "wgan-gp", "hinge")
SAMPLE_KEYWORDS = ("cat", "heart", "smiling face", "flag", "food", "woman dark skin tone")
AUGMENT_POLICY = "color,translation,cutout"


@dataclass(frozen=True)
class Recipe:
    loss: str
    diffaugment: bool

    @property
    def name(self) -> str:
        return f"{self.loss}-{'diffaugment' if self.diffaugment else 'plain'}"


def make_trainer(recipe: Recipe, dataset, run_dir: Path, seed: int) -> Trainer:
    defaults = loss_defaults(recipe.loss)
    train_config = TrainConfig(loss=recipe.loss, steps=10**9, seed=seed, sample_keywords=SAMPLE_KEYWORDS,
                               diffaugment=AUGMENT_POLICY if recipe.diffaugment else "", **defaults)
    model_config = ModelConfig(width=32, critic_norm=critic_norm_default(recipe.loss))
    return Trainer(dataset, model_config, train_config, run_dir, data_source="openmoji", progress=False)


def train_all(recipes: list[Recipe], dataset, runs: Path, minutes: float, turn_seconds: float,
              seed: int) -> list[dict]:
    """Train every recipe for `minutes` of its own step time, taking turns; export both generators."""
    trainers = {recipe: make_trainer(recipe, dataset, runs / recipe.name, seed) for recipe in recipes}
    spent = {recipe: 0.0 for recipe in recipes}  # seconds of step time per trainer
    last: dict[Recipe, list[dict[str, float]]] = {recipe: [] for recipe in recipes}
    budget = minutes * 60.0
    started = time.perf_counter()

    while any(seconds < budget for seconds in spent.values()):
        for recipe, trainer in trainers.items():
            turn_end = spent[recipe] + turn_seconds
            while spent[recipe] < min(turn_end, budget):
                start = time.perf_counter()
                stats = trainer.train_step()
                spent[recipe] += time.perf_counter() - start
                last[recipe] = (last[recipe] + [stats])[-20:]
        print(f"[{(time.perf_counter() - started) / 60:5.1f} min] "
              + "  ".join(f"{r.name}: {t.step} steps" for r, t in trainers.items()), flush=True)

    rows = []
    for recipe, trainer in trainers.items():
        trainer.run_dir.mkdir(parents=True, exist_ok=True)
        trainer.elapsed_seconds = spent[recipe]
        raw = trainer.generator.eval()
        raw_grid = trainer.save_samples(final=True, generator=raw)
        raw_grid.replace(raw_grid.with_name("final-raw.png"))
        trainer.export(trainer.run_dir / "model-raw", generator=raw)
        ema = trainer.calibrated_ema()
        trainer.save_samples(final=True, generator=ema)  # samples/final.png
        trainer.export(trainer.run_dir / "model-ema", generator=ema)
        trainer.generator.train()
        rows.append({
            "run": recipe.name, "loss": recipe.loss, "diffaugment": recipe.diffaugment,
            "steps": trainer.step, "step_seconds": round(spent[recipe], 1),
            "images_per_second": round(trainer.step * trainer.batch_size / spent[recipe], 1),
            "critic_loss_last20": round(float(np.mean([s["loss/critic"] for s in last[recipe]])), 3),
            "generator_loss_last20": round(float(np.mean([s["loss/generator"] for s in last[recipe]])), 3),
        })
    return rows


def evaluate_run(model_dir: Path, dataset, samples: int, seed: int) -> dict:
    evaluation = evaluate_model(ModelSampler(load_model(model_dir)), dataset,
                                EvaluationConfig(samples=samples, seed=seed))
    write_report(evaluation, model_dir.parent / f"evaluation-{model_dir.name}")
    report = evaluation.report
    quality = report["quality"]
    return {
        "frechet_distance": quality["generated"]["frechet_distance"],
        "frechet_floor": quality["real_floor"]["frechet_distance"],
        "kid": quality["generated"]["kid_mean"],
        "precision": quality["generated"]["precision"],
        "recall": quality["generated"]["recall"],
        "density": quality["generated"]["density"],
        "coverage": quality["generated"]["coverage"],
        "adherence_map": report["adherence"]["generated"]["mean_average_precision"],
        "adherence_map_real": report["adherence"]["real_held_out"]["mean_average_precision"],
        "diversity_ratio": report["diversity"]["median_ratio"],
        "near_copy_share": report["novelty"]["near_copy_share_features"],
        "evaluation_seconds": report["seconds"]["total"],
    }


def labelled_row(paths: list[Path], labels: list[str], out: Path) -> None:
    """Paste grids side by side with a caption over each and save a small PNG."""
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
    canvas.quantize(colors=256).save(out, optimize=True)


def fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def write_table(rows: list[dict], out: Path) -> str:
    lines = ["| loss | DiffAugment | EMA | steps | images/s | FD (floor) | KID | precision | recall "
             "| density | coverage | adherence mAP (real) | diversity vs real |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['loss']} | {'on' if row['diffaugment'] else 'off'} | {'on' if row['ema'] else 'off'} "
            f"| {row['steps']} | {row['images_per_second']} | {fmt(row['frechet_distance'], 2)} "
            f"({fmt(row['frechet_floor'], 2)}) | {fmt(row['kid'])} | {fmt(row['precision'], 2)} "
            f"| {fmt(row['recall'], 2)} | {fmt(row['density'], 2)} | {fmt(row['coverage'], 2)} "
            f"| {fmt(row['adherence_map'])} ({fmt(row['adherence_map_real'])}) | {fmt(row['diversity_ratio'], 2)} |")
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=6.0, help="training (step) time per run, in minutes")
    parser.add_argument("--turn-seconds", type=float, default=5.0, help="step time a run gets per turn, in seconds")
    parser.add_argument("--samples", type=int, default=1000, help="generated images per evaluation")
    parser.add_argument("--out", type=Path, default=Path("docs/comparison"), help="folder for grids and the table")
    parser.add_argument("--runs", type=Path, default=Path("runs/comparison"), help="folder for the run folders")
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSSES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-training", action="store_true",
                        help="evaluate the models already under --runs (from an earlier run of this script)")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    dataset = load_or_build_openmoji(resolution_px=64, min_count=10, progress=False)
    recipes = [Recipe(loss, augment) for loss in args.losses for augment in (True, False)]
    args.out.mkdir(parents=True, exist_ok=True)
    args.runs.mkdir(parents=True, exist_ok=True)

    training_file = args.runs / "training.json"
    if args.skip_training:
        trained = json.loads(training_file.read_text())
    else:
        trained = train_all(recipes, dataset, args.runs, args.minutes, args.turn_seconds, args.seed)
        training_file.write_text(json.dumps(trained, indent=2) + "\n")

    rows = []
    for run in trained:
        for ema in (True, False):
            model_dir = args.runs / run["run"] / ("model-ema" if ema else "model-raw")
            print(f"evaluating {model_dir}", flush=True)
            rows.append({**run, "ema": ema, **evaluate_run(model_dir, dataset, args.samples, args.seed)})
            (args.out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")

    # One picture per loss: its four cells side by side; and the three losses with the defaults.
    for loss in args.losses:
        cells = [(run, ema) for run in trained if run["loss"] == loss for ema in (True, False)]
        paths = [args.runs / run["run"] / "samples" / ("final.png" if ema else "final-raw.png") for run, ema in cells]
        labels = [f"DiffAugment {'on' if run['diffaugment'] else 'off'}, EMA {'on' if ema else 'off'}"
                  for run, ema in cells]
        labelled_row(paths, labels, args.out / f"{loss}.png")
    defaults = [run for run in trained if run["diffaugment"]]
    labelled_row([args.runs / run["run"] / "samples" / "final.png" for run in defaults],
                 [f"{run['loss']}: {run['steps']} steps, {run['images_per_second']} images/s" for run in defaults],
                 args.out / "losses_side_by_side.png")
    print(write_table(rows, args.out))


if __name__ == "__main__":
    main()
