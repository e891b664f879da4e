"""Timing, memory and FLOP measurements shared by the benchmark sections."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

MIB = 2**20


@dataclass
class Alternation:
    """Rates (items/s) of several variants, one entry per round for each variant."""

    rates: dict[str, list[float]] = field(default_factory=dict)

    def median_rate(self, name: str) -> float:
        return statistics.median(self.rates[name])

    def ratio(self, name: str, baseline: str) -> tuple[float, float, float]:
        """Median, lowest and highest of the per-round ratios rate(name) / rate(baseline).

        Each round runs every variant once, back to back, so a ratio within a round
        compares runs made under the same load of the machine."""
        ratios = [mine / theirs for mine, theirs in zip(self.rates[name], self.rates[baseline])]
        return statistics.median(ratios), min(ratios), max(ratios)


def alternate(variants: dict[str, Callable[[], int]], rounds: int, warmup: int = 1,
              log: Callable[[str], None] | None = None) -> Alternation:
    """Time `variants` in alternation: each call runs some work and returns the number of
    items (images) it processed. After `warmup` untimed calls of each, every round calls
    each variant once, starting one variant later each round so that no variant always
    runs first, after the same neighbour or at the same moment of a round."""
    for name, run in variants.items():
        for _ in range(warmup):
            run()
        if log:
            log(f"  warmed up {name}")

    names = list(variants)
    result = Alternation({name: [] for name in names})
    for round_index in range(rounds):
        order = names[round_index % len(names):] + names[: round_index % len(names)]
        for name in order:
            start = time.perf_counter()
            items = variants[name]()
            result.rates[name].append(items / (time.perf_counter() - start))
        if log:
            log(f"  round {round_index + 1}/{rounds}: "
                + ", ".join(f"{name} {result.rates[name][-1]:.1f}/s" for name in names))
    return result


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PeakMemory:
    """Peak memory growth in MiB while the `with` block runs.

    CUDA: torch.cuda.max_memory_allocated over the allocation at entry. CPU: the
    process's peak resident set (VmHWM in /proc/self/status), reset at entry by
    writing 5 to /proc/self/clear_refs (Linux 4.0 or newer), over the resident set at
    entry. The CPU figure includes memory that the allocator keeps after a free, so it
    is an upper bound of what the tensors needed. `mib` stays None where neither works.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.mib: float | None = None
        self._base = 0.0

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        elif _reset_peak_rss():
            self._base = _status_kib("VmRSS") * 1024.0
        else:
            self._base = -1.0
        return self

    def __exit__(self, *exc_info) -> None:
        if self.device.type == "cuda":
            synchronize(self.device)
            self.mib = (torch.cuda.max_memory_allocated(self.device) - self._base) / MIB
        elif self._base >= 0:
            self.mib = max(0.0, _status_kib("VmHWM") * 1024.0 - self._base) / MIB


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_kib(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1])
    raise KeyError(f"{key} not found in /proc/self/status")


class _GlobalOnly:
    """Stands in for FlopCounterMode's module tracker, whose backward hooks fail inside
    torch.autograd.grad (torch 2.13: "A leaf node was passed to _will_engine_execute_node"),
    which the gradient penalty calls. Every count then goes to "Global" alone."""

    parents = {"Global"}

    def __enter__(self) -> "_GlobalOnly":
        return self

    def __exit__(self, *exc_info) -> None:
        return None


def count_flops(function: Callable[[], object]) -> int:
    """Run `function` once under torch.utils.flop_counter and return its FLOPs.

    The counter covers matrix multiplications and convolutions, forward and backward
    (double backward too), and counts a multiply-add as 2 FLOPs. Element-wise work
    (batch norm, activations, the optimizer) is not counted."""
    counter = FlopCounterMode(display=False, depth=1)
    # NOTE: mod_tracker is an attribute of torch 2.x's FlopCounterMode, not a public API;
    # if a later torch renames it, the assignment is harmless and autograd.grad may fail.
    counter.mod_tracker = _GlobalOnly()
    with counter:
        function()
    return int(counter.get_total_flops())


def matmul_variant(device: torch.device, size: int = 2048, seconds: float = 0.5) -> Callable[[], int]:
    """An alternation variant that multiplies n x n fp32 matrices for about `seconds` and
    returns the FLOPs done, so that its rate is the matrix-multiply FLOP/s of that round."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)

    def run() -> int:
        repeats, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            torch.mm(a, b)
            repeats += 1
        synchronize(device)
        return 2 * size**3 * repeats

    return run
