"""Training layer: EMA, batch-norm recalibration, checkpoints and the Trainer end to end.

Every Trainer here trains a 32 px model of width 4 on 16 random images, so a
20-step run takes a few seconds on one CPU thread.
"""

import json
import logging
import math

import pytest
import torch
from PIL import Image
from torch import nn

from designgan.config import ConfigError, ModelConfig
from designgan.export import read_model_files
from designgan.losses import GANLoss, hinge_discriminator_loss, hinge_generator_loss
from designgan.models import Generator
from designgan.training import Trainer, TrainingDivergedError, read_run_config
from designgan.training.checkpoint import CHECKPOINT_FORMAT_VERSION, load_checkpoint, save_checkpoint
from designgan.training.ema import ExponentialMovingAverage, recompute_batchnorm_statistics
from designgan.training.trainer import SAMPLE_COLUMNS, SAMPLE_ROWS

# Each sample grid costs a batch-norm recalibration, so most runs write only the
# final grid.
NO_INTERMEDIATE_SAMPLES = 10**6


def _train(dataset, model_config, train_config, run_dir):
    trainer = Trainer(dataset, model_config, train_config, run_dir, progress=False)
    return trainer, trainer.run()


def _assert_same_weights(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


# ------------------------------------------------------------------------------------
# Exponential moving average


def _linear(value: float) -> nn.Linear:
    layer = nn.Linear(3, 2)
    with torch.no_grad():
        for param in layer.parameters():
            param.fill_(value)
    return layer


def test_ema_update_formula():
    model = _linear(1.0)
    ema = ExponentialMovingAverage(model, decay=0.9)
    with torch.no_grad():
        model.weight.fill_(3.0)
    ema.update(model, step=0)
    assert torch.allclose(ema.shadow.weight, torch.full((2, 3), 0.9 * 1.0 + 0.1 * 3.0))


def test_ema_update_twice():
    model = _linear(0.0)
    ema = ExponentialMovingAverage(model, decay=0.5)
    with torch.no_grad():
        model.weight.fill_(4.0)
    ema.update(model, step=0)
    ema.update(model, step=1)
    assert torch.allclose(ema.shadow.weight, torch.full((2, 3), 3.0))  # 0 -> 2 -> 3


def test_ema_copies_before_start_step():
    model = _linear(1.0)
    ema = ExponentialMovingAverage(model, decay=0.9, start_step=5)
    with torch.no_grad():
        model.weight.fill_(3.0)
    ema.update(model, step=4)
    assert torch.equal(ema.shadow.weight, model.weight)


def test_ema_averages_from_start_step():
    model = _linear(1.0)
    ema = ExponentialMovingAverage(model, decay=0.9, start_step=5)
    with torch.no_grad():
        model.weight.fill_(3.0)
    ema.update(model, step=5)
    assert torch.allclose(ema.shadow.weight, torch.full((2, 3), 1.2))


def test_ema_shadow_frozen_in_eval():
    ema = ExponentialMovingAverage(_linear(1.0), decay=0.9)
    assert not ema.shadow.training
    assert not any(p.requires_grad for p in ema.shadow.parameters())


def test_ema_shadow_independent_of_model():
    model = _linear(1.0)
    ema = ExponentialMovingAverage(model, decay=0.9)
    with torch.no_grad():
        model.weight.fill_(7.0)
    assert torch.equal(ema.shadow.weight, torch.ones(2, 3))


def test_ema_leaves_batchnorm_statistics(tiny_model_config):
    generator = Generator(tiny_model_config(num_keywords=0))
    ema = ExponentialMovingAverage(generator, decay=0.9)
    generator(torch.randn(8, 8))  # train mode: moves the raw running statistics
    ema.update(generator, step=0)
    assert torch.equal(ema.shadow.net[1].running_mean, torch.zeros_like(ema.shadow.net[1].running_mean))


def test_ema_state_dict_round_trip():
    source = ExponentialMovingAverage(_linear(2.0), decay=0.9)
    target = ExponentialMovingAverage(_linear(0.0), decay=0.9)
    target.load_state_dict(source.state_dict())
    _assert_same_weights(target.state_dict(), source.state_dict())


# ------------------------------------------------------------------------------------
# Batch-norm recalibration


def _stale_generator(tiny_model_config) -> Generator:
    """A tiny unconditional generator whose running statistics are far from any real batch."""
    torch.manual_seed(0)
    generator = Generator(tiny_model_config(num_keywords=0))
    for module in generator.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.fill_(3.0)
            module.running_var.fill_(10.0)
    return generator


def test_recompute_matches_batch_statistics(tiny_model_config):
    generator = _stale_generator(tiny_model_config)
    z = torch.randn(512, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        batch_statistics = generator.train()(z)

    recompute_batchnorm_statistics(generator, [(z, None)])
    with torch.no_grad():
        running_statistics = generator(z)
    # The only difference left is the unbiased (N - 1) running variance against the
    # biased batch variance, with N >= 512 * 16 values per channel.
    assert torch.allclose(running_statistics, batch_statistics, atol=1e-4)


def test_recompute_makes_images_independent(tiny_model_config):
    generator = _stale_generator(tiny_model_config)
    z = torch.randn(64, 8, generator=torch.Generator().manual_seed(1))
    recompute_batchnorm_statistics(generator, [(z, None)])
    with torch.no_grad():
        in_batch = generator(z)[:1]
        alone = generator(z[:1])
    assert torch.allclose(alone, in_batch, atol=1e-6)


def test_recompute_leaves_eval_mode(tiny_model_config):
    generator = _stale_generator(tiny_model_config)
    recompute_batchnorm_statistics(generator, [(torch.randn(16, 8), None)])
    assert not generator.training


def test_recompute_plain_average_over_batches():
    norm = nn.BatchNorm1d(3)
    rng = torch.Generator().manual_seed(0)
    first = torch.randn(8, 3, generator=rng) + 1.0
    second = torch.randn(8, 3, generator=rng) * 2.0 - 1.0
    recompute_batchnorm_statistics(norm, [(first, None), (second, None)], forward=lambda m, z, _: m(z))
    assert torch.allclose(norm.running_mean, (first.mean(0) + second.mean(0)) / 2)
    assert torch.allclose(norm.running_var, (first.var(0) + second.var(0)) / 2)


def test_recompute_restores_momentum():
    norm = nn.BatchNorm1d(3, momentum=0.3)
    recompute_batchnorm_statistics(norm, [(torch.randn(8, 3), None)], forward=lambda m, z, _: m(z))
    assert norm.momentum == 0.3


# ------------------------------------------------------------------------------------
# Checkpoint files


def test_checkpoint_loads_weights_only(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"step": 7, "weights": {"w": torch.ones(2)}})
    state = torch.load(path, weights_only=True)
    assert state["step"] == 7
    assert state["format_version"] == CHECKPOINT_FORMAT_VERSION


def test_checkpoint_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint.pt"):
        load_checkpoint(tmp_path / "checkpoint.pt")


def test_checkpoint_damaged_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"step": 7, "weights": torch.ones(64)})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="checkpoint.pt"):
        load_checkpoint(path)


