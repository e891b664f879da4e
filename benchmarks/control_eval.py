"""Measure edits of the built-in model: success rate, entanglement and identity drift per method.

    python benchmarks/control_eval.py                       # 12 keywords x 24 ideas, pictures to docs/images/
    python benchmarks/control_eval.py --keywords smiling heart --ideas 8 --no-pictures

For each keyword, ideas are drawn under keyword sets of real designs that lack the
keyword, then edited toward it with each method at the same strength (length of the
move in z). Scores are the domain classifier's sigmoid probabilities of the rendered
8-bit images, as a user sees them. Per method the table gives:

- success: share of edits that raise the target keyword's probability (its logit)
- gain: mean change of the target's probability, and of its logit
- entanglement: mean over the other keywords of |change of probability|
- idea drift: the same over the keywords of the idea's own keyword set only, which
  the projected method keeps by default
- drift: distance moved in the classifier's feature space, divided by the median
  distance between two unrelated ideas (1 = as far as a different idea)

It also times single edits (batch of one, as `designgan edit` runs them) and writes
the pictures of docs/control.md with their recipes. Needs the OpenMoji dataset and
the domain classifier, both built and cached on first use.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from designgan import load_model
from designgan.control import (
    BlendConfig,
    EditConfig,
    IdeaSpec,
    MorphConfig,
    VariationConfig,
    blend,
    compute_directions,
    edit,
    find_directions,
    guided_edit_path,
    morph,
    project_out,
    save_strip,
    store_directions,
    target_signs,
    variations,
)
from designgan.control.directions import conditions_from_labels, linear_path
from designgan.control.edit import default_keep
from designgan.control.latent import synthesize
from designgan.data import load_or_build_openmoji
from designgan.images import float_to_uint8, uint8_to_float
from designgan.metrics.classifier import load_or_train_classifier

# Concrete keywords with many designs, across people, faces, objects and nature.
DEFAULT_KEYWORDS = ("smiling", "heart", "face", "flag", "food", "animal", "hand", "cat", "frowning", "moon",
                    "flower", "weather")
# Each row of the table: (label, method, penalty, keep_count). A penalty of None takes --penalty.
# keep_count selects the directions that direction-projected projects out: None keeps the idea's own
# keywords, as `designgan edit` does by default, and N keeps the N reliable keywords most aligned with the target.
METHODS = (
    ("gradient", "gradient", None, None),
    ("gradient, penalty 0", "gradient", 0.0, None),
    ("gradient, penalty 10", "gradient", 10.0, None),
    ("direction", "direction", None, None),
    ("direction-projected", "direction-projected", None, None),
    ("direction-projected, 2 most aligned", "direction-projected", None, 2),
    ("direction-projected, 8 most aligned", "direction-projected", None, 8),
)


@torch.no_grad()
def measure(model, classifier, z: torch.Tensor, embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return logits (B, K) and features (B, D) of the 8-bit images of z (B, latent_dim)."""
    images = synthesize(model, z, embeddings)
    pixels = torch.from_numpy(float_to_uint8(images)).permute(0, 3, 1, 2)  # (B, 3, R, R) uint8, as saved
    rendered = uint8_to_float(pixels)
    return classifier(rendered), classifier.features(rendered)


def edit_latents(spec: tuple, model, classifier, directions, keyword: str, z, embeddings, conditions,
                 args) -> torch.Tensor:
    """Return the edited z (B, latent_dim) of one method row, for all ideas at once."""
    _, method, penalty, keep_count = spec
    if method == "gradient":
        penalty = args.penalty if penalty is None else penalty
        signs = target_signs(classifier.keywords, [keyword], [])
        return guided_edit_path(model, classifier, z, embeddings, signs, args.strength, args.steps, penalty)[-1]
    direction = directions.normal(keyword)
    if method == "direction-projected" and keep_count is None:
        rows = []
        for row, condition in zip(z, conditions):
            idea_keywords = tuple(k for k, on in zip(model.vocabulary.keywords, condition) if on)
            keep = default_keep(directions, idea_keywords, {keyword})
            kept = torch.stack([directions.normal(k) for k in keep]) if keep else torch.zeros(0, len(direction))
            rows.append(linear_path(row, project_out(direction, kept), args.strength, args.steps)[-1])
        return torch.stack(rows)
    if method == "direction-projected":
        keep = directions.most_entangled(direction, keep_count, {keyword})
        direction = project_out(direction, torch.stack([directions.normal(k) for k in keep]))
    return torch.stack([linear_path(row, direction, args.strength, args.steps)[-1] for row in z])


