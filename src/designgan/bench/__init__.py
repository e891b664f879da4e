"""Benchmark of designgan's training and generation speed: `python -m designgan.bench`.

Every comparison runs its variants in alternation within one process, so that the
ratios it prints compare runs made under the same load of a shared machine.
"""

from .measure import Alternation, PeakMemory, alternate, count_flops, matmul_variant
from .plain import PlainLoop

__all__ = ["Alternation", "PeakMemory", "PlainLoop", "alternate", "count_flops", "matmul_variant"]
