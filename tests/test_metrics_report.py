"""The evaluation report of a tiny trained model: every section, every number with its n and seed."""

from __future__ import annotations

import html
import json

import pytest
from metrics_fixtures import FAST_RECIPE, make_shape_dataset, shape_model_dir, single_thread  # noqa: F401

from designgan.metrics.evaluate import EVALUATOR_NOTE, EvaluationConfig, evaluate_model
from designgan.metrics.report import summary_lines, write_report
from designgan.metrics.sampling import ModelSampler
from designgan.pipeline import load_model

SECTIONS = ("Domain classifier", "Quality against the real train split", "Inception FID / KID", "Keyword adherence",
            "Diversity within keyword sets", "Novelty", "Closest pairs", "Samples")


@pytest.fixture(scope="module")
def written(shape_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    config = EvaluationConfig(samples=40, seed=3, diversity_samples=4, diversity_min_designs=3, kid_subsets=5,
                              grid_samples=16, cache_dir=str(out / "cache"))
    evaluation = evaluate_model(ModelSampler(load_model(shape_model_dir, similarity_threshold=None)),
                                make_shape_dataset(), config, recipe=FAST_RECIPE)
    json_path, html_path = write_report(evaluation, out)
    return evaluation, json_path, html_path


def _reject_nan(value):
    raise AssertionError(f"report.json contains {value}")


def test_report_html_has_sections(written):
    html = written[2].read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f">{section}<" in html, section


def test_report_html_self_contained(written):
    html = written[2].read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') >= 4  # samples, real samples, closest pairs, a keyword set
    assert "http://" not in html
    assert "https://" not in html


def test_report_html_states_evaluator_separate(written):
    assert html.escape(EVALUATOR_NOTE) in written[2].read_text(encoding="utf-8")


def test_report_json_valid_without_nan(written):
    report = json.loads(written[1].read_text(encoding="utf-8"), parse_constant=_reject_nan)
    assert report["designgan_evaluation"] == 1


def test_report_numbers_carry_n_and_seed(written):
    report = json.loads(written[1].read_text(encoding="utf-8"))
    quality, diversity = report["quality"], report["diversity"]
    entries = [quality["generated"], quality["generated_at_floor_n"], quality["real_floor"],
               report["adherence"]["generated"], diversity["all_keyword_sets"], report["novelty"],
               *diversity["per_set"]]
    for entry in entries:
        assert any(key.startswith("n_") for key in entry), entry
        assert entry["seed"] == 3, entry


def test_report_seed_recorded(written):
    report = written[0].report
    assert report["samples"]["seed"] == 3
    assert report["quality"]["generated"]["seed"] == 3
    assert report["novelty"]["seed"] == 3


def test_report_diversity_has_sets(written):
    assert written[0].report["diversity"]["per_set"]


def test_report_adherence_beside_real(written):
    adherence = written[0].report["adherence"]
    assert adherence["generated"]["n_generated"] == 40
    assert adherence["real_held_out"]["n_held_out"] > 0


def test_report_summary_lines(written):
    lines = summary_lines(written[0].report)
    assert any(line.startswith("Fréchet distance") for line in lines)
    assert any("Inception FID/KID skipped" in line for line in lines)