def evaluate(model, classifier, directions, dataset, args) -> dict[str, dict[str, float]]:
    labels = torch.from_numpy(dataset.labels.astype(np.float32))
    index = {keyword: i for i, keyword in enumerate(classifier.keywords)}
    results = {spec[0]: {"success": [], "gain": [], "logit_gain": [], "entanglement": [], "idea_drift": [], "drift": []}
               for spec in METHODS}

    # Scale of feature distances: the median distance between two unrelated ideas.
    z = torch.stack([model.latent(10_000 + i) for i in range(64)])
    conditions = conditions_from_labels(labels, 64, seed=1)
    _, features = measure(model, classifier, z, model.generator.embedding(conditions[: len(z)]))
    scale = torch.pdist(features).median().item()

    for number, keyword in enumerate(args.keywords):
        target = index[keyword]
        lacking = labels[labels[:, target] == 0]
        conditions = conditions_from_labels(lacking, args.ideas, seed=number)
        z = torch.stack([model.latent(args.seed + i) for i in range(len(conditions))])
        embeddings = model.generator.embedding(conditions)
        before_logits, before_features = measure(model, classifier, z, embeddings)
        before = torch.sigmoid(before_logits)
        others = torch.ones(len(classifier.keywords), dtype=torch.bool)
        others[target] = False
        own = conditions.bool()  # (B, K): each idea's own keywords; the target is never among them
        for spec in METHODS:
            edited = edit_latents(spec, model, classifier, directions, keyword, z, embeddings, conditions, args)
            after_logits, after_features = measure(model, classifier, edited, embeddings)
            change = torch.sigmoid(after_logits) - before
            row = results[spec[0]]
            # Success counts logits, because a probability near 0 or 1 can round to no change in float32.
            row["success"].append((after_logits[:, target] > before_logits[:, target]).float().mean().item())
            row["gain"].append(change[:, target].mean().item())
            row["logit_gain"].append((after_logits - before_logits)[:, target].mean().item())
            row["entanglement"].append(change[:, others].abs().mean().item())
            row["idea_drift"].append((change.abs() * own).sum().item() / own.sum().item())
            row["drift"].append(((after_features - before_features).norm(dim=1) / scale).mean().item())
        print(f"  {keyword} (success, gain): " + ", ".join(
            f"{label} {results[label]['success'][-1]:.2f} {results[label]['gain'][-1]:+.3f}" for label, *_ in METHODS),
            flush=True)
    return results


def time_single_edits(model, classifier, directions, args) -> dict[str, float]:
    """Return the median seconds of one `designgan edit`-like call per method (batch of one, frames rendered)."""
    seconds = {}
    for method in ("gradient", "direction", "direction-projected", "sefa"):
        runs = []
        for repeat in range(3):
            more = () if method == "sefa" else ("smiling",)
            config = EditConfig(IdeaSpec(("face",), repeat), more=more, method=method, strength=args.strength,
                                steps=args.steps, penalty=args.penalty)
            started = time.perf_counter()
            edit(model, config, classifier=classifier, directions=directions)
            runs.append(time.perf_counter() - started)
        seconds[method] = statistics.median(runs)
    return seconds


