"""report.json and a self-contained report.html (pictures inline) of an evaluation."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from ..files import atomic_write
from .evaluate import Evaluation
from .pictures import png_data_uri

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.warning { background: #fff0f0; border: 2px solid #c00; padding: 0.6em 1em; margin: 0.5em 0; font-weight: bold; }
.note { color: #555; }
img { image-rendering: pixelated; max-width: 100%; }
"""


def format_number(value: Any) -> str:
    """Format a report value: 4 significant digits for floats, a dash for a missing value."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def write_report(evaluation: Evaluation, out_dir: str | Path) -> tuple[Path, Path]:
    """Write report.json and report.html into `out_dir`, each atomically; return their paths."""
    out_dir = Path(out_dir)
    json_path, html_path = out_dir / REPORT_JSON, out_dir / REPORT_HTML
    text = json.dumps(evaluation.report, indent=2, sort_keys=True, allow_nan=False) + "\n"
    atomic_write(json_path, lambda handle: handle.write(text.encode("utf-8")))
    page = render_html(evaluation)
    atomic_write(html_path, lambda handle: handle.write(page.encode("utf-8")))
    return json_path, html_path


def summary_lines(report: dict[str, Any]) -> list[str]:
    """Return the headline numbers of a report, one per line, for the terminal."""
    quality = report["quality"]
    generated, floor = quality["generated"], quality["real_floor"]
    seed = report["samples"]["seed"]

    lines = [
        f"domain classifier: held-out mAP {format_number(report['classifier']['held_out_map'])} "
        f"(n={report['classifier']['n_held_out']})",
        f"Fréchet distance {format_number(generated['frechet_distance'])} (n={generated['n_generated']}, seed {seed}); "
        f"at n={quality['generated_at_floor_n']['n_generated']}: "
        f"{format_number(quality['generated_at_floor_n']['frechet_distance'])}; "
        f"real-vs-real floor {format_number(floor['frechet_distance'])} (n={floor['n_held_out']})",
        f"KID {format_number(generated['kid_mean'])} ± {format_number(generated['kid_std'])}; "
        f"floor {format_number(floor['kid_mean'])}",
        f"precision {format_number(generated['precision'])}, recall {format_number(generated['recall'])}, "
        f"density {format_number(generated['density'])}, coverage {format_number(generated['coverage'])} "
        f"(k={generated['k']}); floor {format_number(floor['precision'])}, {format_number(floor['recall'])}, "
        f"{format_number(floor['density'])}, {format_number(floor['coverage'])}",
    ]

    adherence = report["adherence"]
    if "skipped" not in adherence:
        lines.append(f"keyword adherence: mAP {format_number(adherence['generated']['mean_average_precision'])}, "
                     f"top-k hit rate {format_number(adherence['generated']['top_k_hit_rate'])}; real held-out "
                     f"{format_number(adherence['real_held_out']['mean_average_precision'])}, "
                     f"{format_number(adherence['real_held_out']['top_k_hit_rate'])}")

    diversity = report["diversity"]
    if diversity.get("median_ratio") is not None:
        lines.append(f"diversity within keyword sets: generated / real median ratio "
                     f"{format_number(diversity['median_ratio'])} over {len(diversity['per_set'])} sets")

    novelty = report["novelty"]
    lines.append(f"novelty: near-copies {novelty['near_copy_share_features']:.1%} (features), "
                 f"{novelty['near_copy_share_pixels']:.1%} (pixels), "
                 f"{novelty['feature_threshold']['quantile']:.0%} expected for new designs")

    inception = report["inception"]
    lines.append(inception["skipped"] if "skipped" in inception
                 else f"Inception FID {format_number(inception['fid'])}, KID {format_number(inception['kid_mean'])}")
    return lines


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{format_number(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _picture(evaluation: Evaluation, name: str, alt: str) -> str:
    picture = evaluation.pictures.get(name)
    return f'<p><img src="{png_data_uri(picture)}" alt="{escape(alt)}"></p>' if picture is not None else ""


def render_html(evaluation: Evaluation) -> str:
    """Return the report as one HTML page with its pictures inline as PNG data URIs."""
    report = evaluation.report
    samples, classifier = report["samples"], report["classifier"]
    seed = samples["seed"]
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>designgan evaluation</title>"
             f"<style>{STYLE}</style></head><body>",
             "<h1>designgan evaluation</h1>",
             f"<p>Model <code>{escape(str(report['model'].get('path', '')))}</code> on {report['data']['designs']} "
             f"designs ({report['data']['keywords']} keywords, {report['data']['resolution_px']} px). "
             f"{samples['n_generated']} generated samples, seed {seed}; real reference: "
             f"{samples['n_real_reference']} train-split designs; held out: {samples['n_held_out']}.</p>",
             f"<p class='note'>{escape(classifier['note'])}</p>"]
    parts += [f"<div class='warning'>Warning: {escape(warning)}</div>" for warning in report["warnings"]]

    parts.append("<h2>Domain classifier</h2>")
    parts.append(_table(["held-out mAP", "keywords counted", "n train", "n held out", "feature dimensions",
                         "training seconds", "loaded from cache"],
                        [[classifier["held_out_map"], classifier["held_out_keywords_counted"], classifier["n_train"],
                          classifier["n_held_out"], classifier["feature_dimensions"], classifier["train_seconds"],
                          classifier["loaded_from_cache"]]]))

    quality = report["quality"]
    columns = [("generated", quality["generated"], quality["generated"]["n_generated"]),
               ("generated, floor n", quality["generated_at_floor_n"], quality["generated_at_floor_n"]["n_generated"]),
               ("real-vs-real floor", quality["real_floor"], quality["real_floor"]["n_held_out"])]
    parts.append("<h2>Quality against the real train split</h2>")
    parts.append(f"<p>Features of the domain classifier ({quality['feature_dimensions']} dimensions); real reference "
                 f"n={quality['generated']['n_real']}, seed {seed}. The floor compares held-out real designs with "
                 "the train split at the same sample count: no generator can be expected to score better.</p>")
    metrics = ["frechet_distance", "kid_mean", "kid_std", "precision", "recall", "density", "coverage"]
    header = ["metric"] + [f"{title} (n={count})" for title, _, count in columns]
    parts.append(_table(header, [[name] + [values[name] for _, values, _ in columns] for name in metrics]))
    inception = report["inception"]
    parts.append("<h3>Inception FID / KID</h3>")
    if "skipped" in inception:
        parts.append(f"<p>{escape(inception['skipped'])}</p>")
    else:
        parts.append(_table(["FID", "KID mean", "KID std", "n generated", "n real", "seed"],
                            [[inception["fid"], inception["kid_mean"], inception["kid_std"], inception["n_generated"],
                              inception["n_real"], inception["seed"]]]))

    parts.append("<h2>Keyword adherence</h2>")
    adherence = report["adherence"]
    if "skipped" in adherence:
        parts.append(f"<p>Skipped: {escape(adherence['skipped'])}</p>")
    else:
        fake, real = adherence["generated"], adherence["real_held_out"]
        parts.append("<p>The classifier ranks images by each requested keyword (mAP over keywords) and checks "
                     "whether the k requested keywords are its k top keywords (top-k hit rate). Real held-out "
                     "designs scored against their own keywords show what a perfect generator could reach.</p>")
        parts.append(_table(["images", "mAP", "top-k hit rate", "keywords counted", "n", "seed"],
                            [["generated", fake["mean_average_precision"], fake["top_k_hit_rate"],
                              fake["keywords_counted"], fake["n_generated"], seed],
                             ["real held-out", real["mean_average_precision"], real["top_k_hit_rate"],
                              real["keywords_counted"], real["n_held_out"], "—"]]))

    parts.append("<h2>Diversity within keyword sets</h2>")
    diversity = report["diversity"]
    overall = diversity["all_keyword_sets"]
    parts.append(f"<p>Mean pairwise feature distance over all keyword sets: generated "
                 f"{format_number(overall['generated'])}, real {format_number(overall['real'])} "
                 f"(n={overall['n_generated']} each, seed {seed}).</p>")
    for position, entry in enumerate(diversity["per_set"]):
        parts.append(_table(["keyword set", "generated", "real", "ratio", "n generated", "n real", "seed"],
                            [[", ".join(entry["keywords"]), entry["generated"], entry["real"], entry["ratio"],
                              entry["n_generated"], entry["n_real"], entry["seed"]]]))
        parts.append(_picture(evaluation, f"diversity_{position}", "generated (left) and real (right) designs"))
    if diversity["per_set"]:
        parts.append("<p class='note'>Each row: 8 generated samples on the left, up to 8 real designs with the same "
                     "keyword set on the right.</p>")

    parts.append("<h2>Novelty</h2>")
    novelty = report["novelty"]
    parts.append(f"<p>Near-copy thresholds: the {novelty['feature_threshold']['quantile']:.0%} quantile of the "
                 f"distances from {novelty['feature_threshold']['n_held_out']} held-out designs to their nearest "
                 f"train design. Copying is flagged above {novelty['copy_share_limit']:.0%} near-copies.</p>")
    parts.append(_table(["space", "threshold", "near-copy share", "median nearest distance", "n generated", "seed"],
                        [["features", novelty["feature_threshold"]["distance"], novelty["near_copy_share_features"],
                          novelty["median_nearest_feature_distance"], novelty["n_generated"], seed],
                         ["pixels (RMS, 0..1)", novelty["pixel_rms_threshold"]["distance"],
                          novelty["near_copy_share_pixels"], novelty["median_nearest_pixel_rms_distance"],
                          novelty["n_generated"], seed]]))
    parts.append(f"<p>Median distance from a held-out real design to its nearest train design, in features: "
                 f"{format_number(novelty['held_out_median_nearest_feature_distance'])}. "
                 f"Copying flagged: <b>{format_number(novelty['copying'])}</b></p>")
    parts.append("<h3>Closest pairs</h3><p class='note'>Top: generated samples closest to a training design in "
                 "features; bottom: that training design.</p>")
    parts.append(_picture(evaluation, "closest_pairs", "closest generated / training pairs"))
    parts.append(_table(["seed", "training design", "feature distance", "pixel RMS distance"],
                        [[pair["seed"], f"{pair['design_id']} {pair['design_name']}".strip(), pair["feature_distance"],
                          pair["pixel_rms_distance"]] for pair in novelty["closest_pairs"]]))

    parts.append("<h2>Samples</h2>")
    parts.append(f"<p>The first generated samples (image i uses seed {seed} + i), then real designs with the same "
                 "keyword sets.</p>")
    parts.append(_picture(evaluation, "samples", "generated samples"))
    parts.append(_picture(evaluation, "samples_real", "real designs with the same keyword sets"))

    parts.append("<h2>Time</h2>")
    parts.append(_table(["stage", "seconds"], [[name, value] for name, value in report["seconds"].items()]))
    parts.append("</body></html>")
    return "\n".join(parts)
