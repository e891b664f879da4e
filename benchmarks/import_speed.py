"""Measure `designgan data import` speed and peak memory on synthetic folders.

    python benchmarks/import_speed.py --sizes 1000 10000 50000 --work-dir /tmp/import-bench

For each size the script generates (once, then reuses) a folder of mixed
images with a metadata.csv: 40% PNG (RGB, RGBA, palette, gray; 96-512 px),
40% JPEG (photo-like, 320-1024 px), 20% SVG. It then imports the folder in a
fresh child process and prints one Markdown table row per size: images/s and
the peak resident memory of the importing process and of its largest decoding
worker (resource.getrusage: RUSAGE_SELF and RUSAGE_CHILDREN report the
maximum of a single process, not a sum over processes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

WORDS = ("cat", "dog", "sun", "moon", "star", "tree", "leaf", "heart", "flag", "car", "boat", "house", "fish",
         "bird", "flower", "cloud", "rain", "snow", "fire", "water", "red", "blue", "green", "yellow", "round")
IMAGES_PER_TASK = 200  # generation tasks handed to each process at a time


def _draw_shapes(draw: ImageDraw.ImageDraw, rng: random.Random, width: int, height: int) -> None:
    for _ in range(rng.randint(3, 8)):
        box = sorted(rng.randrange(width) for _ in range(2)), sorted(rng.randrange(height) for _ in range(2))
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = rng.choice((draw.ellipse, draw.rectangle))
        shape((box[0][0], box[1][0], box[0][1], box[1][1]), fill=colour)


def _write_image(folder: Path, index: int) -> tuple[str, str]:
    """Write image `index` and return (file name, tags); the same index always gives the same file."""
    rng = random.Random(index)
    kind = rng.random()
    tags = ", ".join(rng.sample(WORDS, rng.randint(1, 4)))
    if kind < 0.2:
        name = f"{index:06d}.svg"
        shapes = "".join(
            f'<circle cx="{rng.randint(0, 100)}" cy="{rng.randint(0, 100)}" r="{rng.randint(5, 40)}" '
            f'fill="#{rng.randrange(1 << 24):06x}"/>' for _ in range(rng.randint(3, 10))
        )
        (folder / name).write_text(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">{shapes}</svg>')
        return name, tags
    if kind < 0.6:
        width, height = rng.randint(96, 512), rng.randint(96, 512)
        image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        _draw_shapes(ImageDraw.Draw(image), rng, width, height)
        mode = rng.choice(("RGB", "RGBA", "P", "L"))
        name = f"{index:06d}.png"
        (image.convert(mode) if mode != "RGBA" else image).save(folder / name)
        return name, tags
    width, height = rng.randint(320, 1024), rng.randint(240, 768)
    noise = np.random.default_rng(index).integers(0, 40, size=(height, width, 3), dtype=np.uint8)
    image = Image.fromarray(noise)
    _draw_shapes(ImageDraw.Draw(image), rng, width, height)
    name = f"{index:06d}.jpg"
    image.save(folder / name, quality=85)
    return name, tags


def _write_range(folder: Path, start: int, stop: int) -> list[tuple[str, str]]:
    return [_write_image(folder, index) for index in range(start, stop)]


def generate_folder(folder: Path, count: int, workers: int) -> None:
    """Create `count` images and metadata.csv in `folder`, unless a complete folder is already there."""
    done_marker = folder / ".complete"
    if done_marker.is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    ranges = [(start, min(start + IMAGES_PER_TASK, count)) for start in range(0, count, IMAGES_PER_TASK)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rows = [row for rows in pool.map(_write_range, [folder] * len(ranges), *zip(*ranges)) for row in rows]
    lines = ["file_name,tags"] + [f'{name},"{tags}"' for name, tags in rows]
    (folder / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done_marker.write_text("")


def run_import(folder: Path, out: Path, resolution_px: int, workers: int | None) -> None:
    """Import `folder` in this process and print seconds and peak RSS as JSON (the child side)."""
    from designgan.data import ImportSettings, import_folder

    started = time.perf_counter()
    settings = ImportSettings(resolution_px=resolution_px, workers=workers)
    report = import_folder(folder, out, settings, progress=False)
    seconds = time.perf_counter() - started
    # ru_maxrss is in KiB on Linux.
    print(json.dumps({
        "imported": report.designs,
        "skipped": len(report.skipped_items),
        "seconds": seconds,
        "peak_rss_main_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000], help="Images per folder, e.g. 1000 10000 50000.")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/designgan-import-bench"),
                        help="Where the synthetic folders and datasets go (several GB at 50k).")
    parser.add_argument("--resolution", type=int, default=64, help="--resolution of the import: 32, 64 or 128.")
    parser.add_argument("--workers", type=int, default=None, help="Decoding processes. Default: one per CPU core.")
    parser.add_argument("--run-import", nargs=2, type=Path, metavar=("FOLDER", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run_import:
        run_import(*args.run_import, args.resolution, args.workers)
        return

    cores = os.cpu_count() or 1
    print("| images | workers | seconds | images/s | peak RSS main (MiB) | peak RSS largest worker (MiB) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        folder = args.work_dir / f"folder-{size}"
        generate_folder(folder, size, args.workers or cores)
        out = args.work_dir / f"out-{size}" / "dataset.safetensors"
        for stale in out.parent.glob("*"):
            stale.unlink()  # a fresh import each time, without the cache of an earlier run
        command = [sys.executable, __file__, "--run-import", str(folder), str(out), "--resolution", str(args.resolution)]
        if args.workers:
            command += ["--workers", str(args.workers)]
        result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        print(f"| {size:,} | {args.workers or cores} | {result['seconds']:.1f} | {size / result['seconds']:.0f} | "
              f"{result['peak_rss_main_mib']:.0f} | {result['peak_rss_worker_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
