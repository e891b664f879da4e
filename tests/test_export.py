"""Exported model folders (safetensors + JSON, no pickle) and atomic file writes."""

import json
import pickle
import stat

import pytest
import torch

from designgan.export import CONFIG_NAME, MODEL_FORMAT_VERSION, WEIGHTS_NAME, ModelFileError, export_model, read_model_files
from designgan.files import atomic_write
from designgan.models import Generator

RECIPE = {"steps": 3, "train": {"loss": "hinge"}}


@pytest.fixture
def exported(tiny_dataset, tiny_model_config, tmp_path):
    """A freshly built conditional generator exported to tmp_path/model: (folder, generator, vocabulary)."""
    vocabulary = tiny_dataset().vocabulary
    torch.manual_seed(0)
    generator = Generator(tiny_model_config(num_keywords=len(vocabulary)))
    folder = export_model(tmp_path / "model", generator, generator.config, vocabulary, RECIPE)
    return folder, generator, vocabulary


def _edit_config(folder, edit) -> None:
    path = folder / CONFIG_NAME
    config = json.loads(path.read_text(encoding="utf-8"))
    edit(config)
    path.write_text(json.dumps(config), encoding="utf-8")


# ------------------------------------------------------------------------------------
# Round trip


def test_export_writes_two_files(exported):
    folder, _, _ = exported
    assert sorted(p.name for p in folder.iterdir()) == sorted([CONFIG_NAME, WEIGHTS_NAME])


def test_read_round_trips_config(exported):
    folder, generator, _ = exported
    assert read_model_files(folder).model_config == generator.config


def test_read_round_trips_vocabulary(exported):
    folder, _, vocabulary = exported
    assert read_model_files(folder).vocabulary == vocabulary


def test_read_round_trips_weights(exported):
    folder, generator, _ = exported
    state = read_model_files(folder).state_dict
    expected = generator.state_dict()
    assert state.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(state[name], tensor), name


def test_read_round_trips_recipe(exported):
    folder, _, _ = exported
    assert read_model_files(folder).config["recipe"] == RECIPE


def test_read_weights_load_into_generator(exported):
    folder, generator, _ = exported
    files = read_model_files(folder)
    rebuilt = Generator(files.model_config)
    rebuilt.load_state_dict(files.state_dict)
    z, keywords = torch.randn(2, files.model_config.latent_dim), torch.eye(4)[:2]
    assert torch.equal(rebuilt.eval()(z, keywords), generator.eval()(z, keywords))


def test_read_hash_is_sha256_of_weights(exported):
    import hashlib

    folder, _, _ = exported
    expected = hashlib.sha256((folder / WEIGHTS_NAME).read_bytes()).hexdigest()
    assert read_model_files(folder).sha256 == expected


@pytest.mark.parametrize("name", [CONFIG_NAME, WEIGHTS_NAME])
def test_read_accepts_file_in_folder(exported, name):
    folder, _, _ = exported
    assert read_model_files(folder / name).path == folder


def test_read_unconditional_has_no_vocabulary(tiny_model_config, tmp_path):
    generator = Generator(tiny_model_config(num_keywords=0))
    folder = export_model(tmp_path / "model", generator, generator.config, None, RECIPE)
    assert read_model_files(folder).vocabulary is None


def test_read_uses_no_pickle(exported, monkeypatch):
    folder, _, _ = exported

    def forbidden(*args, **kwargs):
        raise AssertionError("read_model_files must not unpickle anything")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    assert read_model_files(folder).model_config.num_keywords == 4


def test_export_files_readable_by_others(exported):
    # Exported models are meant to be shared and served, like dataset files.
    folder, _, _ = exported
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o644, name


# ------------------------------------------------------------------------------------
# Invalid folders: every error is a ModelFileError that names the path


def test_read_missing_folder(tmp_path):
    with pytest.raises(ModelFileError, match="nowhere"):
        read_model_files(tmp_path / "nowhere")


def test_read_file_not_folder(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"x")
    with pytest.raises(ModelFileError, match="weights.bin"):
        read_model_files(path)


@pytest.mark.parametrize("name", [CONFIG_NAME, WEIGHTS_NAME])
def test_read_missing_file(exported, name):
    folder, _, _ = exported
    (folder / name).unlink()
    with pytest.raises(ModelFileError, match=str(folder / name)):
        read_model_files(folder)


@pytest.mark.parametrize("keep_bytes", [0, 7, 100, -10])
def test_read_truncated_weights(exported, keep_bytes):
    folder, _, _ = exported
    path = folder / WEIGHTS_NAME
    path.write_bytes(path.read_bytes()[:keep_bytes])
    with pytest.raises(ModelFileError, match=str(path)):
        read_model_files(folder)


def test_read_config_not_json(exported):
    folder, _, _ = exported
    (folder / CONFIG_NAME).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelFileError, match=str(folder / CONFIG_NAME)):
        read_model_files(folder)


@pytest.mark.parametrize("version", [MODEL_FORMAT_VERSION + 1, None, "1"])
def test_read_wrong_format_version(exported, version):
    folder, _, _ = exported
    _edit_config(folder, lambda config: config.update(format_version=version))
    with pytest.raises(ModelFileError, match=str(folder / CONFIG_NAME)):
        read_model_files(folder)


def test_read_config_not_object(exported):
    folder, _, _ = exported
    (folder / CONFIG_NAME).write_text("[1]", encoding="utf-8")
    with pytest.raises(ModelFileError, match=str(folder / CONFIG_NAME)):
        read_model_files(folder)


@pytest.mark.parametrize("model", [None, [], "wide", {"resolution_px": 48}])
def test_read_invalid_model_section(exported, model):
    folder, _, _ = exported
    _edit_config(folder, lambda config: config.update(model=model))
    with pytest.raises(ModelFileError, match=str(folder / CONFIG_NAME)):
        read_model_files(folder)


def test_read_vocabulary_size_mismatch(exported):
    folder, _, _ = exported
    _edit_config(folder, lambda config: config["vocabulary"].update(keywords=["a", "b"], counts=[1, 1]))
    with pytest.raises(ModelFileError, match="num_keywords=4"):
        read_model_files(folder)


def test_read_conditional_without_vocabulary(exported):
    folder, _, _ = exported
    _edit_config(folder, lambda config: config.update(vocabulary=None))
    with pytest.raises(ModelFileError, match=str(folder / CONFIG_NAME)):
        read_model_files(folder)


# ------------------------------------------------------------------------------------
# Atomic writes


def test_atomic_write_replaces_content(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"old")
    atomic_write(path, lambda handle: handle.write(b"new"))
    assert path.read_bytes() == b"new"


def test_atomic_write_creates_parents(tmp_path):
    path = tmp_path / "a" / "b" / "file.bin"
    atomic_write(path, lambda handle: handle.write(b"new"))
    assert path.read_bytes() == b"new"


def _failing_writer(handle) -> None:
    handle.write(b"partial")
    raise RuntimeError("disk full")


def test_atomic_write_failure_keeps_old_file(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, _failing_writer)
    assert path.read_bytes() == b"old"


def test_atomic_write_failure_removes_temp(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        atomic_write(path, _failing_writer)
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_atomic_write_failure_creates_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "file.bin", _failing_writer)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_interrupt_removes_temp(tmp_path):
    def interrupted(handle):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "file.bin", interrupted)
    assert list(tmp_path.iterdir()) == []
