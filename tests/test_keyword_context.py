"""Keyword context: a user's keywords completed to the keyword sets of real designs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from designgan import load_model
from designgan.export import ModelFileError
from designgan.keyword_context import KEYWORD_SETS_NAME, KeywordSets, read_keyword_sets
from model_fixtures import make_keyword_dataset, tiny_model_dir  # noqa: F401  (pytest fixture)

LABELS = np.array([[1, 0, 1, 0],   # cat red
                   [1, 0, 1, 0],   # cat red, again
                   [1, 1, 0, 0],   # cat heart
                   [0, 1, 0, 1],   # heart dark skin tone
                   [0, 0, 0, 0]],  # no keywords: not a set
                  dtype=np.uint8)


def test_sets_are_distinct_rows_with_counts():
    sets = KeywordSets.from_labels(LABELS)
    rows = {tuple(row): int(count) for row, count in zip(sets.multi_hot, sets.counts)}
    assert rows == {(1, 0, 1, 0): 2, (1, 1, 0, 0): 1, (0, 1, 0, 1): 1}


def test_completion_contains_the_query_and_a_real_set():
    sets = KeywordSets.from_labels(LABELS)
    query = np.array([1, 0, 0, 0])  # "cat"
    drawn = {tuple(sets.complete(query, seed).astype(int)) for seed in range(200)}
    assert drawn == {(1, 0, 1, 0), (1, 1, 0, 0)}  # both cat sets, and nothing without cat


def test_completion_follows_design_counts():
    sets = KeywordSets.from_labels(LABELS)
    draws = [tuple(sets.complete(np.array([1, 0, 0, 0]), seed).astype(int)) for seed in range(3000)]
    share = draws.count((1, 0, 1, 0)) / len(draws)
    assert 0.6 < share < 0.73  # two designs of three carry "cat red"


def test_completion_prefers_the_largest_overlap():
    sets = KeywordSets.from_labels(LABELS)
    assert tuple(sets.complete(np.array([1, 1, 0, 0]), 0).astype(int)) == (1, 1, 0, 0)


def test_completion_keeps_an_unseen_combination():
    # "cat dark skin tone" is in no set: a set with one of them, plus the query.
    sets = KeywordSets.from_labels(LABELS)
    completed = sets.complete(np.array([1, 0, 0, 1]), 3).astype(int)
    assert completed[[0, 3]].tolist() == [1, 1]


def test_completion_is_seeded():
    sets = KeywordSets.from_labels(LABELS)
    query = np.array([1, 0, 0, 0])
    assert all(np.array_equal(sets.complete(query, seed), sets.complete(query, seed)) for seed in range(20))


def test_export_writes_the_sets_and_generation_uses_them(tiny_model_dir):
    saved = read_keyword_sets(tiny_model_dir, 4)
    expected = KeywordSets.from_labels(make_keyword_dataset().labels)
    assert np.array_equal(saved.multi_hot, expected.multi_hot)
    assert np.array_equal(saved.counts, expected.counts)

    model = load_model(tiny_model_dir)
    ideas, _ = model.generate_ideas("cat", n=12, seed=0)
    real_sets = {tuple(row) for row in expected.multi_hot}
    for idea in ideas:
        assert idea.recipe["keywords"][0] == "cat"
        assert tuple(model.vocabulary.encode(idea.recipe["keywords"]).astype(int)) in real_sets
    plain, _ = model.generate_ideas("cat", n=12, seed=0, context=False)
    assert all(idea.recipe["keywords"] == ["cat"] for idea in plain)
    assert len({tuple(idea.recipe["keywords"]) for idea in ideas}) > 1  # seeds draw different contexts


def test_idea_with_context_independent_of_batch(tiny_model_dir):
    model = load_model(tiny_model_dir)
    batch = model.generate("cat", n=6, seed=20)
    alone = model.generate("cat", n=1, seed=24)
    assert np.array_equal(np.asarray(batch[4]), np.asarray(alone[0]))


def test_model_without_sets_generates_from_the_keywords(tiny_model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    (copy / KEYWORD_SETS_NAME).unlink()
    ideas, _ = load_model(copy).generate_ideas("cat", n=3, seed=0)
    assert all(idea.recipe["keywords"] == ["cat"] for idea in ideas)


def test_damaged_sets_file_is_named(tiny_model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    (copy / KEYWORD_SETS_NAME).write_text('{"format": 1, "sets": [[0, 9]], "counts": [1]}')
    with pytest.raises(ModelFileError, match=r"keyword_sets\.json is damaged .*keyword indices in 0\.\.3"):
        load_model(copy)


def test_grid_with_context_reproduces_exactly(tiny_model_dir, tmp_path):
    grid = tmp_path / "ideas.png"
    command = [sys.executable, "-m", "designgan"]
    subprocess.run(command + ["generate", "cat", "-n", "6", "--seed", "3", "--model", str(tiny_model_dir),
                              "--out", str(grid)], check=True, capture_output=True, text=True)
    recipe = json.loads(grid.with_suffix(".json").read_text())
    assert len(recipe["parameters"]["idea_keywords"]) == 6
    again = tmp_path / "again.png"
    result = subprocess.run(command + ["reproduce", str(grid), "--model", str(tiny_model_dir), "--out", str(again)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert np.array_equal(np.asarray(Image.open(grid)), np.asarray(Image.open(again)))


@pytest.mark.parametrize("text, detail", [
    ('{"format": 1, "sets": [[0, 1.5]], "counts": [1]}', "set 0 is"),
    ('{"format": 1, "sets": [[true]], "counts": [1]}', "set 0 is"),
    ('{"format": 1, "sets": [[0]], "counts": [1000000000000000000000000000000]}', "count 0 is"),
    ('{"format": 1, "sets": {"a": 1}, "counts": [1]}', '"sets" must be a list'),
    ('{"format": 1, "sets": [[0]]}', '"counts" is missing'),
    ('[1, 2]', "expected a JSON object"),
])
def test_damaged_sets_values_are_named(tiny_model_dir, tmp_path, text, detail):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    (copy / KEYWORD_SETS_NAME).write_text(text)
    with pytest.raises(ModelFileError, match=re.escape(detail)):
        load_model(copy)


def test_context_must_be_a_bool(tiny_model_dir):
    with pytest.raises(TypeError, match="context='false' is invalid"):
        load_model(tiny_model_dir).generate("cat", n=1, seed=0, context="false")


def test_unseen_combination_gets_a_note(tiny_model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    (copy / KEYWORD_SETS_NAME).write_text('{"format": 1, "sets": [[0], [1]], "counts": [3, 2]}')
    result = subprocess.run([sys.executable, "-m", "designgan", "generate", "cat", "heart", "-n", "2",
                             "--model", str(copy), "--out", str(tmp_path / "grid.png")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "no training design has all of cat, heart" in result.stderr
