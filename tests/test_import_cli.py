"""`designgan data import` on the command line, and training on what it writes."""

import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from designgan.cli import app
from designgan.data import DesignDataset

runner = CliRunner()


def _folder(root, tagged=True):
    for index, colour in enumerate([(255, 0, 0), (0, 0, 255), (0, 160, 0), (250, 200, 0)]):
        subfolder = root / ("warm" if index % 2 == 0 else "cold")
        subfolder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (20, 10), colour).save(subfolder / f"tile{index}.png")
    if not tagged:
        for path in root.glob("*/*.png"):
            path.rename(root / path.name)
    return root


def _run(*args):
    return runner.invoke(app, [str(arg) for arg in args])


def test_import_command_writes_dataset(tmp_path):
    out = tmp_path / "out" / "tiles.safetensors"
    result = _run("data", "import", _folder(tmp_path / "src"), "--out", out, "--resolution", "32", "--min-count", "1",
                  "--workers", "1", "--fit", "crop", "--background", "0,0,0", "-q")
    assert result.exit_code == 0, result.output
    assert "imported 4 designs, skipped 0" in result.stdout
    dataset = DesignDataset.load(out)
    assert set(dataset.vocabulary.keywords) == {"warm", "cold"}
    assert dataset.render["fit"] == "crop"
    assert json.loads((out.parent / "import_report.json").read_text())["summary"]["imported"] == 4


def test_import_stop_words_and_synonyms(tmp_path):
    source = _folder(tmp_path / "src")
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("hot: warm\n", encoding="utf-8")
    out = tmp_path / "d.safetensors"
    result = _run("data", "import", source, "--out", out, "--resolution", "32", "--min-count", "1", "--workers", "1",
                  "--synonyms", synonyms, "--stop-words", "cold, other", "-q")
    assert result.exit_code == 0, result.output
    assert DesignDataset.load(out).vocabulary.keywords == ("hot",)


@pytest.mark.parametrize("flag, value, message", [
    ("--resolution", "48", "--resolution 48 is not supported"),
    ("--fit", "zoom", "--fit 'zoom' is invalid; use one of pad, crop, stretch"),
    ("--tags", "exif", "--tags 'exif' is invalid"),
    ("--min-count", "0", "--min-count 0 is out of range"),
    ("--background", "#12", "--background: Invalid colour '#12'"),
    ("--max-pixels", "10", "--max-pixels 10 is out of range"),
    ("--workers", "0", "--workers 0 is out of range"),
])
def test_import_invalid_flag(tmp_path, flag, value, message):
    result = _run("data", "import", _folder(tmp_path / "src"), "--out", tmp_path / "d.safetensors", flag, value)
    assert result.exit_code == 2
    assert message in result.stderr


def test_import_empty_folder_fails(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "broken.png").write_bytes(b"\x89PNG broken")
    result = _run("data", "import", source, "--out", tmp_path / "d.safetensors", "-q")
    assert result.exit_code == 1
    assert f"No usable image in {source}" in result.stderr
    assert "not_an_image: 1" in result.stderr


def test_import_legacy_metadata_fails(tmp_path):
    source = _folder(tmp_path / "src")
    (source / "metadata.csv").write_bytes("file_name,tags\nwarm/tile0.png,crème brûlée\n".encode("cp1252"))
    result = _run("data", "import", source, "--out", tmp_path / "d.safetensors", "-q")
    assert result.exit_code == 1
    assert "line 2" in result.stderr
    assert "Save the file as UTF-8" in result.stderr


def test_train_conditional_without_keywords_fails(tmp_path):
    out = tmp_path / "plain.safetensors"
    imported = _run("data", "import", _folder(tmp_path / "src", tagged=False), "--out", out, "--resolution", "32",
                    "--workers", "1", "-q")
    assert imported.exit_code == 0, imported.output
    result = _run("train", "--data", out, "--steps", "1", "--run-dir", tmp_path / "run", "-q")
    assert result.exit_code == 1
    assert "conditional training needs keywords" in result.stderr
    assert "--unconditional" in result.stderr


def test_train_on_imported_dataset(tmp_path):
    out = tmp_path / "tiles.safetensors"
    _run("data", "import", _folder(tmp_path / "src"), "--out", out, "--resolution", "32", "--min-count", "1",
         "--workers", "1", "-q")
    result = _run("train", "--data", out, "--steps", "2", "--batch-size", "4", "--width", "4", "--latent-dim", "8",
                  "--embed-dim", "4", "--sample-every", "2", "--checkpoint-every", "2", "--threads", "1",
                  "--run-dir", tmp_path / "run", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()


def test_max_pixels_default_in_sync():
    import inspect

    from designgan.cli import data_import
    from designgan.data.images import DEFAULT_MAX_PIXELS

    assert inspect.signature(data_import).parameters["max_pixels"].default.default == DEFAULT_MAX_PIXELS


def test_import_out_must_be_a_safetensors_file(tmp_path):
    result = _run("data", "import", _folder(tmp_path / "src"), "--out", tmp_path / "designs.png")
    assert result.exit_code == 2
    assert "does not end in .safetensors" in result.stderr
    assert not (tmp_path / "designs.png").exists()
