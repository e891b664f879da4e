"""`designgan evaluate`: a run on a tiny model, and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest
from metrics_fixtures import make_shape_dataset, shape_model_dir, single_thread  # noqa: F401
from typer.testing import CliRunner

from designgan.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return make_shape_dataset().save(tmp_path_factory.mktemp("data") / "shapes.safetensors")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def run(*args: str):
    return runner.invoke(app, ["evaluate", "--quiet", *args])


def test_evaluate_writes_report(shape_model_dir, data_file, cache_dir, tmp_path):
    result = run("--model", str(shape_model_dir), "--data", str(data_file), "--out", str(tmp_path / "out"),
                 "--samples", "20", "--seed", "2", "--cache-dir", str(cache_dir))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["samples"]["n_generated"] == 20
    assert (tmp_path / "out" / "report.html").is_file()
    assert "Inception FID/KID skipped: no --inception-weights" in result.output


def test_evaluate_inception_file_missing(shape_model_dir, data_file, cache_dir, tmp_path):
    result = run("--model", str(shape_model_dir), "--data", str(data_file), "--out", str(tmp_path / "out"),
                 "--samples", "10", "--cache-dir", str(cache_dir), "--inception-weights", str(tmp_path / "none.pth"))
    assert result.exit_code == 0, result.output
    assert f"--inception-weights {tmp_path / 'none.pth'} not found" in result.output


def test_evaluate_missing_model(data_file, tmp_path):
    result = run("--model", str(tmp_path / "absent"), "--data", str(data_file), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "not found" in result.output


def test_evaluate_bad_data_file(shape_model_dir, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a dataset")
    result = run("--model", str(shape_model_dir), "--data", str(bad), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert f"Cannot load dataset {bad}" in result.output


@pytest.mark.parametrize("args, fragment", [
    (["--samples", "5"], "--samples 5 is out of range; use 10..100000"),
    (["--samples", "1000000"], "--samples 1000000 is out of range"),
    (["--real-samples", "3"], "--real-samples 3 is out of range"),
    (["--truncation", "2"], "--truncation 2.0 is out of range"),
])
def test_evaluate_rejects_out_of_range(shape_model_dir, data_file, tmp_path, args, fragment):
    result = run("--model", str(shape_model_dir), "--data", str(data_file), "--out", str(tmp_path / "out"), *args)
    assert result.exit_code == 2
    assert fragment in result.output


def test_evaluate_real_samples_above_split(shape_model_dir, data_file, cache_dir, tmp_path):
    result = run("--model", str(shape_model_dir), "--data", str(data_file), "--out", str(tmp_path / "out"),
                 "--samples", "10", "--real-samples", "5000", "--cache-dir", str(cache_dir))
    assert result.exit_code == 2
    assert "--real-samples 5000 is out of range; the train split of this dataset has" in result.output


def test_evaluate_out_is_file(shape_model_dir, data_file, tmp_path):
    out = tmp_path / "report.txt"
    out.write_text("")
    result = run("--model", str(shape_model_dir), "--data", str(data_file), "--out", str(out))
    assert result.exit_code == 2
    assert f"--out {out} is a file" in result.output
