"""Data-parallel training across processes started by torchrun.

`init_distributed` reads the variables that torchrun sets (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT) and joins the process group: gloo on CPU,
NCCL on CUDA. Every rank runs the same training loop on its own shard of each
global batch, and DistributedDataParallel averages the gradients. With batch norm
synchronised too, N ranks with per-rank batch B follow a single process with
batch N * B up to float rounding.

torch.nn.SyncBatchNorm accepts only GPU inputs (torch 2.13 raises "SyncBatchNorm
expected input tensor to be on GPU" for CPU tensors), so on CPU the batch-norm
layers are replaced by `SynchronizedBatchNorm2d`, which gathers the statistics
with the process group's own collectives and therefore works with gloo.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable, Mapping, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.autograd.function import once_differentiable

logger = logging.getLogger(__name__)

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
DEVICE_NAMES = ("auto", "cpu", "cuda")
PROCESS_GROUP_TIMEOUT_MINUTES = 30  # a rank that waits longer in a collective fails instead of hanging

T = TypeVar("T")


@dataclass(frozen=True)
class DistributedContext:
    """Position of this process in a data-parallel job. A lone process is rank 0 of 1."""

    rank: int = 0
    local_rank: int = 0  # rank within this machine; picks the GPU
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backend: str = ""  # "gloo" or "nccl" once a process group is joined; "" for a lone process

    @property
    def enabled(self) -> bool:
        """True when gradients and statistics must be combined across ranks."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the rank that logs and writes files (rank 0)."""
        return self.rank == 0


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """Map `--device` (auto, cpu, cuda) to a device; under torchrun each rank takes GPU `local_rank`."""
    if name not in DEVICE_NAMES:
        raise ValueError(f"--device {name!r} is invalid; use one of {', '.join(DEVICE_NAMES)}.")
    if name == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if name == "cuda":
        raise ValueError("--device cuda: torch finds no CUDA device (torch.cuda.is_available() is False); "
                         "use --device cpu, or install a CUDA build of torch.")
    return torch.device("cpu")


def launched_by_torchrun(environ: Mapping[str, str]) -> bool:
    return all(name in environ for name in TORCHRUN_VARIABLES)


def init_distributed(device: str = "auto", environ: Mapping[str, str] | None = None,
                     init_method: str = "env://") -> DistributedContext:
    """Join the torchrun job this process belongs to, or return a lone-process context.

    With the default `init_method` the ranks meet at MASTER_ADDR:MASTER_PORT, which
    torchrun sets. "file:///shared/path" makes them meet through a file instead, with
    no listening socket for the store (the tests and the scaling benchmark use it).
    """
    environ = os.environ if environ is None else environ
    if not launched_by_torchrun(environ):
        return DistributedContext(device=resolve_device(device))

    rank, world_size = int(environ["RANK"]), int(environ["WORLD_SIZE"])
    local_rank = int(environ["LOCAL_RANK"])
    target = resolve_device(device, local_rank)
    if world_size == 1:
        return DistributedContext(rank, local_rank, 1, target)

    backend = "nccl" if target.type == "cuda" else "gloo"
    if target.type == "cuda":
        torch.cuda.set_device(target)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method=init_method, rank=rank, world_size=world_size,
                                timeout=timedelta(minutes=PROCESS_GROUP_TIMEOUT_MINUTES))
    logger.info("rank %d of %d joined the %s process group on %s", rank, world_size, backend, target)
    return DistributedContext(rank, local_rank, world_size, target, backend)


def shutdown(context: DistributedContext) -> None:
    """Leave the process group that `init_distributed` joined, if any."""
    if context.backend and dist.is_initialized():
        dist.destroy_process_group()


def barrier(context: DistributedContext) -> None:
    if context.enabled:
        dist.barrier()


def main_process_first(context: DistributedContext, function: Callable[[], T]) -> T:
    """Run `function` on rank 0 first, then on the other ranks: a cache that rank 0
    builds (the rendered OpenMoji set, say) is then only read by the others."""
    if context.enabled and not context.is_main:
        dist.barrier()
    result = function()
    if context.enabled and context.is_main:
        dist.barrier()
    return result


def broadcast_value(value: T, context: DistributedContext) -> T:
    """Return rank 0's `value` on every rank (a picklable object, such as a path)."""
    if not context.enabled:
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def all_reduce_mean(values: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """Average a tensor over ranks (a copy; the input is left as it is)."""
    if not context.enabled:
        return values
    total = values.detach().to(context.device, torch.float32, copy=True)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total / context.world_size


def any_rank(flag: bool, context: DistributedContext) -> bool:
    """True on every rank when `flag` is true on at least one, so that all ranks stop together."""
    if not context.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=context.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0.0)


# ----------------------------------------------------------------------------------
# Synchronised batch norm that also runs on CPU