def write_pictures(model, classifier, directions, folder: Path, args) -> None:
    """Write the strips and the morph animation shown in docs/control.md, each with its recipe."""
    # "person" toward "hand" changes visibly on the built-in model; "face" toward "smiling" barely does.
    idea = IdeaSpec(("person",), 3)
    for method in ("gradient", "direction", "direction-projected"):
        config = EditConfig(idea, more=("hand",), method=method, strength=args.strength, steps=8, penalty=args.penalty)
        save_strip(edit(model, config, classifier=classifier, directions=directions), folder / f"control_edit_{method}.png")
    save_strip(morph(model, MorphConfig(IdeaSpec(("cat",), 1), IdeaSpec(("heart",), 5), steps=8)),
               folder / "control_morph.png", animation="gif")
    save_strip(blend(model, BlendConfig(IdeaSpec(("cat",), 2), ("flower",), steps=7)), folder / "control_blend.png")
    for radius in (0.4, 1.0):
        save_strip(variations(model, VariationConfig(IdeaSpec(("animal",), 7), count=7, radius=radius)),
                   folder / f"control_vary_radius{radius}.png")
    save_strip(edit(model, EditConfig(IdeaSpec(("food",), 4), method="sefa", component=0, strength=0.5, steps=8)),
               folder / "control_sefa.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keywords", nargs="+", default=list(DEFAULT_KEYWORDS), help="Keywords to edit toward.")
    parser.add_argument("--ideas", type=int, default=24, help="Ideas edited per keyword.")
    parser.add_argument("--strength", type=float, default=0.5, help="Length of each edit in units of sqrt(latent_dim).")
    parser.add_argument("--steps", type=int, default=20, help="Steps per edit.")
    parser.add_argument("--penalty", type=float, default=1.0, help="Penalty weight of the gradient method.")
    parser.add_argument("--seed", type=int, default=1000, help="Seed of the first idea; idea i uses seed + i.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--pictures", type=Path, default=Path("docs/images"), help="Folder for the docs' pictures.")
    parser.add_argument("--no-pictures", action="store_true", help="Skip the pictures.")
    parser.add_argument("--pictures-only", action="store_true", help="Only write the pictures: no measurements.")
    args = parser.parse_args()

    model = load_model()
    dataset = load_or_build_openmoji(resolution_px=model.resolution_px, min_count=10, progress=False)
    started = time.perf_counter()
    classifier = load_or_train_classifier(dataset, progress=True)
    print(f"model {model.model_id} ({model.path}); classifier ready in {time.perf_counter() - started:.0f} s "
          f"(held-out mAP {classifier.held_out_map:.3f}); torch threads {torch.get_num_threads()}")

    directions = find_directions(model)
    if directions is None:
        started = time.perf_counter()
        labels = torch.from_numpy(dataset.labels.astype(np.float32))
        directions = compute_directions(model, classifier, conditions_from_labels(labels, 40, 0))
        store_directions(model, directions)
        print(f"directions computed in {time.perf_counter() - started:.0f} s and saved to {directions.path}")
    accuracy = directions.boundaries.val_accuracy
    print(f"boundaries: median validation accuracy {accuracy.median():.3f}; "
          + ", ".join(f"{k} {directions.val_accuracy(k):.2f}" for k in args.keywords))

    if args.pictures_only:
        write_pictures(model, classifier, directions, args.pictures, args)
        print(f"pictures written to {args.pictures}")
        return
    results = evaluate(model, classifier, directions, dataset, args)
    seconds = time_single_edits(model, classifier, directions, args)
    print(f"\n{len(args.keywords)} keywords x {args.ideas} ideas, strength {args.strength}, {args.steps} steps, "
          f"penalty {args.penalty}\n")
    print("| method | success | gain | logit gain | entanglement | idea drift | drift | s per edit |")
    print("|---|---|---|---|---|---|---|---|")
    for label, *_ in METHODS:
        row = {name: statistics.mean(values) for name, values in results[label].items()}
        timing = seconds.get(label)
        print(f"| {label} | {row['success']:.2f} | {row['gain']:+.3f} | {row['logit_gain']:+.2f} | "
              f"{row['entanglement']:.4f} | {row['idea_drift']:.4f} | {row['drift']:.2f} | "
              f"{f'{timing:.2f}' if timing is not None else ''} |")
    print(f"\nsefa (label-free, no target): {seconds['sefa']:.2f} s per edit")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results,
                                         "seconds_per_edit": seconds, "model_sha256": model.files.sha256}, indent=2))
    if not args.no_pictures:
        write_pictures(model, classifier, directions, args.pictures, args)
        print(f"pictures written to {args.pictures}")


if __name__ == "__main__":
    main()
