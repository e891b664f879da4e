"""The benchmark's parts on tiny models: the plain loop, the alternation, the FLOP and
memory counters, and one training-throughput section rendered as a report."""

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from designgan.bench import Alternation, PeakMemory, PlainLoop, alternate, count_flops
from designgan.bench.__main__ import app
from designgan.bench.report import render_report
from designgan.bench.sections import (DESIGNGAN, DESIGNGAN_NO_AUGMENT, MATMUL_PEAK, PLAIN, BenchConfig,
                                      synthetic_dataset, training_throughput)
from designgan.config import ModelConfig


def _plain_loop(loss: str, **overrides) -> PlainLoop:
    images = torch.rand(16, 3, 32, 32) * 2 - 1
    labels = torch.zeros(16, 4)
    labels[:, 0] = 1.0
    config = ModelConfig(resolution_px=32, latent_dim=8, width=4, num_keywords=4, embed_dim=4,
                         critic_norm="none" if loss == "wgan-gp" else "batch")
    return PlainLoop(images, labels, config, loss, batch_size=8, **overrides)


@pytest.mark.parametrize("loss", ["bce", "wgan-gp"])
def test_plain_loop_updates_both_networks(loss):
    loop = _plain_loop(loss, n_critic=2)
    generator = [p.detach().clone() for p in loop.generator.parameters()]
    critic = [p.detach().clone() for p in loop.critic.parameters()]
    assert loop.step() == 8
    assert any(not torch.equal(before, after) for before, after in zip(generator, loop.generator.parameters()))
    assert any(not torch.equal(before, after) for before, after in zip(critic, loop.critic.parameters()))


def test_plain_loop_rejects_loss():
    with pytest.raises(ValueError, match="'hinge'"):
        _plain_loop("hinge")


def test_alternation_ratio_per_round():
    alternation = Alternation({"a": [10.0, 20.0, 30.0], "b": [5.0, 5.0, 10.0]})
    assert alternation.ratio("a", "b") == (3.0, 2.0, 4.0)
    assert alternation.median_rate("a") == 20.0


def test_alternate_runs_every_variant_each_round():
    calls = []
    variants = {name: (lambda name=name: calls.append(name) or 4) for name in ("a", "b", "c")}
    result = alternate(variants, rounds=3, warmup=0)
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert all(len(rates) == 3 for rates in result.rates.values())


def test_count_flops_linear():
    layer = torch.nn.Linear(4, 3)
    x = torch.randn(2, 4)
    assert count_flops(lambda: layer(x)) == 2 * 2 * 4 * 3  # a multiply-add counts 2


def test_count_flops_through_autograd_grad():
    layer = torch.nn.Linear(4, 1)
    x = torch.randn(2, 4, requires_grad=True)

    def penalty():
        (grad,) = torch.autograd.grad(layer(x).sum(), x, create_graph=True)
        grad.pow(2).sum().backward()

    assert count_flops(penalty) > 2 * 2 * 4


def test_peak_memory_sees_allocation():
    with PeakMemory(torch.device("cpu")) as memory:
        block = torch.ones(16, 2**20)  # 64 MiB, written so that its pages become resident
        del block
    if memory.mib is None:
        pytest.skip("/proc/self/clear_refs is not writable here")
    assert memory.mib >= 48


def test_synthetic_dataset_shape():
    dataset = synthetic_dataset(12, 32, 7)
    assert dataset.images.shape == (12, 32, 32, 3)
    assert dataset.labels.shape == (12, 7)
    assert np.all(dataset.labels.sum(axis=1) >= 1)


def test_training_section_report():
    config = BenchConfig(batch_size=8, width=4, rounds=1, bce_steps_per_call=1, ablations=False)
    result = training_throughput(synthetic_dataset(32, 32, 4), "bce", config, log=lambda message: None)
    assert set(result.alternation.rates) == {PLAIN, DESIGNGAN, DESIGNGAN_NO_AUGMENT, MATMUL_PEAK}
    assert result.flops_per_image[PLAIN] > 0
    assert result.forward_flops_per_image["Generator"] > 0
    machine = {"command": "python -m designgan.bench", "date_utc": "now", "torch": torch.__version__,
               "python": "3", "device": "cpu", "device_name": "test", "threads": 1, "cpu_capability": "x",
               "dataset": "synthetic"}
    report = render_report({"machine": machine, "training": [result], "seconds": 1.0})
    assert "| designgan Trainer |" in report
    assert "fraction of peak" in report


def test_cli_rejects_unknown_section():
    result = CliRunner().invoke(app, ["--sections", "training,speed"])
    assert result.exit_code == 2
    assert "'speed'" in result.output
