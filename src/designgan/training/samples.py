"""Sample grids and loss curves written during training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..images import float_to_uint8, make_grid


@torch.no_grad()
def save_sample_grid(generator: torch.nn.Module, z: torch.Tensor, keywords: torch.Tensor | None,
                     rows: int, path: str | Path) -> None:
    """Draw one image per (keyword set, noise) pair and save a grid with one keyword
    set per row and one fixed noise vector per column.

    z: (rows * columns, latent_dim); keywords: (rows * columns, K) or None.
    """
    generator.eval()
    images = float_to_uint8(generator(z, keywords))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    make_grid(images, columns=len(z) // rows).save(path)


SECOND_AXIS = frozenset({"loss/mode_seeking"})


def plot_loss_curves(metrics_path: str | Path, out_path: str | Path) -> bool:
    """Plot every "loss/..." series of a metrics.jsonl file against the step.

    Returns False (and writes nothing) when there are no metric lines yet.
    """
    series: dict[str, tuple[list[int], list[float]]] = {}
    for line in Path(metrics_path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        for key, value in record.items():
            if key.startswith("loss/") and isinstance(value, (int, float)):
                steps, values = series.setdefault(key, ([], []))
                steps.append(record["step"])
                values.append(value)
    if not series:
        return False

    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    # Terms on another scale (the mode-seeking term is about 3 to 20 where the GAN losses
    # are about 1) get their own axis on the right, so they do not flatten the others.
    figure, axis = plt.subplots(figsize=(7, 4), dpi=100)
    right = axis.twinx() if any(key in SECOND_AXIS for key in series) else None
    colours = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"])
    for key, (steps, values) in sorted(series.items()):
        target = right if key in SECOND_AXIS else axis
        target.plot(steps, _smooth(values), label=key.removeprefix("loss/"), linewidth=1.2, color=next(colours))
    axis.set_xlabel("generator step")
    axis.set_ylabel("loss (moving average)")
    axis.grid(alpha=0.3)
    handles, labels = axis.get_legend_handles_labels()
    if right is not None:
        right.set_ylabel("mode-seeking term (moving average)")
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    axis.legend(handles, labels)
    figure.tight_layout()
    figure.savefig(out_path)
    plt.close(figure)
    return True


def _smooth(values: list[float], window: int = 10) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if len(array) < window:
        return array
    kernel = np.ones(window) / window
    head = np.cumsum(array[: window - 1]) / np.arange(1, window)
    return np.concatenate([head, np.convolve(array, kernel, mode="valid")])
