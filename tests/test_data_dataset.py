"""DesignDataset storage: round trip, byte-identical rebuilds, clear errors, cache."""

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from designgan.data import DatasetError, DesignDataset, Vocabulary, build_openmoji_dataset, openmoji_cache_path


def _dataset() -> DesignDataset:
    rng = np.random.default_rng(0)
    return DesignDataset(
        images=rng.integers(0, 256, size=(3, 8, 8, 3), dtype=np.uint8),
        labels=np.array([[1, 0], [0, 1], [1, 1]], dtype=np.uint8),
        vocabulary=Vocabulary(keywords=("cat", "face"), counts=(2, 2)),
        source_ids=["a", "b", "c"],
        render={"source": "test", "resolution_px": 8},
        names=["cat", "face", "cat face"],
    )


def test_round_trip(tmp_path):
    original = _dataset()
    loaded = DesignDataset.load(original.save(tmp_path / "d.safetensors"))
    assert np.array_equal(loaded.images, original.images)
    assert np.array_equal(loaded.labels, original.labels)
    assert loaded.vocabulary == original.vocabulary
    assert loaded.source_ids == original.source_ids
    assert loaded.names == original.names
    assert loaded.render == original.render


def test_properties():
    dataset = _dataset()
    assert len(dataset) == 3
    assert dataset.resolution_px == 8
    assert dataset.num_keywords == 2


def test_save_leaves_no_temp_file(tmp_path):
    _dataset().save(tmp_path / "d.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["d.safetensors"]


def test_metadata_single_key(tmp_path):
    from safetensors import safe_open

    path = _dataset().save(tmp_path / "d.safetensors")
    with safe_open(str(path), framework="numpy") as reader:
        metadata = reader.metadata()
    assert list(metadata) == ["designgan"]
    assert json.loads(metadata["designgan"])["format_version"] == 1


def test_rebuild_is_byte_identical(tmp_path):
    ids = ["1F600", "1F431"]
    first, _ = build_openmoji_dataset(resolution_px=32, min_count=1, workers=1, progress=False, only_ids=ids)
    second, _ = build_openmoji_dataset(resolution_px=32, min_count=1, workers=2, progress=False, only_ids=ids)
    first_bytes = first.save(tmp_path / "first.safetensors").read_bytes()
    second_bytes = second.save(tmp_path / "second.safetensors").read_bytes()
    assert first_bytes == second_bytes


def test_load_missing_file(tmp_path):
    path = tmp_path / "missing.safetensors"
    with pytest.raises(DatasetError, match="missing.safetensors: file not found.*designgan data openmoji --out"):
        DesignDataset.load(path)


def test_load_not_safetensors(tmp_path):
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(b"this is not a safetensors file")
    with pytest.raises(DatasetError, match="garbage.safetensors: not a valid safetensors file"):
        DesignDataset.load(path)


def test_load_truncated(tmp_path):
    path = _dataset().save(tmp_path / "d.safetensors")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="d.safetensors"):
        DesignDataset.load(path)


def test_load_wrong_format_version(tmp_path):
    path = tmp_path / "v2.safetensors"
    tensors = {"images": np.zeros((1, 8, 8, 3), np.uint8), "labels": np.zeros((1, 0), np.uint8)}
    save_file(tensors, str(path), metadata={"designgan": json.dumps({"format_version": 2})})
    with pytest.raises(DatasetError, match="v2.safetensors: format_version is 2"):
        DesignDataset.load(path)


def test_load_shape_mismatch(tmp_path):
    path = tmp_path / "shape.safetensors"
    dataset = _dataset()
    metadata = json.loads(dataset._metadata_json())
    tensors = {"images": dataset.images, "labels": np.zeros((3, 5), np.uint8)}
    save_file(tensors, str(path), metadata={"designgan": json.dumps(metadata)})
    with pytest.raises(DatasetError, match=r"shape.safetensors: .*labels must be uint8 \(3, 2\)"):
        DesignDataset.load(path)


def test_load_not_designgan(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"x": np.zeros(2, np.float32)}, str(path))
    with pytest.raises(DatasetError, match="not a designgan dataset"):
        DesignDataset.load(path)


def test_mismatched_labels_rejected():
    dataset = _dataset()
    with pytest.raises(DatasetError, match="labels"):
        DesignDataset(dataset.images, dataset.labels[:2], dataset.vocabulary, dataset.source_ids)


def test_cache_path_uses_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DESIGNGAN_CACHE", str(tmp_path))
    path = openmoji_cache_path(32, 5)
    assert path.parent == tmp_path
    assert "32px-min5" in path.name


@pytest.fixture
def small_openmoji_cache(tmp_path, monkeypatch):
    """Point the cache at tmp_path and make builds render two designs, counting calls."""
    from designgan.data import cache

    calls = []

    def build_small(resolution_px, min_count, progress):
        calls.append(resolution_px)
        return build_openmoji_dataset(resolution_px, min_count, workers=1, progress=False, only_ids=["1F600", "1F431"])

    monkeypatch.setenv("DESIGNGAN_CACHE", str(tmp_path))
    monkeypatch.setattr(cache, "build_openmoji_dataset", build_small)
    return calls


def test_load_or_build_builds_then_loads(small_openmoji_cache):
    from designgan.data import load_or_build_openmoji

    built = load_or_build_openmoji(resolution_px=32, min_count=1, progress=False)
    loaded = load_or_build_openmoji(resolution_px=32, min_count=1, progress=False)
    assert small_openmoji_cache == [32]
    assert openmoji_cache_path(32, 1).is_file()
    assert loaded.source_ids == built.source_ids


def test_load_or_build_replaces_corrupt_cache(small_openmoji_cache):
    from designgan.data import load_or_build_openmoji

    path = openmoji_cache_path(32, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"corrupt")
    dataset = load_or_build_openmoji(resolution_px=32, min_count=1, progress=False)
    assert small_openmoji_cache == [32]
    assert len(DesignDataset.load(path)) == len(dataset)
