"""Markdown tables of the benchmark's results."""

from __future__ import annotations

import os
from typing import Any

from .sections import DESIGNGAN, DESIGNGAN_NO_AUGMENT, MATMUL_PEAK, PLAIN, TrainingResult


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _training_table(result: TrainingResult) -> list[str]:
    alternation = result.alternation
    lines = [f"### Training throughput, {result.loss} ({result.resolution_px} px, batch {result.batch_size}, "
             f"width {result.width})", "",
             "| variant | images/s (median) | × plain loop (median, range over rounds) | × designgan without DiffAugment |",
             "|---|---|---|---|"]
    for name in alternation.rates:
        if name == MATMUL_PEAK:
            continue
        ratio, low, high = alternation.ratio(name, PLAIN)
        versus_no_augment = ""
        if name.startswith("  "):
            mine, _, _ = alternation.ratio(name, DESIGNGAN_NO_AUGMENT)
            versus_no_augment = f"{mine:.2f}"
        label = name.strip() if not name.startswith("  ") else f"↳ no DiffAugment, {name.strip()}"
        lines.append(f"| {label} | {alternation.median_rate(name):.1f} | {ratio:.2f} ({low:.2f}–{high:.2f}) "
                     f"| {versus_no_augment} |")
    lines += [""] + [f"- {note}" for note in result.notes]
    return lines


def _limit_table(results: list[TrainingResult]) -> list[str]:
    """FLOPs per image x images/s over the fp32 matrix-multiply FLOP/s of the same round."""
    lines = ["### FLOPs per training image and the matrix-multiply peak", "",
             "The peak is a 2048 x 2048 fp32 matrix product timed in every round beside the "
             "training variants; each round's fraction divides that round's training FLOP/s by it.", "",
             "| loss | variant | GFLOP per training image | images/s | matrix multiply GFLOP/s | "
             "fraction of peak (median, range) |", "|---|---|---|---|---|---|"]
    for result in results:
        alternation = result.alternation
        peak = alternation.median_rate(MATMUL_PEAK)
        for name in (PLAIN, DESIGNGAN):
            flops = result.flops_per_image[name]
            ratio, low, high = alternation.ratio(name, MATMUL_PEAK)
            lines.append(f"| {result.loss} | {name} | {flops / 1e9:.2f} | {alternation.median_rate(name):.1f} "
                         f"| {peak / 1e9:.1f} | {ratio * flops:.0%} ({low * flops:.0%}–{high * flops:.0%}) |")
    forward = results[0].forward_flops_per_image if results else {}
    if forward:
        lines += ["", f"One forward pass per image: generator {forward['Generator'] / 1e9:.3f} GFLOP, "
                  f"critic {forward['Critic'] / 1e9:.3f} GFLOP (a backward pass costs about twice its forward pass)."]
    return lines


def render_report(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = ["## designgan benchmark", "", f"`{machine['command']}`, {machine['date_utc']} UTC, "
             f"{results['seconds'] / 60:.1f} minutes", "",
             f"- torch {machine['torch']}, Python {machine['python']}, device {machine['device']} "
             f"({machine['device_name']}), {machine['threads']} threads, CPU kernels {machine['cpu_capability']}",
             f"- data: {machine['dataset']}"]
    if "load_average_end" in machine:
        lines.append(f"- 1-minute load average {machine['load_average_start']:.1f} at the start and "
                     f"{machine['load_average_end']:.1f} at the end, on {os.cpu_count()} CPUs: other work "
                     "shared the machine when these exceed the thread count")
    lines.append("")

    for result in results.get("training", []):
        lines += _training_table(result) + [""]
    limit = [result for result in results.get("training", []) if MATMUL_PEAK in result.alternation.rates]
    if limit:
        lines += _limit_table(limit) + [""]

    if "generation" in results:
        lines += ["### Generation latency (eval mode, torch.inference_mode)", "",
                  "| batch | ms per image | ms per image, channels_last | peak memory growth (MiB) |", "|---|---|---|---|"]
        for row in results["generation"]:
            lines.append(f"| {row.batch} | {row.ms_per_image:.2f} | {row.ms_per_image_channels_last:.2f} "
                         f"| {_mib(row.peak_mib)} |")
        lines.append("")

    if "growth" in results:
        by_resolution, by_vocabulary = results["growth"]
        config = results.get("config", {})
        lines += [f"### Cost growth (BCE, designgan defaults, batch {config.get('batch_size', '?')}, "
                  f"width {config.get('width', '?')}, random images)", "",
                  "| image side (px) | keywords | step time (ms) | peak training memory (MiB) |", "|---|---|---|---|"]
        for row in by_resolution + by_vocabulary:
            lines.append(f"| {row.resolution_px} | {row.num_keywords} | {row.step_ms:.0f} | {_mib(row.peak_mib)} |")
        lines.append("")
    return "\n".join(lines)
