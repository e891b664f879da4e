"""Data-parallel training: synchronised batch norm, sharded random draws, and two gloo
ranks on CPU that must follow one process with the doubled batch.

The two-rank runs start with torch.multiprocessing.spawn. The ranks meet through a
file store, and gloo connects them over the loopback interface, so nothing listens
beyond 127.0.0.1. They train tiny 32 px models for 4 steps, in about 15 s on two
CPU cores.
"""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from conftest import make_tiny_dataset
from designgan.augment import DiffAugment
from designgan.config import ModelConfig, TrainConfig
from designgan.training import Trainer
from designgan.training.distributed import (DistributedContext, SynchronizedBatchNorm2d, init_distributed,
                                            resolve_device, shutdown, synchronize_batchnorm)

PER_RANK_BATCH = 4
WORLD_SIZE = 2
STEPS = 4

# Two ranks add their gradients in another order than one process does, so weights
# differ by float rounding. Adam divides each gradient by its own running scale, which
# amplifies rounding in gradients that are nearly zero (measured here: up to 5e-6 after
# 4 steps, in the generator's first layer, whose per-channel mean gradient batch norm
# cancels). Ranks whose batch norm is not synchronised, or whose gradients are not
# averaged, differ by 2e-3 or more (measured), so 5e-5 separates the two by ten times
# either way. The EMA moves 0.5% of each step, so its differences are 200 times smaller.
WEIGHT_TOLERANCE = 5e-5
EMA_TOLERANCE = 1e-6


def _model_config(**overrides) -> ModelConfig:
    values = {"resolution_px": 32, "latent_dim": 8, "width": 4, "num_keywords": 4, "embed_dim": 4}
    return ModelConfig(**{**values, **overrides})


def _train_config(**overrides) -> TrainConfig:
    values = {"steps": STEPS, "sample_every": 10**6, "checkpoint_every": 2, "log_every": 2, "threads": 1}
    return dataclasses.replace(TrainConfig(), **{**values, **overrides})


# Each case: the networks and loss that a data-parallel run must reproduce. BCE uses the
# batch-norm discriminator, so it also checks the synchronised statistics of the critic.
CASES = {
    "bce": (_model_config(critic_norm="batch"), _train_config(loss="bce")),
    "wgan-gp": (_model_config(critic_norm="none"),
                _train_config(loss="wgan-gp", n_critic=2, beta1=0.0, beta2=0.9, lr_generator=1e-4, lr_critic=1e-4)),
}


def _skip_keyword_embeddings(*_args) -> None:
    """Stand-in for the text-encoder export, which takes seconds per model and is not under test."""
    return None


def _weights(trainer: Trainer) -> dict[str, dict[str, torch.Tensor]]:
    """Network states, and the EMA's parameters: only rank 0 recalibrates the EMA's
    batch-norm statistics, for its samples and export."""
    ema = {name: param.detach().clone() for name, param in trainer.ema.shadow.named_parameters()}
    return {"generator": trainer.generator.state_dict(), "critic": trainer.critic.state_dict(), "ema": ema}


def _metrics(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]


def _batchnorm_check(rank: int) -> dict[str, torch.Tensor]:
    """Run this rank's half of a fixed batch through a synchronised batch norm."""
    x = torch.randn(8, 3, 4, 4, generator=torch.Generator().manual_seed(5)) * 3.0 + 1.0
    upstream = torch.randn(8, 3, 4, 4, generator=torch.Generator().manual_seed(6))
    norm = synchronize_batchnorm(nn.Sequential(nn.BatchNorm2d(3)), torch.device("cpu"))
    local = x[rank * 4 : (rank + 1) * 4].clone().requires_grad_(True)
    output = norm(local)
    output.backward(upstream[rank * 4 : (rank + 1) * 4])
    return {"output": output.detach(), "grad_input": local.grad, "running_var": norm[0].running_var.clone()}