def test_checkpoint_wrong_format_version(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"format_version": CHECKPOINT_FORMAT_VERSION + 1, "step": 7}, path)
    with pytest.raises(ValueError, match="format version"):
        load_checkpoint(path)


def test_checkpoint_not_a_dict(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(ValueError, match="checkpoint.pt"):
        load_checkpoint(path)


# ------------------------------------------------------------------------------------
# Trainer: artefacts of one 20-step run


@pytest.fixture(scope="module")
def hinge_run(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path_factory):
    """A straight 20-step hinge run with samples and checkpoints every 10 steps."""
    run_dir = tmp_path_factory.mktemp("hinge") / "run"
    return _train(tiny_dataset(), tiny_model_config(), tiny_train_config(), run_dir)


def test_trainer_reaches_steps(hinge_run):
    trainer, result = hinge_run
    assert result.steps == 20
    assert trainer.step == 20


def test_trainer_writes_checkpoint(hinge_run):
    _, result = hinge_run
    state = torch.load(result.run_dir / "checkpoint.pt", weights_only=True)
    assert state["step"] == 20


def test_trainer_writes_sample_grids(hinge_run):
    _, result = hinge_run
    names = sorted(p.name for p in (result.run_dir / "samples").glob("*.png"))
    assert names == ["final.png", "step_0000010.png", "step_0000020.png"]


def test_trainer_sample_grid_layout(hinge_run):
    # One row per keyword set and one column per noise vector, 32 px tiles with
    # 2 px padding around each.
    _, result = hinge_run
    grid = Image.open(result.run_dir / "samples" / "final.png")
    assert grid.size == (SAMPLE_COLUMNS * 34 + 2, SAMPLE_ROWS * 34 + 2)


def test_trainer_writes_metrics(hinge_run):
    _, result = hinge_run
    lines = (result.run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    for record in records:
        assert math.isfinite(record["loss/critic"]), record
        assert math.isfinite(record["loss/generator"]), record


def test_trainer_writes_run_config(hinge_run):
    trainer, result = hinge_run
    config = read_run_config(result.run_dir)
    assert config["train"]["steps"] == 20
    assert config["model"] == json.loads(json.dumps(trainer.model_config.__dict__))
    assert config["data"]["keywords"] == list(trainer.dataset.vocabulary.keywords)


def test_trainer_writes_loss_curve(hinge_run):
    _, result = hinge_run
    with Image.open(result.run_dir / "loss_curve.png") as image:
        assert image.format == "PNG"


def test_trainer_exports_model(hinge_run):
    trainer, result = hinge_run
    model = read_model_files(result.model_dir)
    assert result.model_dir == result.run_dir / "model"
    assert model.model_config == trainer.model_config
    assert model.vocabulary == trainer.dataset.vocabulary


def test_trainer_exports_calibrated_ema(hinge_run):
    trainer, result = hinge_run
    model = read_model_files(result.model_dir)
    _assert_same_weights(model.state_dict, trainer.calibrated_ema().state_dict())


def test_trainer_model_takes_dataset_shape(hinge_run):
    trainer, _ = hinge_run
    assert trainer.model_config.num_keywords == trainer.dataset.num_keywords
    assert trainer.model_config.resolution_px == trainer.dataset.resolution_px


def test_sample_keywords_one_row_each(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    config = tiny_train_config(sample_keywords=("cat", "star heart"))
    trainer = Trainer(tiny_dataset(), tiny_model_config(), config, tmp_path / "run", progress=False)
    assert trainer.sample_rows == 2
    assert trainer.sample_keywords.shape == (2 * SAMPLE_COLUMNS, 4)


def test_sample_keywords_unknown_named(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    config = tiny_train_config(sample_keywords=("cat", "stars"))
    with pytest.raises(ValueError, match="'stars'.*closest known: star"):
        Trainer(tiny_dataset(), tiny_model_config(), config, tmp_path / "run", progress=False)


def test_read_run_config_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        read_run_config(tmp_path)


# ------------------------------------------------------------------------------------
# Trainer: resume gives the same weights as an uninterrupted run


def _split_run(dataset, model_config, train_config, run_dir):
    """Train to step 10, then resume from the checkpoint to step 20."""
    _train(dataset, model_config, train_config.__class__(**{**train_config.__dict__, "steps": 10}), run_dir)
    resumed = Trainer.resume(run_dir, dataset, steps=20, progress=False)
    resumed.run()
    return resumed


def test_resume_matches_straight_run_hinge(hinge_run, tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    straight, _ = hinge_run
    resumed = _split_run(tiny_dataset(), tiny_model_config(), tiny_train_config(), tmp_path / "run")
    assert resumed.step == 20
    _assert_same_weights(resumed.generator.state_dict(), straight.generator.state_dict())
    _assert_same_weights(resumed.critic.state_dict(), straight.critic.state_dict())
    _assert_same_weights(resumed.ema.state_dict(), straight.ema.state_dict())


def test_resume_matches_straight_run_wgan_gp(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    dataset = tiny_dataset()
    model_config = tiny_model_config(critic_norm="none")
    train_config = tiny_train_config(loss="wgan-gp", n_critic=2, sample_every=NO_INTERMEDIATE_SAMPLES)
    straight, _ = _train(dataset, model_config, train_config, tmp_path / "straight")
    resumed = _split_run(dataset, model_config, train_config, tmp_path / "split")
    _assert_same_weights(resumed.generator.state_dict(), straight.generator.state_dict())
    _assert_same_weights(resumed.critic.state_dict(), straight.critic.state_dict())
    _assert_same_weights(resumed.ema.state_dict(), straight.ema.state_dict())


def test_resume_raises_steps(hinge_run, tiny_dataset, tmp_path):
    trainer, result = hinge_run
    assert Trainer.resume(result.run_dir, tiny_dataset(), steps=30, progress=False).train_config.steps == 30


def test_resume_rejects_other_dataset(hinge_run, tiny_dataset):
    _, result = hinge_run
    with pytest.raises(ValueError, match="16 images"):
        Trainer.resume(result.run_dir, tiny_dataset(count=12), progress=False)


# ------------------------------------------------------------------------------------
# Trainer: divergence, odd datasets, time limit


def _generator_loss_nan_on_call(call: int):
    calls = 0

    def loss(fake_scores: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        value = hinge_generator_loss(fake_scores)
        return value * float("nan") if calls == call else value

    return loss


def test_divergence_names_step(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    config = tiny_train_config(checkpoint_every=1, sample_every=NO_INTERMEDIATE_SAMPLES)
    trainer = Trainer(tiny_dataset(), tiny_model_config(), config, tmp_path / "run", progress=False)
    trainer.loss = GANLoss("hinge", hinge_discriminator_loss, _generator_loss_nan_on_call(3))
    with pytest.raises(TrainingDivergedError, match="step 3"):
        trainer.run()


def test_divergence_keeps_last_checkpoint(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    config = tiny_train_config(checkpoint_every=1, sample_every=NO_INTERMEDIATE_SAMPLES)
    trainer = Trainer(tiny_dataset(), tiny_model_config(), config, tmp_path / "run", progress=False)
    trainer.loss = GANLoss("hinge", hinge_discriminator_loss, _generator_loss_nan_on_call(3))
    with pytest.raises(TrainingDivergedError, match="checkpoint.pt is kept"):
        trainer.run()
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 2
    assert all(torch.isfinite(value).all() for value in state["generator"].values())


def test_divergence_before_first_checkpoint(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    config = tiny_train_config(checkpoint_every=100, sample_every=NO_INTERMEDIATE_SAMPLES)
    trainer = Trainer(tiny_dataset(), tiny_model_config(), config, tmp_path / "run", progress=False)
    trainer.loss = GANLoss("hinge", hinge_discriminator_loss, _generator_loss_nan_on_call(3))
    with pytest.raises(TrainingDivergedError, match="No checkpoint was saved"):
        trainer.run()


def test_small_dataset_clamps_batch(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path, caplog):
    config = tiny_train_config(batch_size=8, steps=3, sample_every=NO_INTERMEDIATE_SAMPLES)
    with caplog.at_level(logging.WARNING, logger="designgan.training.trainer"):
        trainer, result = _train(tiny_dataset(count=3), tiny_model_config(), config, tmp_path / "run")
    assert trainer.batch_size == 3
    assert result.steps == 3
    assert "--batch-size 8" in caplog.text


def test_unconditional_training(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    config = tiny_train_config(conditional=False, steps=3, sample_every=NO_INTERMEDIATE_SAMPLES)
    trainer, result = _train(tiny_dataset(num_keywords=0), tiny_model_config(), config, tmp_path / "run")
    model = read_model_files(result.model_dir)
    assert result.steps == 3
    assert model.model_config.num_keywords == 0
    assert model.vocabulary is None


def test_unconditional_ignores_dataset_keywords(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    config = tiny_train_config(conditional=False, steps=1)
    trainer = Trainer(tiny_dataset(num_keywords=4), tiny_model_config(), config, tmp_path / "run", progress=False)
    assert trainer.generator.embedding is None


def test_conditional_needs_keywords(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    with pytest.raises(ValueError, match="--unconditional"):
        Trainer(tiny_dataset(num_keywords=0), tiny_model_config(), tiny_train_config(), tmp_path / "run")


def test_max_minutes_stops_early(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    # 0.001 minutes is 60 ms: a few steps of this model at most.
    config = tiny_train_config(steps=10**6, max_minutes=0.001, sample_every=NO_INTERMEDIATE_SAMPLES)
    trainer, result = _train(tiny_dataset(), tiny_model_config(), config, tmp_path / "run")
    state = torch.load(result.run_dir / "checkpoint.pt", weights_only=True)
    assert result.steps < 100
    assert state["step"] == result.steps


def test_same_seed_same_weights(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    config = tiny_train_config(steps=3, sample_every=NO_INTERMEDIATE_SAMPLES)
    first, _ = _train(tiny_dataset(), tiny_model_config(), config, tmp_path / "first")
    second, _ = _train(tiny_dataset(), tiny_model_config(), config, tmp_path / "second")
    _assert_same_weights(first.generator.state_dict(), second.generator.state_dict())


# ------------------------------------------------------------------------------------
# Speed options: each must train, and the exact ones must not change the result


def _steps(trainer: Trainer, count: int) -> list[dict]:
    return [trainer.train_step() for _ in range(count)]


@pytest.mark.parametrize("loss", ["hinge", "wgan-gp"])
def test_bf16_autocast_trains(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path, loss):
    # This CPU has no bf16 units, so bf16 runs emulated and slowly; the model is tiny.
    config = tiny_train_config(loss=loss, precision="bf16", n_critic=1)
    trainer = Trainer(tiny_dataset(), tiny_model_config(critic_norm="none"), config, tmp_path / "run", progress=False)
    for stats in _steps(trainer, 2):
        assert all(math.isfinite(value) for value in stats.values()), stats
    assert all(p.dtype == torch.float32 for p in trainer.generator.parameters())


@pytest.mark.parametrize("implementation", ["foreach", "fused"])
def test_adam_implementation_same_weights(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path, implementation):
    weights = {}
    for name in ("for-loop", implementation):
        config = tiny_train_config(adam_implementation=name)
        trainer = Trainer(tiny_dataset(), tiny_model_config(), config, tmp_path / name, progress=False)
        _steps(trainer, 3)
        weights[name] = trainer.generator.state_dict()
    for key, value in weights["for-loop"].items():
        assert torch.allclose(weights[implementation][key].float(), value.float(), atol=1e-6), key


def test_joint_critic_pass_same_weights(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    # Without batch norm one pass over real and fake images gives the scores of two passes.
    weights = {}
    for joint in (True, False):
        config = tiny_train_config(loss="wgan-gp", n_critic=2, joint_critic_pass=joint)
        trainer = Trainer(tiny_dataset(), tiny_model_config(critic_norm="none"), config, tmp_path / str(joint),
                          progress=False)
        _steps(trainer, 3)
        weights[joint] = trainer.critic.state_dict()
    for key, value in weights[False].items():
        assert torch.allclose(weights[True][key], value, atol=1e-6), key


def test_invalid_precision_named(tiny_train_config):
    with pytest.raises(ConfigError, match="--precision 'fp16'"):
        tiny_train_config(precision="fp16").validate()


# ------------------------------------------------------------------------------------
# Mode-seeking term


def test_mode_seeking_pairs_share_keywords(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    trainer = Trainer(tiny_dataset(), tiny_model_config(), tiny_train_config(mode_seeking=1.0), tmp_path / "run",
                      progress=False)
    keywords = torch.eye(4).repeat(2, 1)[torch.randperm(8)]  # (8, 4), rows differ
    paired = trainer._pair_keywords(keywords)
    assert torch.equal(paired[4:], keywords[:4])
    assert torch.equal(paired[:4], keywords[:4])

    # The critic's fakes of the step are drawn for the paired keywords and kept for the generator.
    trainer._critic_update(keep_fakes=True)
    _, fake_keywords, _ = trainer._fakes
    assert torch.equal(fake_keywords[4:], fake_keywords[:4])


def test_mode_seeking_off_keeps_keywords(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    trainer = Trainer(tiny_dataset(), tiny_model_config(), tiny_train_config(), tmp_path / "run", progress=False)
    keywords = torch.eye(4).repeat(2, 1)
    assert torch.equal(trainer._pair_keywords(keywords), keywords)


@pytest.mark.parametrize("reuse_fakes", [True, False])
def test_mode_seeking_logged(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path, reuse_fakes):
    config = tiny_train_config(mode_seeking=1.0, reuse_fakes=reuse_fakes, steps=5, log_every=1,
                               sample_every=NO_INTERMEDIATE_SAMPLES)
    _, result = _train(tiny_dataset(), tiny_model_config(), config, tmp_path / "run")
    lines = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    values = [line["loss/mode_seeking"] for line in lines if "loss/mode_seeking" in line]
    assert len(values) == 5
    assert all(math.isfinite(value) and value > 0 for value in values)


def test_mode_seeking_changes_training(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    base = tiny_train_config(steps=3, sample_every=NO_INTERMEDIATE_SAMPLES)
    plain, _ = _train(tiny_dataset(), tiny_model_config(), base, tmp_path / "plain")
    seeking, _ = _train(tiny_dataset(), tiny_model_config(), base.__class__(**{**base.__dict__, "mode_seeking": 1.0}),
                        tmp_path / "seeking")
    weights = plain.generator.state_dict(), seeking.generator.state_dict()
    assert any(not torch.equal(weights[0][name], weights[1][name]) for name in weights[0])


def test_resume_mode_seeking_bit_identical(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    dataset, model_config = tiny_dataset(), tiny_model_config()
    train_config = tiny_train_config(mode_seeking=0.5, sample_every=NO_INTERMEDIATE_SAMPLES)
    straight, _ = _train(dataset, model_config, train_config, tmp_path / "straight")
    resumed = _split_run(dataset, model_config, train_config, tmp_path / "split")
    assert resumed.train_config.mode_seeking == 0.5
    _assert_same_weights(resumed.generator.state_dict(), straight.generator.state_dict())


def test_resume_sets_mode_seeking(hinge_run, tiny_dataset):
    _, result = hinge_run
    resumed = Trainer.resume(result.run_dir, tiny_dataset(), steps=30, progress=False, mode_seeking=2.0)
    assert resumed.train_config.mode_seeking == 2.0
    assert Trainer.resume(result.run_dir, tiny_dataset(), progress=False).train_config.mode_seeking == 0.0


def test_mode_seeking_out_of_range_named(tiny_train_config):
    with pytest.raises(ConfigError, match="--mode-seeking -1"):
        tiny_train_config(mode_seeking=-1.0).validate()


# ------------------------------------------------------------------------------------
# Sampling balanced over base designs


def _variant_dataset(tiny_dataset):
    """16 designs: 12 skin-tone variants of two base designs (6 each) and 4 single designs."""
    dataset = tiny_dataset()
    tones = ["1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF", ""]
    ids = [f"1F44B-{tone}".rstrip("-") for tone in tones] + [f"1F64B-{tone}".rstrip("-") for tone in tones]
    dataset.source_ids = ids + ["1F431", "1F355", "2615", "1F3C1"]
    return dataset


def test_base_design_favours_single_designs(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    config = tiny_train_config(sampling="base-design")
    trainer = Trainer(_variant_dataset(tiny_dataset), tiny_model_config(), config, tmp_path / "run", progress=False)
    counts = torch.zeros(16)
    for _ in range(500):
        counts += torch.bincount(trainer._draw_weighted(), minlength=16)
    # Six base designs share the draws equally: each variant gets 1/36 of them, each single design 1/6.
    shares = counts / counts.sum()
    assert shares[12:].mean().item() == pytest.approx(1 / 6, rel=0.1)
    assert shares[:12].sum().item() == pytest.approx(2 / 6, rel=0.1)


def test_base_design_sampling_batches(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    config = tiny_train_config(sampling="base-design")
    trainer = Trainer(_variant_dataset(tiny_dataset), tiny_model_config(), config, tmp_path / "run", progress=False)
    images, keywords = trainer._next_batch()
    assert images.shape == (8, 3, 32, 32)
    assert keywords.shape == (8, 4)


def test_resume_base_design_bit_identical(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path):
    dataset, model_config = _variant_dataset(tiny_dataset), tiny_model_config()
    train_config = tiny_train_config(sampling="base-design", sample_every=NO_INTERMEDIATE_SAMPLES)
    straight, _ = _train(dataset, model_config, train_config, tmp_path / "straight")
    resumed = _split_run(dataset, model_config, train_config, tmp_path / "split")
    assert resumed.train_config.sampling == "base-design"
    _assert_same_weights(resumed.generator.state_dict(), straight.generator.state_dict())


def test_resume_sets_sampling(hinge_run, tiny_dataset):
    _, result = hinge_run
    resumed = Trainer.resume(result.run_dir, tiny_dataset(), steps=30, progress=False, sampling="base-design")
    assert resumed.train_config.sampling == "base-design"
    assert resumed.sample_weights is not None


def test_invalid_sampling_named(tiny_train_config):
    with pytest.raises(ConfigError, match="--sampling 'rare'"):
        tiny_train_config(sampling="rare").validate()


def test_resume_records_setting_changes(hinge_run, tiny_dataset, tmp_path):
    import shutil

    _, result = hinge_run
    run_dir = tmp_path / "run"
    shutil.copytree(result.run_dir, run_dir)
    resumed = Trainer.resume(run_dir, tiny_dataset(), steps=22, progress=False, mode_seeking=2.0,
                             sampling="base-design")
    change = {"step": 20, "mode_seeking": 2.0, "sampling": "base-design"}
    assert resumed.setting_changes == [change]
    resumed.run()
    assert read_run_config(run_dir)["setting_changes"] == [change]
    recipe = json.loads((run_dir / "model" / "config.json").read_text())["recipe"]
    assert recipe["setting_changes"] == [change]

    # A later resume without new values keeps the history; one that repeats a value adds nothing.
    again = Trainer.resume(run_dir, tiny_dataset(), steps=24, progress=False, sampling="base-design")
    assert again.setting_changes == [change]


def test_mode_seeking_warns_without_pairs(tiny_dataset, tiny_model_config, tiny_train_config, tmp_path, caplog):
    config = tiny_train_config(mode_seeking=1.0, batch_size=1)
    with caplog.at_level(logging.WARNING, logger="designgan.training.trainer"):
        Trainer(tiny_dataset(), tiny_model_config(), config, tmp_path / "run", progress=False)
    assert "--mode-seeking 1 needs at least 2 images" in caplog.text
