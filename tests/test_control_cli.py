"""The control commands: edit, directions, morph, blend, vary and reproduce, run in-process."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from control_fixtures import TinyClassifier, control_model_dir, model_copy  # noqa: F401  (pytest fixtures)
from designgan.cli import app
from designgan.recipes import RECIPE_TEXT_KEY
from designgan.text_embedding import TextEncoderMissing
from model_fixtures import make_keyword_dataset

runner = CliRunner()


@pytest.fixture(autouse=True)
def offline_resources(monkeypatch, tmp_path):
    """Use the tiny classifier, a private cache, and no sentence encoder (as without the designgan[text] extra)."""
    monkeypatch.setenv("DESIGNGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("designgan.cli._classifier_for_dataset", lambda dataset, quiet: TinyClassifier())

    def missing_encoder():
        raise TextEncoderMissing("the designgan[text] extra is not installed in this test")

    monkeypatch.setattr("designgan.text_embedding.load_text_encoder", missing_encoder)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    """The synthetic dataset the control model was trained on, for the classifier and the directions."""
    return make_keyword_dataset().save(tmp_path_factory.mktemp("data") / "designs.safetensors")


def run(*args: str):
    return runner.invoke(app, [*args, "--quiet"] if args[0] != "reproduce" else list(args))


def assert_one_line_error(result, code: int, *fragments: str):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def frame_count(path, frame_px: int = 32, padding_px: int = 2) -> int:
    return (Image.open(path).width - padding_px) // (frame_px + padding_px)


def test_edit_writes_strip_with_recipe(control_model_dir, data_file, tmp_path):  # noqa: F811  (pytest fixture argument)
    out = tmp_path / "edit.png"
    result = run("edit", "--keywords", "cat", "--seed", "3", "--more", "heart", "--less", "red", "--strength", "0.5",
                 "--steps", "4", "--out", str(out), "--model", str(control_model_dir), "--data", str(data_file))
    assert result.exit_code == 0, result.output
    assert frame_count(out) == 5
    recipe = json.loads(Image.open(out).text[RECIPE_TEXT_KEY])
    assert recipe["parameters"]["more"] == ["heart"]
    assert recipe["parameters"]["less"] == ["red"]
    assert json.loads(out.with_suffix(".json").read_text()) == recipe


def test_edit_then_reproduce_identical(control_model_dir, data_file, tmp_path):  # noqa: F811  (pytest fixture argument)
    out = tmp_path / "edit.png"
    run("edit", "-k", "cat", "--more", "heart", "--steps", "3", "--out", str(out), "--model", str(control_model_dir),
        "--data", str(data_file))
    result = run("reproduce", str(out), "--data", str(data_file))
    assert result.exit_code == 0, result.output
    assert "identical" in result.stdout


@pytest.mark.parametrize("args", [
    ("morph", "cat", "heart", "--seed", "1", "--to-seed", "4", "--steps", "5"),
    ("morph", "cat", "--seed", "1", "--to-seed", "2", "--steps", "3", "--animation", "webp"),
    ("blend", "cat", "red", "--steps", "4", "--seed", "2"),
    ("vary", "heart", "--seed", "7", "-n", "3", "--radius", "0.5"),
    ("edit", "-k", "cat", "--method", "sefa", "--component", "1", "--steps", "4"),
    ("generate", "cat heart", "-n", "3", "--seed", "2"),
])
def test_output_reproduced_identically(control_model_dir, tmp_path, args):  # noqa: F811  (pytest fixture argument)
    out = tmp_path / "out.png"
    quiet = () if args[0] == "generate" else ("--quiet",)
    result = runner.invoke(app, [*args, "--out", str(out), "--model", str(control_model_dir), *quiet])
    assert result.exit_code == 0, result.output
    assert out.with_suffix(".json").is_file()
    result = run("reproduce", str(out))
    assert result.exit_code == 0, result.output
    assert "identical" in result.stdout


def test_morph_writes_gif(control_model_dir, tmp_path):  # noqa: F811  (pytest fixture argument)
    out = tmp_path / "morph.png"
    result = run("morph", "cat", "heart", "--steps", "4", "--out", str(out), "--model", str(control_model_dir))
    assert result.exit_code == 0, result.output
    assert frame_count(out) == 4
    assert Image.open(out.with_suffix(".gif")).n_frames == 6


def test_reproduce_idea_from_out_dir(control_model_dir, tmp_path):  # noqa: F811  (pytest fixture argument)
    runner.invoke(app, ["generate", "heart", "-n", "2", "--seed", "5", "--out-dir", str(tmp_path / "ideas"),
                        "--model", str(control_model_dir)])
    for path in sorted((tmp_path / "ideas").glob("*.png")):
        result = run("reproduce", str(path))
        assert result.exit_code == 0, result.output


def test_reproduce_json_recipe(control_model_dir, tmp_path):  # noqa: F811  (pytest fixture argument)
    out = tmp_path / "blend.png"
    run("blend", "cat", "heart", "--out", str(out), "--model", str(control_model_dir))
    result = run("reproduce", str(out.with_suffix(".json")), "--out", str(tmp_path / "again.png"))
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(tmp_path / "again.png")))


def test_directions_computed_once_and_listed(model_copy, data_file):  # noqa: F811  (pytest fixture argument)
    args = ("directions", "--model", str(model_copy), "--data", str(data_file), "--conditions", "4",
            "--samples-per-condition", "50")
    first = run(*args)
    assert first.exit_code == 0, first.output
    assert "val_acc" in first.stdout
    assert (model_copy / "directions.safetensors").is_file()
    written = (model_copy / "directions.safetensors").stat().st_mtime_ns
    second = run(*args, "--json")
    assert second.exit_code == 0, second.output
    assert [row["keyword"] for row in json.loads(second.stdout)["boundaries"]] == ["cat", "heart", "red", "dark skin tone"]
    assert (model_copy / "directions.safetensors").stat().st_mtime_ns == written


@pytest.mark.parametrize("method", ["direction", "direction-projected"])
def test_direction_edit_reproduced(model_copy, data_file, tmp_path, method):  # noqa: F811  (pytest fixture argument)
    run("directions", "--model", str(model_copy), "--data", str(data_file), "--conditions", "4",
        "--samples-per-condition", "20")
    out = tmp_path / "edit.png"
    result = run("edit", "-k", "red", "--more", "cat", "--method", method, "--steps", "3", "--out", str(out),
                 "--model", str(model_copy))
    assert result.exit_code == 0, result.output
    assert run("reproduce", str(out)).exit_code == 0


def test_reproduce_detects_changed_pixels(control_model_dir, tmp_path):  # noqa: F811  (pytest fixture argument)
    out = tmp_path / "vary.png"
    run("vary", "cat", "-n", "2", "--out", str(out), "--model", str(control_model_dir))
    pixels = np.asarray(Image.open(out)).copy()
    pixels[10, 10] = 255 - pixels[10, 10]
    Image.fromarray(pixels).save(out)  # drops the text chunk; the JSON beside it stays
    assert_one_line_error(run("reproduce", str(out)), 1, "1 of", "pixels differ")


@pytest.mark.parametrize("args, code, fragments", [
    (("edit", "-k", "cat", "--more", "rocket"), 2, ("'rocket'", "--more", "designgan keywords")),
    (("edit", "-k", "kat", "--more", "heart"), 2, ("'kat'", "--keywords", "cat")),
    (("edit", "-k", "cat", "--more", "heart", "--strength", "3"), 2, ("--strength 3.0", "(0, 2.0]")),
    (("edit", "-k", "cat", "--more", "heart", "--strength", "0"), 2, ("--strength 0.0",)),
    (("edit", "-k", "cat", "--more", "heart", "--steps", "0"), 2, ("--steps 0", "1..255")),
    (("edit", "-k", "cat", "--more", "heart", "--penalty", "-1"), 2, ("--penalty -1.0",)),
    (("edit", "-k", "cat", "--more", "heart", "--method", "magic"), 2, ("--method 'magic'", "gradient")),
    (("edit", "-k", "cat"), 2, ("--more KEYWORD",)),
    (("edit", "-k", "cat", "--more", "cat", "--less", "cat"), 2, ("'cat'", "both")),
    (("edit", "-k", "cat", "--method", "sefa", "--component", "99"), 2, ("component=99", "0..15")),
    (("edit", "-k", "cat", "--more", "heart", "--keep", "red"), 2, ("--keep", "direction-projected")),
    (("edit", "-k", "cat", "--more", "heart", "--seed", "-1"), 2, ("--seed -1",)),
    (("morph", "cat", "--steps", "1"), 2, ("--steps 1", "2..256")),
    (("morph", "cat", "--seed", "3"), 2, ("same", "--to-seed")),
    (("morph", "cat", "--animation", "avi"), 2, ("--animation 'avi'",)),
    (("blend", "cat", "cat"), 2, ("both concepts",)),
    (("blend", "cat", "rocket"), 2, ("'rocket'", "TO_KEYWORDS")),
    (("vary", "cat", "--radius", "0"), 2, ("--radius 0.0",)),
    (("vary", "cat", "-n", "0"), 2, ("-n 0",)),
])
def test_bad_input_one_line_error(control_model_dir, data_file, tmp_path, args, code, fragments):  # noqa: F811
    data = ("--data", str(data_file)) if args[0] == "edit" else ()
    result = run(*args, "--out", str(tmp_path / "out.png"), "--model", str(control_model_dir), *data)
    assert_one_line_error(result, code, *fragments)
    assert not (tmp_path / "out.png").exists()


def test_out_must_be_png(control_model_dir, tmp_path):  # noqa: F811  (pytest fixture argument)
    result = run("blend", "cat", "heart", "--out", str(tmp_path / "blend.jpg"), "--model", str(control_model_dir))
    assert_one_line_error(result, 2, "--out", ".png")


def test_reproduce_missing_file(tmp_path):
    assert_one_line_error(run("reproduce", str(tmp_path / "gone.png")), 2, "gone.png", "not found")


def test_reproduce_png_without_recipe(tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (8, 8), "white").save(path)
    assert_one_line_error(run("reproduce", str(path)), 2, "plain.png", "no designgan recipe")


def test_reproduce_missing_model(control_model_dir, tmp_path):  # noqa: F811  (pytest fixture argument)
    out = tmp_path / "blend.png"
    run("blend", "cat", "heart", "--out", str(out), "--model", str(control_model_dir))
    recipe = json.loads(out.with_suffix(".json").read_text())
    recipe["model"] = str(tmp_path / "moved")
    out.with_suffix(".json").write_text(json.dumps(recipe))
    assert_one_line_error(run("reproduce", str(out.with_suffix(".json"))), 2, "moved", "--model")


def test_gradient_edit_needs_data_for_other_models(control_model_dir, tmp_path):  # noqa: F811  (pytest fixture argument)
    result = run("edit", "-k", "cat", "--more", "heart", "--out", str(tmp_path / "e.png"), "--model", str(control_model_dir))
    assert_one_line_error(result, 2, "not trained on OpenMoji", "--data")


def test_direction_edit_missing_data_file(control_model_dir, tmp_path):  # noqa: F811  (pytest fixture argument)
    result = run("edit", "-k", "cat", "--more", "heart", "--method", "direction", "--out", str(tmp_path / "e.png"),
                 "--model", str(control_model_dir), "--data", str(tmp_path / "none.safetensors"))
    assert result.exit_code != 0
    assert "none.safetensors" in result.stderr


def test_reproduce_builtin_recipe_from_other_install(tmp_path):
    runner.invoke(app, ["generate", "cat", "-n", "1", "--seed", "3", "--out-dir", str(tmp_path / "ideas")])
    sidecar = next((tmp_path / "ideas").glob("*.json"))
    recipe = json.loads(sidecar.read_text())
    recipe["model"] = "/another/install/designgan/builtin"
    sidecar.write_text(json.dumps(recipe))
    result = run("reproduce", str(sidecar))
    assert result.exit_code == 0, result.output
    assert "identical" in result.stdout
