"""Keyword sources: metadata encodings and problems, sidecars, folder names, synonyms, stop words."""

import json

import pytest

from designgan.data.tags import (
    KeywordRules,
    TagFileError,
    folder_tags,
    read_metadata,
    read_sidecar_tags,
    read_synonyms,
    read_text_file,
    split_tags,
)

CSV_TEXT = 'file_name,tags\n"a, b.png","cat, café"\nc.png,"🐱 kitty, black and white"\n'


@pytest.mark.parametrize("encoding, prefix", [
    ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16", b""), ("utf-16-le", b"\xff\xfe"), ("utf-16-le", b""),
])
def test_read_text_file_encodings(tmp_path, encoding, prefix):
    path = tmp_path / "metadata.csv"
    path.write_bytes(prefix + CSV_TEXT.encode(encoding))
    assert read_text_file(path) == CSV_TEXT


def test_read_text_file_legacy_encoding(tmp_path):
    path = tmp_path / "metadata.csv"
    path.write_bytes("file_name,tags\na.png,cat\nb.png,café crème\n".encode("cp1252"))
    with pytest.raises(TagFileError, match=r"metadata.csv: line 3, column 10: byte 0xe9 .*Save the file as UTF-8"):
        read_text_file(path)


def test_split_tags():
    assert split_tags(" cat, black and white\nsleeping,, ") == ["cat", "black and white", "sleeping"]


def _metadata(tmp_path, name, text, images):
    (tmp_path / name).write_text(text, encoding="utf-8")
    for image in images:
        (tmp_path / image).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / image).write_bytes(b"x")
    return read_metadata(tmp_path, [name], set(images))


def test_metadata_csv_quoted_commas(tmp_path):
    table = _metadata(tmp_path, "metadata.csv", CSV_TEXT, ["a, b.png", "c.png"])
    assert table.entries["a, b.png"].tags == ("cat", "café")
    assert table.entries["c.png"].tags == ("🐱 kitty", "black and white")
    assert table.warnings == []


def test_metadata_jsonl_lists(tmp_path):
    lines = [{"file_name": "a.png", "keywords": ["sun", "sky"]}, {"file_name": "b.png", "tags": "moon, night"}]
    text = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    table = _metadata(tmp_path, "metadata.jsonl", text, ["a.png", "b.png"])
    assert table.entries["a.png"].tags == ("sun", "sky")
    assert table.entries["b.png"].tags == ("moon", "night")


def test_metadata_text_column_is_one_tag(tmp_path):
    table = _metadata(tmp_path, "metadata.csv", "file_name,text\na.png,\"A cat, asleep\"\n", ["a.png"])
    assert table.entries["a.png"].tags == ("A cat, asleep",)


def test_metadata_in_subfolder_relative(tmp_path):
    (tmp_path / "set").mkdir()
    table = _metadata(tmp_path, "set/metadata.csv", "file_name,tags\na.png,cat\n", ["set/a.png"])
    assert table.entries["set/a.png"].tags == ("cat",)


def test_metadata_missing_file(tmp_path):
    table = _metadata(tmp_path, "metadata.csv", "file_name,tags\na.png,cat\ngone.png,dog\n", ["a.png"])
    assert [(w.path, w.reason) for w in table.warnings] == [("gone.png", "listed_file_missing")]
    assert "metadata.csv line 3" in table.warnings[0].detail


def test_metadata_listed_twice(tmp_path):
    table = _metadata(tmp_path, "metadata.csv", "file_name,tags\na.png,cat\na.png,dog\n", ["a.png"])
    assert table.entries["a.png"].tags == ("cat",)
    assert [(w.path, w.reason) for w in table.warnings] == [("a.png", "listed_twice")]


@pytest.mark.parametrize("listed", ["../outside.png", "/etc/hostname", "sub/../../x.png"])
def test_metadata_path_outside_folder(tmp_path, listed):
    table = _metadata(tmp_path, "metadata.csv", f"file_name,tags\n{listed},cat\n", [])
    assert [w.reason for w in table.warnings] == ["listed_path_outside_folder"]
    assert table.entries == {}


def test_metadata_without_file_name_column(tmp_path):
    with pytest.raises(TagFileError, match="no file_name column"):
        _metadata(tmp_path, "metadata.csv", "name,tags\na.png,cat\n", [])


def test_metadata_without_tag_column(tmp_path):
    with pytest.raises(TagFileError, match="none of the tag columns"):
        _metadata(tmp_path, "metadata.csv", "file_name,label\na.png,cat\n", [])


def test_metadata_jsonl_invalid_line(tmp_path):
    with pytest.raises(TagFileError, match="line 2: invalid JSON"):
        _metadata(tmp_path, "metadata.jsonl", '{"file_name": "a.png", "tags": "cat"}\n{oops\n', [])


def test_metadata_tab_separated(tmp_path):
    table = _metadata(tmp_path, "metadata.csv", "file_name\ttags\na.png\tcat, dog\n", ["a.png"])
    assert table.entries["a.png"].tags == ("cat", "dog")


def test_sidecar_tags(tmp_path):
    (tmp_path / "tom.txt").write_text("cat, grey\nsleeping\n", encoding="utf-8")
    assert read_sidecar_tags(tmp_path, "tom.png") == ("cat", "grey", "sleeping")


def test_folder_tags():
    assert folder_tags("animals/big cats/tom.png") == ("animals", "big cats")
    assert folder_tags("tom.png") == ()


def test_keywords_accents_and_emoji():
    keywords, empty = KeywordRules().keywords(["Café", "🐱", "black and white"])
    assert keywords == ("cafe", "black", "white")
    assert empty == ["🐱"]


def test_keywords_extra_stop_words():
    keywords, _ = KeywordRules(stop_words=("photo",)).keywords(["cat photo"])
    assert keywords == ("cat",)


def test_synonyms_map_tags_and_words(tmp_path):
    path = tmp_path / "synonyms.txt"
    path.write_text("# comment\ncat: kitty, kitten\nice cream: gelato\n\n", encoding="utf-8")
    rules = KeywordRules(synonyms=read_synonyms(path))
    assert rules.keywords(["Kitty"])[0] == ("cat",)
    assert rules.keywords(["cute kitten"])[0] == ("cute", "cat")
    assert rules.keywords(["gelato"])[0] == ("ice", "cream")


def test_synonyms_conflict(tmp_path):
    path = tmp_path / "synonyms.txt"
    path.write_text("cat: kitty\ndog: kitty\n", encoding="utf-8")
    with pytest.raises(TagFileError, match="line 2: 'kitty' already maps to 'cat' at line 1"):
        read_synonyms(path)


def test_synonyms_line_without_colon(tmp_path):
    path = tmp_path / "synonyms.txt"
    path.write_text("cat kitty\n", encoding="utf-8")
    with pytest.raises(TagFileError, match="line 1: expected 'keyword: variant, variant'"):
        read_synonyms(path)


def test_metadata_empty_tags(tmp_path):
    table = _metadata(tmp_path, "metadata.csv", 'file_name,tags\na.png,\nb.png,""\n', ["a.png", "b.png"])
    assert table.entries["a.png"].tags == ()
    assert table.entries["b.png"].tags == ()
    assert table.warnings == []
