"""Folder import end to end: tag sources, bad files, report, determinism, cache, read-only source."""

import hashlib
import json
import os

import numpy as np
import pytest
from PIL import Image

from designgan.data import DesignDataset, FolderImportError, ImportSettings, import_folder
from designgan.data import folder as folder_module
from designgan.data.import_cache import import_cache_path

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="{}"/></svg>'


def _settings(**overrides):
    return ImportSettings(**{"resolution_px": 32, "min_count": 1, "workers": 1, **overrides})


def _import(source, out, **overrides):
    return import_folder(source, out, _settings(**overrides), progress=False)


def _png(path, colour=RED, mode="RGB", size=(12, 12)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).convert(mode).save(path, "PNG")


def _folder_with_metadata(root):
    _png(root / "red.png", RED)
    _png(root / "green.png", GREEN, mode="L")
    _png(root / "blue.PNG", BLUE, mode="RGBA")
    _png(root / "gray.png", (128, 128, 128), mode="LA")
    (root / "flag.svg").write_text(SVG.format("red"), encoding="utf-8")
    (root / "metadata.csv").write_text(
        "file_name,tags\nred.png,\"red, square\"\ngreen.png,\"green, square\"\nblue.PNG,\"blue, square\"\n"
        "flag.svg,\"red, flag\"\ngray.png,\"gray, square\"\n", encoding="utf-8")
    return root


def _tree_digest(root):
    digest = hashlib.sha256()
    for folder, folders, files in sorted(os.walk(root)):
        folders.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            stat = os.stat(path)
            digest.update(f"{os.path.relpath(path, root)}:{stat.st_mode}:{stat.st_mtime_ns}".encode())
            with open(path, "rb") as handle:
                digest.update(handle.read())
        digest.update(f"{folder}:{sorted(folders)}".encode())
    return digest.hexdigest()


def test_import_builds_dataset(tmp_path):
    source = _folder_with_metadata(tmp_path / "src")
    report = _import(source, tmp_path / "out" / "d.safetensors")
    dataset = DesignDataset.load(tmp_path / "out" / "d.safetensors")
    assert dataset.source_ids == ["blue.PNG", "flag.svg", "gray.png", "green.png", "red.png"]
    assert dataset.images.shape == (5, 32, 32, 3)
    assert dataset.vocabulary.keywords[0] == "square"
    assert set(dataset.vocabulary.decode(dataset.labels[1])) == {"red", "flag"}
    assert tuple(dataset.images[0, 16, 16]) == BLUE
    assert report.designs == 5
    assert dataset.render["source"] == "folder"
    assert dataset.render["tags"] == "metadata"


def test_import_report_file(tmp_path):
    source = _folder_with_metadata(tmp_path / "src")
    _import(source, tmp_path / "out" / "d.safetensors")
    saved = json.loads((tmp_path / "out" / "import_report.json").read_text())
    assert saved["summary"]["imported"] == 5
    assert saved["summary"]["source_modes"] == {"L": 1, "LA": 1, "RGB": 1, "RGBA": 1, "SVG": 1}
    assert saved["summary"]["source_formats"] == {"PNG": 4, "SVG": 1}