def _rank_main(rank: int, out_dir: str) -> None:
    """One rank: the batch-norm check, each case end to end, then a split-and-resumed run."""
    from pathlib import Path

    import designgan.export

    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(WORLD_SIZE), "LOCAL_RANK": str(rank),
                       "GLOO_SOCKET_IFNAME": "lo"})
    designgan.export.export_keyword_embeddings = _skip_keyword_embeddings
    torch.set_num_threads(1)
    out = Path(out_dir)
    context = init_distributed("cpu", init_method=f"file://{out / 'store'}")
    try:
        results = {"context": (context.rank, context.world_size, context.backend), "batchnorm": _batchnorm_check(rank)}
        dataset = make_tiny_dataset()
        for name, (model_config, train_config) in CASES.items():
            config = dataclasses.replace(train_config, batch_size=PER_RANK_BATCH)
            trainer = Trainer(dataset, model_config, config, out / name, progress=False, distributed=context)
            trainer.run()
            results[name] = _weights(trainer)

        model_config, train_config = CASES["bce"]
        first = dataclasses.replace(train_config, batch_size=PER_RANK_BATCH, steps=STEPS // 2)
        Trainer(dataset, model_config, first, out / "split", progress=False, distributed=context).run()
        resumed = Trainer.resume(out / "split", dataset, steps=STEPS, progress=False, distributed=context)
        resumed.run()
        results["resumed"] = _weights(resumed)
        torch.save(results, out / f"rank{rank}.pt")
    finally:
        shutdown(context)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Train every case with 2 gloo ranks of PER_RANK_BATCH images; return the results of both ranks."""
    out_dir = tmp_path_factory.mktemp("ranks")
    mp.spawn(_rank_main, args=(str(out_dir),), nprocs=WORLD_SIZE, join=True)
    return out_dir, [torch.load(out_dir / f"rank{rank}.pt", weights_only=True) for rank in range(WORLD_SIZE)]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, monkeypatch_module):
    """Train every case in one process with the doubled batch."""
    out_dir = tmp_path_factory.mktemp("single")
    dataset = make_tiny_dataset()
    results = {}
    for name, (model_config, train_config) in CASES.items():
        config = dataclasses.replace(train_config, batch_size=PER_RANK_BATCH * WORLD_SIZE)
        trainer = Trainer(dataset, model_config, config, out_dir / name, progress=False)
        trainer.run()
        results[name] = _weights(trainer)
    return out_dir, results


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("designgan.export.export_keyword_embeddings", _skip_keyword_embeddings)
        yield patch


def _max_difference(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> float:
    assert first.keys() == second.keys()
    return max(float((first[key].double() - second[key].double()).abs().max()) for key in first)


# ------------------------------------------------------------------------------------
# Without a process group


def test_context_without_torchrun():
    context = init_distributed("cpu", environ={})
    assert (context.rank, context.world_size, context.enabled, context.is_main) == (0, 1, False, True)


def test_context_single_rank_torchrun():
    context = init_distributed("cpu", environ={"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"})
    assert context.world_size == 1
    assert context.backend == ""


def test_resolve_device_invalid_name():
    with pytest.raises(ValueError, match="--device 'tpu'"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on machines without CUDA")
def test_resolve_device_cuda_missing():
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda")


def test_resolve_device_auto_on_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


def test_synchronize_batchnorm_keeps_tensors():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.BatchNorm2d(4), nn.ReLU()))
    weight, running_mean = model[1][0].weight, model[1][0].running_mean
    keys = set(model.state_dict())
    synchronize_batchnorm(model, torch.device("cpu"))
    assert isinstance(model[1][0], SynchronizedBatchNorm2d)
    assert model[1][0].weight is weight
    assert model[1][0].running_mean is running_mean
    assert set(model.state_dict()) == keys


def test_synchronized_batchnorm_alone_is_batchnorm():
    plain = nn.BatchNorm2d(3)
    synchronized = synchronize_batchnorm(nn.Sequential(nn.BatchNorm2d(3)), torch.device("cpu"))[0]
    x = torch.randn(6, 3, 5, 5)
    assert torch.equal(synchronized(x), plain(x))
    assert torch.equal(synchronized.running_var, plain.running_var)


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_diffaugment_shards_match_global_batch(policy):
    images = torch.rand(8, 3, 16, 16) * 2 - 1
    whole = DiffAugment(policy, seed=3)(images)
    shards = [DiffAugment(policy, seed=3, rank=rank, world_size=2)(images[rank * 4 : (rank + 1) * 4])
              for rank in range(2)]
    assert torch.equal(torch.cat(shards), whole)


def test_diffaugment_rank_out_of_range():
    with pytest.raises(ValueError, match="rank 2"):
        DiffAugment("color", rank=2, world_size=2)


def test_trainer_lone_context_batch(tiny_dataset, tmp_path):
    trainer = Trainer(tiny_dataset(), _model_config(), _train_config(batch_size=8), tmp_path / "run",
                      progress=False, distributed=DistributedContext())
    assert (trainer.batch_size, trainer.global_batch_size) == (8, 8)


# ------------------------------------------------------------------------------------
# Two gloo ranks against one process with the doubled batch


def test_ranks_join_gloo_group(two_ranks):
    _, ranks = two_ranks
    assert [result["context"] for result in ranks] == [(0, 2, "gloo"), (1, 2, "gloo")]


def test_synchronized_batchnorm_two_ranks(two_ranks):
    _, ranks = two_ranks
    x = torch.randn(8, 3, 4, 4, generator=torch.Generator().manual_seed(5)) * 3.0 + 1.0
    upstream = torch.randn(8, 3, 4, 4, generator=torch.Generator().manual_seed(6))
    norm = nn.BatchNorm2d(3)
    whole = x.clone().requires_grad_(True)
    output = norm(whole)
    output.backward(upstream)
    assert torch.allclose(torch.cat([r["batchnorm"]["output"] for r in ranks]), output.detach(), atol=1e-5)
    assert torch.allclose(torch.cat([r["batchnorm"]["grad_input"] for r in ranks]), whole.grad, atol=1e-5)
    assert torch.allclose(ranks[0]["batchnorm"]["running_var"], norm.running_var, atol=1e-5)


@pytest.mark.parametrize("case", list(CASES))
def test_ranks_hold_equal_weights(two_ranks, case):
    _, ranks = two_ranks
    for part in ("generator", "critic", "ema"):
        assert _max_difference(ranks[0][case][part], ranks[1][case][part]) == 0.0, part


@pytest.mark.parametrize("case", list(CASES))
def test_two_ranks_match_doubled_batch(two_ranks, one_process, case):
    _, ranks = two_ranks
    _, single = one_process
    for part, tolerance in (("generator", WEIGHT_TOLERANCE), ("critic", WEIGHT_TOLERANCE), ("ema", EMA_TOLERANCE)):
        assert _max_difference(ranks[0][case][part], single[case][part]) < tolerance, part


@pytest.mark.parametrize("case", list(CASES))
def test_two_ranks_log_mean_losses(two_ranks, one_process, case):
    ranks_dir, _ = two_ranks
    single_dir, _ = one_process
    parallel, alone = _metrics(ranks_dir / case), _metrics(single_dir / case)
    assert [record["step"] for record in parallel] == [2, 4]  # rank 0 alone writes
    for mine, theirs in zip(parallel, alone):
        for key in theirs:
            if key.startswith(("loss/", "critic/")):
                assert mine[key] == pytest.approx(theirs[key], abs=1e-4), key


def test_rank_zero_writes_run_folder(two_ranks):
    ranks_dir, _ = two_ranks
    config = json.loads((ranks_dir / "bce" / "config.json").read_text(encoding="utf-8"))
    assert (config["world_size"], config["batch_size_used"], config["global_batch_size"]) == (2, 4, 8)
    assert (ranks_dir / "bce" / "model" / "model.safetensors").is_file()


def test_two_ranks_resume_matches_straight(two_ranks):
    _, ranks = two_ranks
    for part in ("generator", "critic", "ema"):
        assert _max_difference(ranks[0]["resumed"][part], ranks[0]["bce"][part]) == 0.0, part