class _SynchronizedBatchNorm(torch.autograd.Function):
    """Batch norm over the union of every rank's batch, in training mode.

    Forward: each rank computes per-channel count, mean and biased variance of its
    x (B, C, H, W); one all_gather combines them with the parallel-variance formula
    (Chan et al. 1979), which avoids the cancellation of E[x^2] - E[x]^2 in fp32.
    Backward: with xhat = (x - mean) * invstd and upstream g, the input gradient is
    weight * invstd * (g - sum(g) / n - xhat * sum(g * xhat) / n), where both sums run
    over all ranks (one all_reduce) and n is the global count. The weight and bias
    gradients stay local sums; DistributedDataParallel averages them with the rest.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps: float, group):
        dims = (0, 2, 3)
        count = x.numel() // x.shape[1]
        variance, mean = torch.var_mean(x, dim=dims, unbiased=False)  # (C,), (C,)
        local = torch.cat([x.new_tensor([float(count)]), mean, variance * count])  # (2C + 1,)

        world_size = dist.get_world_size(group)
        gathered = [torch.empty_like(local) for _ in range(world_size)]
        dist.all_gather(gathered, local, group=group)
        stats = torch.stack(gathered)  # (R, 2C + 1): count, mean, M2 per rank
        channels = x.shape[1]
        counts, means, m2 = stats[:, :1], stats[:, 1 : 1 + channels], stats[:, 1 + channels :]
        total = counts.sum()
        global_mean = (counts * means).sum(dim=0) / total
        global_m2 = m2.sum(dim=0) + (counts * (means - global_mean) ** 2).sum(dim=0)
        global_variance = global_m2 / total
        invstd = torch.rsqrt(global_variance + eps)

        shape = (1, channels, 1, 1)
        xhat = (x - global_mean.view(shape)) * invstd.view(shape)
        output = xhat * weight.view(shape) + bias.view(shape) if weight is not None else xhat
        ctx.save_for_backward(x, weight, global_mean, invstd)
        ctx.mark_non_differentiable(global_mean, global_variance)
        ctx.total = total
        ctx.group = group
        return output, global_mean, global_variance

    @staticmethod
    @once_differentiable  # the all_reduce in backward is invisible to autograd, so no double backward
    def backward(ctx, grad_output, _grad_mean, _grad_variance):
        x, weight, mean, invstd = ctx.saved_tensors
        dims = (0, 2, 3)
        shape = (1, x.shape[1], 1, 1)
        xhat = (x - mean.view(shape)) * invstd.view(shape)
        sum_g = grad_output.sum(dim=dims)  # (C,)
        sum_gx = (grad_output * xhat).sum(dim=dims)  # (C,)

        grad_weight = sum_gx if weight is not None and ctx.needs_input_grad[1] else None
        grad_bias = sum_g if weight is not None and ctx.needs_input_grad[2] else None
        grad_input = None
        if ctx.needs_input_grad[0]:
            sums = torch.cat([sum_g, sum_gx])
            dist.all_reduce(sums, op=dist.ReduceOp.SUM, group=ctx.group)
            global_g, global_gx = sums.chunk(2)
            scale = invstd if weight is None else invstd * weight
            grad_input = scale.view(shape) * (grad_output - global_g.view(shape) / ctx.total
                                              - xhat * (global_gx / ctx.total).view(shape))
        return grad_input, grad_weight, grad_bias, None, None


class SynchronizedBatchNorm2d(nn.BatchNorm2d):
    """nn.BatchNorm2d whose training-mode statistics cover the batches of all ranks.

    It keeps nn.BatchNorm2d's parameters, buffers and state-dict keys, so checkpoints
    and exports do not change. In eval mode, or without a process group of two or more
    ranks, it is plain nn.BatchNorm2d. Every rank must call it the same number of times,
    because each training-mode call is a collective.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        if x.dim() != 4:
            raise ValueError(f"SynchronizedBatchNorm2d expects (B, C, H, W) input, got shape {tuple(x.shape)}.")

        # Statistics in fp32 also under bf16 autocast; the output returns in the input's dtype.
        output, mean, variance = _SynchronizedBatchNorm.apply(x.float(), self.weight, self.bias, self.eps, None)
        output = output.to(x.dtype)
        if self.track_running_stats:
            # The running statistics follow nn.BatchNorm2d: the unbiased variance, and
            # momentum None meaning a cumulative average over all batches seen.
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                count = x.numel() // x.shape[1] * dist.get_world_size()
                self.running_mean.lerp_(mean, factor)
                self.running_var.lerp_(variance * count / max(count - 1, 1), factor)
        return output


def synchronize_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Replace every nn.BatchNorm2d in `module` by a synchronised one, in place.

    CUDA uses torch.nn.SyncBatchNorm; CPU uses `SynchronizedBatchNorm2d`. The new
    layers take over the old ones' parameter and buffer tensors, so an optimizer or
    moving average that holds them keeps working.
    """
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            replacement = SynchronizedBatchNorm2d(child.num_features, child.eps, child.momentum, child.affine,
                                                  child.track_running_stats)
            if child.affine:
                replacement.weight, replacement.bias = child.weight, child.bias
            if child.track_running_stats:
                replacement.running_mean = child.running_mean
                replacement.running_var = child.running_var
                replacement.num_batches_tracked = child.num_batches_tracked
            replacement.train(child.training)
            setattr(module, name, replacement)
        else:
            synchronize_batchnorm(child, device)
    return module
