"""Streaming dataset writing: byte-identical to safetensors, chunked, memory-mapped on load."""

import io

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save as save_safetensors

from designgan.data import BuildReport, DesignDataset, Vocabulary
from designgan.data.assemble import RenderResult, SourceItem, assemble_designs
from designgan.data.dataset import METADATA_KEY
from designgan.data.writer import RowSpool, TensorStream, read_safetensors_header, write_safetensors


def _arrays(count=5, side=4, keywords=3, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, side, side, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, size=(count, keywords), dtype=np.uint8)
    return images, labels


def _write(tensors, metadata):
    buffer = io.BytesIO()
    write_safetensors(buffer, tensors, metadata)
    return buffer.getvalue()


@pytest.mark.parametrize("count", [0, 1, 5])
def test_writer_matches_safetensors_save(count):
    images, labels = _arrays(count)
    metadata = {METADATA_KEY: '{"a":"caf\\u00e9 \\"quoted\\"","b":[1,2]}'}
    expected = save_safetensors({"labels": labels, "images": images}, metadata=metadata)
    streamed = _write([TensorStream("labels", labels.shape, [labels]), TensorStream("images", images.shape, [images])],
                      metadata)
    assert streamed == expected


def test_writer_without_metadata_matches():
    images, labels = _arrays()
    expected = save_safetensors({"images": images, "labels": labels})
    assert _write([TensorStream("images", images.shape, [images]), TensorStream("labels", labels.shape, [labels])],
                  None) == expected


def test_writer_chunks_equal_one_write():
    images, labels = _arrays(count=7)
    whole = _write([TensorStream("images", images.shape, [images]), TensorStream("labels", labels.shape, [labels])],
                   {"k": "v"})
    chunked = _write([TensorStream("images", images.shape, [images[:3], images[3:4], images[4:]]),
                      TensorStream("labels", labels.shape, [labels[:1], labels[1:]])], {"k": "v"})
    assert chunked == whole


def test_writer_rejects_short_chunks():
    images, _ = _arrays(count=3)
    with pytest.raises(ValueError, match="'images' has shape"):
        _write([TensorStream("images", images.shape, [images[:2]])], None)


def test_writer_rejects_non_uint8():
    with pytest.raises(ValueError, match="must be uint8"):
        _write([TensorStream("x", (2,), [np.zeros(2, np.float32)])], None)


def test_header_reader_offsets(tmp_path):
    images, labels = _arrays()
    path = tmp_path / "t.safetensors"
    path.write_bytes(save_safetensors({"images": images, "labels": labels}))
    header, data_start = read_safetensors_header(path)
    begin, end = header["images"]["data_offsets"]
    assert path.read_bytes()[data_start + begin : data_start + end] == images.tobytes()


def test_row_spool_round_trip(tmp_path):
    images, _ = _arrays(count=10)
    with RowSpool((4, 4, 3), directory=tmp_path, buffer_rows=3) as spool:
        for row in images:
            spool.append(row)
        chunks = list(spool.chunks(rows_per_chunk=4))
        assert [len(chunk) for chunk in chunks] == [4, 4, 2]
        assert np.array_equal(spool.to_array(), images)
    assert list(tmp_path.iterdir()) == []  # the temporary file is unnamed


def test_row_spool_rejects_wrong_shape():
    with RowSpool((4, 4, 3)) as spool, pytest.raises(ValueError, match="shape"):
        spool.append(np.zeros((2, 2, 3), np.uint8))


def _dataset():
    images, labels = _arrays(count=6, side=8, keywords=2)
    return DesignDataset(images, labels, Vocabulary(("cat", "sun"), (3, 3)), [f"d{i}" for i in range(6)],
                         {"source": "test", "resolution_px": 8})


def test_save_readable_by_safe_open(tmp_path):
    dataset = _dataset()
    path = dataset.save(tmp_path / "d.safetensors")
    with safe_open(str(path), framework="numpy") as reader:
        assert np.array_equal(reader.get_tensor("images"), dataset.images)
        assert np.array_equal(reader.get_tensor("labels"), dataset.labels)


def test_save_matches_safetensors_save(tmp_path):
    dataset = _dataset()
    path = dataset.save(tmp_path / "d.safetensors")
    expected = save_safetensors({"images": dataset.images, "labels": dataset.labels},
                                metadata={METADATA_KEY: dataset._metadata_json()})
    assert path.read_bytes() == expected


def test_load_mmap_maps_images(tmp_path):
    dataset = _dataset()
    path = dataset.save(tmp_path / "d.safetensors")
    mapped = DesignDataset.load(path, mmap=True)
    assert isinstance(mapped.images, np.memmap)
    assert not mapped.images.flags.writeable
    assert np.array_equal(mapped.images, dataset.images)
    assert np.array_equal(mapped.labels, dataset.labels)
    assert mapped.source_ids == dataset.source_ids


def test_load_mmap_empty_dataset(tmp_path):
    empty = DesignDataset(np.zeros((0, 8, 8, 3), np.uint8), np.zeros((0, 0), np.uint8), Vocabulary((), ()), [])
    path = empty.save(tmp_path / "e.safetensors")
    assert DesignDataset.load(path, mmap=True).images.shape == (0, 8, 8, 3)


def _render_colours(tasks):
    return [RenderResult(pixels=np.full((4, 4, 3), value, np.uint8), source_format="PNG", source_mode="RGB")
            if value >= 0 else RenderResult(skip_reason="bad", skip_detail=f"value {value}") for value in tasks]


def test_assembled_write_equals_in_memory_save(tmp_path):
    items = [SourceItem(f"d{i}", "", ("cat",) if i % 2 else ("sun", "cat"), value)
             for i, value in enumerate([10, -1, 30, 40, -5, 60])]
    report = BuildReport(source="test")
    with assemble_designs(items, _render_colours, report, resolution_px=4, min_count=1, render_settings={"x": 1},
                          workers=1, progress=False) as assembled:
        assembled.write(tmp_path / "streamed.safetensors")
        assembled.to_dataset().save(tmp_path / "memory.safetensors")
    assert (tmp_path / "streamed.safetensors").read_bytes() == (tmp_path / "memory.safetensors").read_bytes()


def test_assembled_report_counts():
    items = [SourceItem(f"d{i}", "", ("cat",), value) for i, value in enumerate([10, -1, 30])]
    report = BuildReport(source="test")
    with assemble_designs(items, _render_colours, report, resolution_px=4, min_count=1, render_settings={},
                          workers=1, progress=False) as assembled:
        assert [item.source_id for item in assembled.items] == ["d0", "d2"]
    assert report.designs == 2
    assert report.skipped == {"bad": 1}
    assert report.skipped_items[0].path == "d1"
    assert report.source_modes == {"RGB": 2}