def test_bad_files_reported_by_reason(tmp_path):
    source = _folder_with_metadata(tmp_path / "src")
    (source / "empty.png").write_bytes(b"")
    (source / "notes.jpg").write_text("not a picture")
    noise = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(source / "cut.jpg", "JPEG")
    (source / "cut.jpg").write_bytes((source / "cut.jpg").read_bytes()[:400])
    (source / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (source / "readme.md").write_text("hello")
    report = _import(source, tmp_path / "d.safetensors")
    reasons = {entry.path: entry.reason for entry in report.skipped_items}
    assert reasons["empty.png"] == "empty_file"
    assert reasons["notes.jpg"] == "not_an_image"
    assert reasons["cut.jpg"] == "decode_failed"
    assert reasons["corrupt.png"] in ("not_an_image", "decode_failed")
    assert reasons["readme.md"] == "unsupported_extension"
    assert report.designs == 5
    assert "skipped 5" in report.summary()


def test_image_over_pixel_limit_skipped(tmp_path):
    source = _folder_with_metadata(tmp_path / "src")
    _png(source / "big.png", size=(100, 100))
    report = _import(source, tmp_path / "d.safetensors", max_pixels=5000)
    assert {e.path: e.reason for e in report.skipped_items}["big.png"] == "too_many_pixels"


def test_metadata_problems_reported(tmp_path):
    source = _folder_with_metadata(tmp_path / "src")
    with open(source / "metadata.csv", "a", encoding="utf-8") as handle:
        handle.write("gone.png,ghost\nred.png,again\n")
    _png(source / "unlisted.png")
    report = _import(source, tmp_path / "d.safetensors")
    warnings = {(entry.path, entry.reason) for entry in report.warnings}
    assert ("gone.png", "listed_file_missing") in warnings
    assert ("red.png", "listed_twice") in warnings
    assert ("unlisted.png", "not_in_metadata") in warnings
    assert report.designs == 6
    assert report.unlabelled_designs == 1


def test_metadata_utf16_imports(tmp_path):
    source = _folder_with_metadata(tmp_path / "src")
    text = (source / "metadata.csv").read_text(encoding="utf-8").replace("red, flag", "drapeau, café")
    (source / "metadata.csv").write_bytes(text.encode("utf-16"))
    dataset_path = tmp_path / "d.safetensors"
    _import(source, dataset_path)
    assert "cafe" in DesignDataset.load(dataset_path).vocabulary


def test_metadata_legacy_encoding_fails(tmp_path):
    source = _folder_with_metadata(tmp_path / "src")
    (source / "metadata.csv").write_bytes("file_name,tags\nred.png,café\n".encode("latin-1"))
    with pytest.raises(ValueError, match="line 2, column 12.*Save the file as UTF-8"):
        _import(source, tmp_path / "d.safetensors")


def test_sidecar_tags_used(tmp_path):
    source = tmp_path / "src"
    _png(source / "a.png")
    (source / "a.txt").write_text("cat, night", encoding="utf-8")
    _png(source / "b.png")
    report = _import(source, tmp_path / "d.safetensors")
    dataset = DesignDataset.load(tmp_path / "d.safetensors")
    assert dataset.render["tags"] == "sidecar"
    assert set(dataset.vocabulary.keywords) == {"cat", "night"}
    assert [(e.path, e.reason) for e in report.warnings] == [("b.png", "no_sidecar")]


def test_folder_names_as_tags(tmp_path):
    source = tmp_path / "src"
    _png(source / "cats" / "a.png")
    _png(source / "dogs" / "b.png")
    _import(source, tmp_path / "d.safetensors")
    dataset = DesignDataset.load(tmp_path / "d.safetensors")
    assert dataset.render["tags"] == "folders"
    assert dataset.vocabulary.decode(dataset.labels[0]) == ["cats"]
    assert dataset.vocabulary.decode(dataset.labels[1]) == ["dogs"]


def test_no_tags_unconditional(tmp_path):
    source = tmp_path / "src"
    _png(source / "a.png")
    _import(source, tmp_path / "d.safetensors", tags="none")
    dataset = DesignDataset.load(tmp_path / "d.safetensors")
    assert dataset.num_keywords == 0
    assert dataset.labels.shape == (1, 0)


def test_explicit_tag_source_missing(tmp_path):
    source = tmp_path / "src"
    _png(source / "a.png")
    with pytest.raises(FolderImportError, match="--tags metadata: there is no metadata.csv"):
        _import(source, tmp_path / "d.safetensors", tags="metadata")


def test_hidden_and_subfolders(tmp_path):
    source = tmp_path / "src"
    _png(source / "a.png")
    _png(source / ".hidden.png")
    _png(source / ".git" / "b.png")
    _png(source / "sub" / "c.png")
    report = _import(source, tmp_path / "d.safetensors", recursive=False)
    reasons = {entry.path: entry.reason for entry in report.skipped_items}
    assert reasons == {".git": "hidden", ".hidden.png": "hidden", "sub": "in_subfolder"}
    assert report.designs == 1


def test_nothing_usable_names_folder(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.png").write_bytes(b"")
    with pytest.raises(FolderImportError, match=f"No usable image in {source}.*empty_file: 1"):
        _import(source, tmp_path / "out" / "d.safetensors")
    assert json.loads((tmp_path / "out" / "import_report.json").read_text())["skipped"][0]["path"] == "a.png"
    assert not (tmp_path / "out" / "d.safetensors").exists()


def test_out_inside_folder_rejected(tmp_path):
    source = _folder_with_metadata(tmp_path / "src")
    with pytest.raises(FolderImportError, match="inside the source folder"):
        _import(source, source / "d.safetensors")


def test_source_folder_unchanged(tmp_path):
    source = _folder_with_metadata(tmp_path / "src")
    (source / "notes.jpg").write_text("not a picture")
    before = _tree_digest(source)
    _import(source, tmp_path / "d.safetensors")
    _import(source, tmp_path / "d.safetensors")
    assert _tree_digest(source) == before


def test_import_twice_byte_identical(tmp_path):
    source = _folder_with_metadata(tmp_path / "src")
    _import(source, tmp_path / "a" / "d.safetensors")
    _import(source, tmp_path / "b" / "d.safetensors", workers=2)
    assert (tmp_path / "a" / "d.safetensors").read_bytes() == (tmp_path / "b" / "d.safetensors").read_bytes()


def test_reimport_decodes_only_changed(tmp_path, monkeypatch):
    source = _folder_with_metadata(tmp_path / "src")
    dataset_path = tmp_path / "d.safetensors"
    _import(source, dataset_path)
    first = dataset_path.read_bytes()

    decoded = []
    real_decode = folder_module.decode_file

    def counting_decode(path, settings):
        decoded.append(path.name)
        return real_decode(path, settings)

    monkeypatch.setattr(folder_module, "decode_file", counting_decode)
    report = _import(source, dataset_path)
    assert decoded == []
    assert report.from_cache == 5
    assert dataset_path.read_bytes() == first

    _png(source / "red.png", GREEN)
    _import(source, dataset_path)
    assert decoded == ["red.png"]
    assert tuple(DesignDataset.load(dataset_path).images[4, 16, 16]) == GREEN


def test_cache_ignored_when_settings_change(tmp_path, monkeypatch):
    source = _folder_with_metadata(tmp_path / "src")
    dataset_path = tmp_path / "d.safetensors"
    _import(source, dataset_path)
    report = _import(source, dataset_path, background=(0, 0, 0))
    assert report.from_cache == 0


def test_cache_ignored_when_dataset_replaced(tmp_path):
    source = _folder_with_metadata(tmp_path / "src")
    dataset_path = tmp_path / "d.safetensors"
    _import(source, dataset_path)
    assert import_cache_path(dataset_path).is_file()
    dataset = DesignDataset.load(dataset_path)
    dataset.images[:] = 0
    dataset.save(dataset_path)
    report = _import(source, dataset_path)
    assert report.from_cache == 0
    assert tuple(DesignDataset.load(dataset_path).images[0, 16, 16]) == BLUE


def test_cached_import_equals_fresh(tmp_path):
    source = _folder_with_metadata(tmp_path / "src")
    _import(source, tmp_path / "cached" / "d.safetensors")
    (source / "metadata.csv").write_text("file_name,tags\nred.png,new\n", encoding="utf-8")
    _import(source, tmp_path / "cached" / "d.safetensors")
    _import(source, tmp_path / "fresh" / "d.safetensors")
    assert (tmp_path / "cached" / "d.safetensors").read_bytes() == (tmp_path / "fresh" / "d.safetensors").read_bytes()


def test_metadata_matches_decomposed_names(tmp_path):
    source = tmp_path / "src"
    decomposed = "cafe\u0301.png"  # "café" as macOS stores it (NFD)
    _png(source / decomposed)
    (source / "metadata.csv").write_text("file_name,tags\ncaf\u00e9.png,coffee\n", encoding="utf-8")
    report = _import(source, tmp_path / "d.safetensors")
    assert report.warnings == []
    assert DesignDataset.load(tmp_path / "d.safetensors").vocabulary.keywords == ("coffee",)


def test_symlink_to_outside_file_skipped(tmp_path):
    from PIL import Image as PILImage

    from designgan.data.folder import scan_folder

    outside = tmp_path / "outside.png"
    PILImage.new("RGB", (8, 8), "red").save(outside)
    folder = tmp_path / "designs"
    folder.mkdir()
    PILImage.new("RGB", (8, 8), "blue").save(folder / "inside.png")
    (folder / "link.png").symlink_to(outside)
    (folder / "inner-link.png").symlink_to(folder / "inside.png")

    scan = scan_folder(folder)
    assert scan.images == ["inner-link.png", "inside.png"]
    assert [(e.path, e.reason) for e in scan.skipped] == [("link.png", "symlink_outside_folder")]
