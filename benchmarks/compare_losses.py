"""Train BCE, WGAN-GP and hinge on the same data for the same wall-clock time.

    python benchmarks/compare_losses.py --minutes 8 --out docs/losses

Each loss runs with its own default recipe (see `designgan train --help`), one after
the other so they do not share the CPU. The script writes each run's final sample grid,
one side-by-side picture and a Markdown table of steps, images/s and losses.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

LOSSES = ("bce", "wgan-gp", "hinge")
SAMPLE_KEYWORDS = ("cat", "heart", "smiling face", "flag", "food", "woman dark skin tone")


def train(loss: str, minutes: float, run_dir: Path, extra: list[str]) -> None:
    command = [sys.executable, "-m", "designgan", "train", "--loss", loss, "--max-minutes", str(minutes),
               "--steps", "1000000", "--run-dir", str(run_dir), "--sample-every", "1000000",
               "--checkpoint-every", "1000000", "-q", *extra]
    for text in SAMPLE_KEYWORDS:
        command += ["--sample-keywords", text]
    subprocess.run(command, check=True)


def summarise(run_dir: Path) -> dict:
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    last = lines[-1]
    tail = lines[-10:]
    return {
        "steps": last["step"],
        "seconds": last["seconds"],
        "images_per_second": round(last["step"] * json.loads((run_dir / "config.json").read_text())["batch_size_used"]
                                   / last["seconds"], 1),
        "critic_loss": round(float(np.mean([r["loss/critic"] for r in tail])), 3),
        "generator_loss": round(float(np.mean([r["loss/generator"] for r in tail])), 3),
    }


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
    parser.add_argument("--minutes", type=float, default=8.0, help="wall-clock training time per loss, in minutes")
    parser.add_argument("--out", type=Path, default=Path("docs/losses"), help="folder for grids and the table")
    parser.add_argument("--runs", type=Path, default=Path("runs/compare"), help="folder for the run folders")
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSSES)
    args, extra = parser.parse_known_args()

    args.out.mkdir(parents=True, exist_ok=True)
    rows, grids = [], []
    for loss in args.losses:
        run_dir = args.runs / loss
        train(loss, args.minutes, run_dir, extra)
        summary = summarise(run_dir)
        grid = args.out / f"{loss}.png"
        Image.open(run_dir / "samples" / "final.png").save(grid)
        grids.append(grid)
        rows.append((loss, summary))

    side_by_side(grids, [f"{loss}: {s['steps']} steps" for loss, s in rows], args.out / "side_by_side.png")
    table = ["| loss | steps | images/s | critic loss | generator loss |", "|---|---|---|---|---|"]
    for loss, s in rows:
        table.append(f"| {loss} | {s['steps']} | {s['images_per_second']} | {s['critic_loss']} | {s['generator_loss']} |")
    text = "\n".join(table) + "\n"
    (args.out / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
