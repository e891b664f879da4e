"""The designgan command line, run in-process and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from designgan.cli import app
from designgan.data.dataset import DesignDataset
from model_fixtures import make_keyword_dataset, tiny_model_dir  # noqa: F401  (pytest fixture)

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_generate_writes_grid(tiny_model_dir, tmp_path):
    out = tmp_path / "ideas.png"
    result = run("generate", "cat heart", "-n", "6", "--seed", "7", "--out", str(out), "--model", str(tiny_model_dir),
                 "--columns", "3")
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (3 * 34 + 2, 2 * 34 + 2)


def test_generate_out_dir_writes_recipes(tiny_model_dir, tmp_path):
    result = run("generate", "heart", "-n", "3", "--out-dir", str(tmp_path / "ideas"), "--model", str(tiny_model_dir))
    assert result.exit_code == 0, result.output
    recipes = sorted((tmp_path / "ideas").glob("*.json"))
    assert len(recipes) == 3
    assert len(list((tmp_path / "ideas").glob("*.png"))) == 3
    assert {json.loads(p.read_text())["seed"] for p in recipes} == {0, 1, 2}


def test_generate_same_seed_same_file(tiny_model_dir, tmp_path):
    for name in ("a.png", "b.png"):
        run("generate", "cat", "-n", "4", "--seed", "3", "--out", str(tmp_path / name), "--model", str(tiny_model_dir))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), np.asarray(Image.open(tmp_path / "b.png")))


def test_generate_names_unknown_keyword(tiny_model_dir, tmp_path):
    result = run("generate", "kat heart", "-n", "1", "--out", str(tmp_path / "x.png"), "--model", str(tiny_model_dir))
    assert result.exit_code == 0
    assert "'kat'" in result.stderr
    assert "cat" in result.stderr


def test_generate_all_unknown_fails(tiny_model_dir, tmp_path):
    result = run("generate", "rocket", "--out", str(tmp_path / "x.png"), "--model", str(tiny_model_dir))
    assert result.exit_code == 1
    assert "rocket" in result.stderr
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("args, fragment", [
    (["-n", "0"], "-n 0"),
    (["-n", "1025"], "-n 1025"),
    (["--seed", "-1"], "--seed -1"),
    (["--truncation", "2"], "--truncation 2"),
])
def test_generate_rejects_bad_option(tiny_model_dir, tmp_path, args, fragment):
    result = run("generate", "cat", *args, "--out", str(tmp_path / "x.png"), "--model", str(tiny_model_dir))
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_generate_missing_model(tmp_path):
    result = run("generate", "cat", "--model", str(tmp_path / "missing"))
    assert result.exit_code == 1
    assert "not found" in result.stderr


def test_generate_corrupt_model(tiny_model_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    (broken / "model.safetensors").write_bytes((tiny_model_dir / "model.safetensors").read_bytes())
    result = run("generate", "cat", "--model", str(broken))
    assert result.exit_code == 1
    assert "config.json" in result.stderr


def test_train_cli_runs_and_exports(tmp_path):
    data = make_keyword_dataset().save(tmp_path / "data.safetensors")
    run_dir = tmp_path / "run"
    result = run("train", "--data", str(data), "--run-dir", str(run_dir), "--steps", "4", "--width", "8",
                 "--latent-dim", "16", "--batch-size", "8", "--sample-every", "2", "--checkpoint-every", "2", "-q")
    assert result.exit_code == 0, result.output
    assert (run_dir / "model" / "model.safetensors").is_file()
    assert json.loads((run_dir / "config.json").read_text())["train"]["steps"] == 4


def test_train_cli_resume_extends(tmp_path):
    data = make_keyword_dataset().save(tmp_path / "data.safetensors")
    run_dir = tmp_path / "run"
    common = ["--width", "8", "--latent-dim", "16", "--batch-size", "8", "-q"]
    run("train", "--data", str(data), "--run-dir", str(run_dir), "--steps", "2", *common)
    result = run("train", "--resume", str(run_dir), "--steps", "4", "-q")
    assert result.exit_code == 0, result.output
    assert "trained 4 steps" in result.output


def test_cli_resume_changes_sampling(tmp_path):
    data = make_keyword_dataset().save(tmp_path / "data.safetensors")
    run_dir = tmp_path / "run"
    common = ["--width", "8", "--latent-dim", "16", "--batch-size", "8", "-q"]
    run("train", "--data", str(data), "--run-dir", str(run_dir), "--steps", "2", *common)
    result = run("train", "--resume", str(run_dir), "--steps", "4", "--sampling", "base-design",
                 "--mode-seeking", "0.5", "-q")
    assert result.exit_code == 0, result.output
    train = json.loads((run_dir / "config.json").read_text())["train"]
    assert (train["sampling"], train["mode_seeking"], train["steps"]) == ("base-design", 0.5, 4)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--sampling", "rare", "--sampling 'rare' is invalid; use one of uniform, base-design"),
    ("--mode-seeking", "-2", "--mode-seeking -2.0 is out of range"),
    ("--sampling", "", "--sampling '' is invalid"),
])
def test_cli_rejects_bad_sampling(tmp_path, option, value, message):
    data = make_keyword_dataset().save(tmp_path / "data.safetensors")
    result = run("train", "--data", str(data), "--run-dir", str(tmp_path / "run"), option, value, "-q")
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_train_cli_rejects_bad_loss(tmp_path):
    result = run("train", "--loss", "mse", "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 2
    assert "--loss 'mse'" in result.stderr


def test_train_cli_missing_data(tmp_path):
    result = run("train", "--data", str(tmp_path / "nope.safetensors"), "--run-dir", str(tmp_path / "run"), "-q")
    assert result.exit_code == 1
    assert "nope.safetensors" in result.stderr


def test_data_openmoji_few_designs(tmp_path, monkeypatch):
    monkeypatch.setenv("DESIGNGAN_CACHE", str(tmp_path / "cache"))
    from designgan import cli
    from designgan.data import openmoji

    real_build = openmoji.build_openmoji_dataset
    monkeypatch.setattr("designgan.data.build_openmoji_dataset",
                        lambda **kw: real_build(**{**kw, "only_ids": ["1F600", "1F431", "1F408"], "min_count": 1}))
    out = tmp_path / "om.safetensors"
    result = runner.invoke(cli.app, ["data", "openmoji", "--out", str(out), "--resolution", "32", "-q"])
    assert result.exit_code == 0, result.output
    assert len(DesignDataset.load(out)) == 3
    assert "3 designs" in result.output or "designs: 3" in result.output


def test_module_entry_point_help():
    completed = subprocess.run([sys.executable, "-m", "designgan", "generate", "--help"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0
    assert "--truncation" in completed.stdout


def test_generate_uses_builtin_model(tmp_path):
    out = tmp_path / "ideas.png"
    result = run("generate", "smiling cat face", "-n", "4", "--seed", "7", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (4 * 66 + 2, 66 + 2)


def test_builtin_model_small_and_pickle_free():
    from designgan.pipeline import builtin_model_path

    folder = builtin_model_path()
    assert (folder / "model.safetensors").stat().st_size < 10 * 1024 * 1024
    assert (folder / "MODEL_CARD.md").is_file()
    assert not list(folder.glob("*.pt"))
    assert not list(folder.glob("*.pkl"))


def test_train_refuses_existing_run(tmp_path):
    data = make_keyword_dataset().save(tmp_path / "data.safetensors")
    run_dir = tmp_path / "run"
    common = ["--data", str(data), "--run-dir", str(run_dir), "--steps", "1", "--width", "8", "--batch-size", "8", "-q"]
    run("train", *common)
    result = run("train", *common)
    assert result.exit_code == 2
    assert "--resume" in result.stderr


def test_generate_rejects_folder_as_out(tiny_model_dir, tmp_path):
    result = run("generate", "cat", "--out", str(tmp_path), "--model", str(tiny_model_dir))
    assert result.exit_code == 2
    assert ".png" in result.stderr


def test_generate_rejects_seed_past_max(tiny_model_dir, tmp_path):
    result = run("generate", "cat", "-n", "2", "--seed", str(2**63 - 1), "--out", str(tmp_path / "x.png"),
                 "--model", str(tiny_model_dir))
    assert result.exit_code == 2
    assert "largest seed" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["generate", "cat", "--seed", "abc"], "Invalid value for '--seed'"),
    (["generate", "cat", "--no-such-option"], "No such option"),
    (["genrate", "cat"], "No such command"),
])
def test_usage_errors_are_one_line(args, message):
    # A real subprocess goes through main(), which turns click's usage errors into one line.
    completed = subprocess.run([sys.executable, "-m", "designgan", *args], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
