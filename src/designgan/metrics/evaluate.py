"""Evaluate a generator against its dataset: the steps behind `designgan evaluate`.

1. Load or train the domain classifier of the dataset, and the features of every real design.
2. Draw `samples` keyword sets from the dataset's real designs: each is the full keyword
   set of a design chosen uniformly with `seed`. Generate one image for each, and image i
   uses seed + i.
3. Fréchet distance, KID, precision / recall / density / coverage against the train split,
   each beside the real-vs-real floor (held-out split against the train split).
4. Keyword adherence, diversity within keyword sets and novelty, as in their modules.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from ..data.dataset import DesignDataset
from .adherence import adherence_score
from .classifier import ClassifierRecipe, DomainClassifier, load_or_train_classifier
from .diversity import SetDiversity, frequent_keyword_sets, mean_pairwise_distance, mode_collapse_warning
from .features import FeatureSet, extract_features, load_or_extract_real_features
from .frechet import GaussianStatistics, few_samples_warning, frechet_distance, kernel_distance
from .inception import inception_scores
from .novelty import (Nearest, calibrate_copy_threshold, closest_pairs, near_copy_share, nearest_neighbours,
                      pixel_vectors, rms_pixel_distance)
from .pictures import image_row, pair_strip, sample_grid
from .pipeline import to_model_input
from .precision_recall import precision_recall_density_coverage
from .sampling import ImageSampler
from .split import Split, held_out_split

logger = logging.getLogger(__name__)

MAX_SAMPLES = 100_000
MIN_SAMPLES = 10  # precision and recall need more than k = 5 neighbours in each set
GLOBAL_DIVERSITY_SAMPLES = 1000  # images per side for the diversity over all keyword sets
EVALUATOR_NOTE = ("The evaluator is a domain classifier that designgan trains separately on the real designs; "
                  "it is not the GAN's critic and no part of it is used in training the generator.")


@dataclass(frozen=True)
class EvaluationConfig:
    """Settings of one evaluation. Every count and threshold is stored in report.json."""

    samples: int = 2000  # generated images for the distribution, adherence and novelty metrics
    seed: int = 0  # keyword sets drawn, noise (image i uses seed + i), real subsets and KID subsets
    real_samples: int = 0  # train-split designs in the real reference; 0 = the whole train split
    truncation: float = 1.0  # noise truncation of the generator: 1 = none
    batch_size: int = 256  # images per generator and classifier batch
    k_nearest: int = 5  # neighbours defining the balls of precision, recall, density and coverage
    kid_subset_size: int = 1000  # samples per KID subset, lowered to the smaller set size
    kid_subsets: int = 100
    diversity_sets: int = 8  # most frequent exact keyword sets measured for diversity
    diversity_samples: int = 32  # generated images per keyword set
    diversity_min_designs: int = 4  # a keyword set needs this many real designs to be measured
    collapse_ratio: float = 0.5  # warn when generated / real diversity (median over sets) is below this
    copy_quantile: float = 0.05  # near-copy threshold: this quantile of held-out-to-train distances
    copy_share_limit: float = 0.25  # flag copying when more than this share of samples are near-copies
    closest_pairs: int = 8  # generated / training pairs shown in the report
    grid_samples: int = 64  # generated images in the report's sample grid
    inception_weights: str | None = None  # Inception-v3 weights file for torchmetrics FID/KID; None skips them
    cache_dir: str | None = None  # classifier and feature cache; None = $DESIGNGAN_CACHE or ~/.cache/designgan

    def validate(self) -> EvaluationConfig:
        checks = [
            ("--samples", self.samples, MIN_SAMPLES, MAX_SAMPLES),
            ("--seed", self.seed, 0, 2**63 - 1 - MAX_SAMPLES),
            ("--real-samples", self.real_samples, 0, 10**9),
            ("batch_size", self.batch_size, 1, 65536),
            ("k_nearest", self.k_nearest, 1, MIN_SAMPLES - 1),
            ("kid_subset_size", self.kid_subset_size, 2, 10**6),
            ("kid_subsets", self.kid_subsets, 1, 10_000),
            ("diversity_sets", self.diversity_sets, 0, 1000),
            ("diversity_samples", self.diversity_samples, 2, 10_000),
            ("diversity_min_designs", self.diversity_min_designs, 2, 10**6),
            ("closest_pairs", self.closest_pairs, 0, 1000),
            ("grid_samples", self.grid_samples, 0, 1024),
        ]
        for name, value, low, high in checks:
            if not low <= value <= high:
                raise ValueError(f"{name} {value} is out of range; use {low}..{high}.")
        if 0 < self.real_samples < MIN_SAMPLES:
            raise ValueError(f"--real-samples {self.real_samples} is out of range; use 0 (the whole train split) "
                             f"or at least {MIN_SAMPLES}.")
        if not 0.0 <= self.truncation <= 1.0:
            raise ValueError(f"truncation {self.truncation} is out of range; use 0..1 (1 = no truncation).")
        for name, value in (("collapse_ratio", self.collapse_ratio), ("copy_quantile", self.copy_quantile),
                            ("copy_share_limit", self.copy_share_limit)):
            if not 0.0 < value < 1.0:
                raise ValueError(f"{name} {value} is out of range; use a value between 0 and 1.")
        return self


@dataclass
class Evaluation:
    """The outcome of `evaluate_model`: report.json's content, the report's pictures and the warnings."""

    report: dict[str, Any]
    pictures: dict[str, Image.Image] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def finite(value: float) -> float | None:
    """Return a float for JSON, with None in place of NaN or infinity (JSON has no NaN)."""
    value = float(value)
    return value if np.isfinite(value) else None


def condition_matrix(sampler_keywords: list[str] | None, dataset: DesignDataset) -> tuple[np.ndarray | None, np.ndarray]:
    """Map the dataset's keyword rows onto the sampler's vocabulary.

    Returns conditions (N, K_sampler) float32 for every design (None when the sampler is
    unconditional) and a (K_dataset,) bool mask of the dataset keywords in the sampler's vocabulary.
    """
    if sampler_keywords is None:
        return None, np.zeros(dataset.num_keywords, dtype=bool)
    position = {keyword: index for index, keyword in enumerate(sampler_keywords)}
    known = np.array([keyword in position for keyword in dataset.vocabulary.keywords], dtype=bool)
    if not known.any():
        raise ValueError(f"the model's {len(sampler_keywords)} keywords share none with the dataset's "
                         f"{dataset.num_keywords}; evaluate the model on the dataset it was trained on.")
    conditions = np.zeros((len(dataset), len(sampler_keywords)), dtype=np.float32)
    for column in np.flatnonzero(known):
        conditions[:, position[dataset.vocabulary.keywords[column]]] = dataset.labels[:, column]
    return conditions, known


def generate_with_features(sampler: ImageSampler, classifier: DomainClassifier, conditions: np.ndarray | None,
                           seeds: list[int], batch_size: int, progress: bool) -> tuple[np.ndarray, FeatureSet]:
    """Generate one image per seed and extract its features; returns uint8 (M, H, W, 3) and features."""
    images, parts = [], []
    with tqdm(total=len(seeds), desc="generate", unit="image", disable=not progress) as bar:
        for start in range(0, len(seeds), batch_size):
            batch_conditions = None if conditions is None else conditions[start:start + batch_size]
            batch = sampler.sample(batch_conditions, seeds[start:start + batch_size])
            images.append(batch)
            parts.append(extract_features(classifier, batch, batch_size))
            bar.update(len(batch))
    return np.concatenate(images), FeatureSet.concatenate(parts, classifier.num_features, len(classifier.keywords))


def evaluate_model(sampler: ImageSampler, dataset: DesignDataset, config: EvaluationConfig | None = None,
                   progress: bool = False, recipe: ClassifierRecipe | None = None) -> Evaluation:
    """Measure quality, keyword adherence, diversity and novelty of `sampler` on `dataset`.

    recipe: the domain classifier's training recipe; None is the fixed default that
        makes reports comparable. Tests pass a shorter one.
    """
    config = (config or EvaluationConfig()).validate()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    evaluation = Evaluation(report={})

    # 1. The evaluator and the real features.
    classifier = load_or_train_classifier(dataset, config.cache_dir, progress=progress, recipe=recipe)
    used_recipe = classifier.info["recipe"]
    split = held_out_split(dataset, used_recipe["held_out_fraction"], used_recipe["seed"])
    real = load_or_extract_real_features(classifier, dataset, config.cache_dir, config.batch_size)
    seconds["classifier_and_real_features"] = time.perf_counter() - started

    rng = np.random.default_rng(config.seed)
    reference_indices = split.train
    if config.real_samples:
        if config.real_samples > len(split.train):
            raise ValueError(f"--real-samples {config.real_samples} is out of range; the train split of this dataset "
                             f"has {len(split.train)} designs, so use {MIN_SAMPLES}..{len(split.train)} or 0 (all).")
        reference_indices = np.sort(rng.choice(split.train, config.real_samples, replace=False))
    reference = real.subset(reference_indices)

    # 2. Generated samples for keyword sets of real designs.
    conditions, keyword_mask = condition_matrix(sampler.keywords, dataset)
    rows = rng.integers(0, len(dataset), size=config.samples)  # the design whose keyword set image i requests
    seeds = [config.seed + i for i in range(config.samples)]
    mark = time.perf_counter()
    generated_images, generated = generate_with_features(
        sampler, classifier, None if conditions is None else conditions[rows], seeds, config.batch_size, progress)
    seconds["generation_and_features"] = time.perf_counter() - mark

    # 3-4. The metrics.
    mark = time.perf_counter()
    floor_n = min(config.samples, len(split.held_out))
    held_out = real.subset(np.sort(rng.choice(split.held_out, floor_n, replace=False)))
    evaluation.report["quality"] = _quality(generated, reference, held_out, config, evaluation.warnings)
    evaluation.report["adherence"] = _adherence(generated, rows, real.subset(split.held_out),
                                                dataset.labels[split.held_out], dataset, keyword_mask, config)
    evaluation.report["diversity"] = _diversity(sampler, classifier, conditions, keyword_mask, dataset, real,
                                                generated, reference, config, evaluation)
    evaluation.report["novelty"] = _novelty(generated_images, generated, dataset, real, split, classifier, config,
                                            evaluation)
    evaluation.report["inception"] = inception_scores(config.inception_weights, dataset.images[reference_indices],
                                                      generated_images, config.kid_subset_size, config.seed)
    seconds["metrics"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - started

    grid_count = min(config.grid_samples, config.samples)
    if grid_count:
        evaluation.pictures["samples"] = sample_grid(generated_images[:grid_count])
        evaluation.pictures["samples_real"] = sample_grid(dataset.images[rows[:grid_count]])  # same order
    evaluation.report.update({
        "designgan_evaluation": 1,
        "model": sampler.describe(),
        "data": {"designs": len(dataset), "keywords": dataset.num_keywords, "resolution_px": dataset.resolution_px,
                 "render": dataset.render, "dataset_sha256": classifier.info.get("dataset_sha256")},
        "config": asdict(config),
        "classifier": _classifier_summary(classifier),
        "samples": {"n_generated": config.samples, "n_real_reference": len(reference_indices),
                    "n_held_out": int(len(split.held_out)), "seed": config.seed,
                    "grid_keyword_sets": [list(dataset.vocabulary.decode(dataset.labels[r])) for r in rows[:grid_count]]},
        "seconds": {name: round(value, 1) for name, value in seconds.items()},
        "warnings": evaluation.warnings,
    })
    for warning in evaluation.warnings:
        logger.warning(warning)
    return evaluation


def _classifier_summary(classifier: DomainClassifier) -> dict[str, Any]:
    info = classifier.info
    return {"held_out_map": finite(classifier.held_out_map), "n_train": info.get("n_train"),
            "n_held_out": info.get("n_held_out"), "held_out_keywords_counted": info.get("held_out_keywords_counted"),
            "feature_dimensions": classifier.num_features, "train_seconds": info.get("train_seconds"),
            "loaded_from_cache": classifier.loaded_from_cache, "recipe": info.get("recipe"),
            "cache_key": info.get("cache_key"), "note": EVALUATOR_NOTE}


def _distribution_scores(fake: FeatureSet, real: FeatureSet, config: EvaluationConfig,
                         with_kid: bool = True) -> dict[str, Any]:
    """Return the Fréchet distance, KID (unless `with_kid` is False), precision, recall,
    density and coverage of generated features against real features."""
    kid = {"kid_mean": None, "kid_std": None, "kid_subset_size": None, "kid_subsets": None}
    if with_kid:
        estimate = kernel_distance(fake.features, real.features, config.kid_subset_size, config.kid_subsets,
                                   config.seed)
        kid = {"kid_mean": finite(estimate.mean), "kid_std": finite(estimate.std),
               "kid_subset_size": estimate.subset_size, "kid_subsets": estimate.subsets}
    scores = precision_recall_density_coverage(real.features, fake.features, config.k_nearest)
    return {
        "frechet_distance": finite(frechet_distance(GaussianStatistics.of(fake.features),
                                                    GaussianStatistics.of(real.features))),
        **kid,
        "precision": scores.precision, "recall": scores.recall, "density": scores.density,
        "coverage": scores.coverage, "k": scores.k, "n_real": len(real), "seed": config.seed,
    }


def _quality(generated: FeatureSet, reference: FeatureSet, held_out: FeatureSet, config: EvaluationConfig,
             warnings: list[str]) -> dict[str, Any]:
    dimensions = generated.features.shape[1]
    for count, what in ((len(generated), "generated samples"), (len(reference), "real reference"),
                        (len(held_out), "real-vs-real floor")):
        warning = few_samples_warning(count, dimensions, what)
        if warning:
            warnings.append(warning)
    floor_n = len(held_out)
    return {
        "generated": {**_distribution_scores(generated, reference, config), "n_generated": len(generated)},
        # KID is unbiased, so its expectation does not change with the sample count and
        # the generated KID above needs no repeat at the floor's count.
        "generated_at_floor_n": {**_distribution_scores(generated.subset(np.arange(floor_n)), reference, config,
                                                        with_kid=False),
                                 "n_generated": floor_n},
        "real_floor": {**_distribution_scores(held_out, reference, config), "n_held_out": floor_n},
        "feature_dimensions": dimensions,
    }


def _adherence(generated: FeatureSet, rows: np.ndarray, held_out: FeatureSet, held_out_labels: np.ndarray,
               dataset: DesignDataset, keyword_mask: np.ndarray, config: EvaluationConfig) -> dict[str, Any]:
    if not keyword_mask.any():
        return {"skipped": "the model is unconditional, so there are no requested keywords to check."}
    requested = dataset.labels[rows]
    in_both = requested.any(axis=0) & held_out_labels.any(axis=0)  # keywords with positives on both sides
    fake = adherence_score(generated.logits, requested, keyword_mask, in_both)
    real = adherence_score(held_out.logits, held_out_labels, keyword_mask, in_both)
    return {
        "generated": {**asdict(fake), "n_generated": fake.count, "seed": config.seed},
        "real_held_out": {**asdict(real), "n_held_out": real.count},
        "keywords_known_to_model": int(keyword_mask.sum()),
    }


def _diversity(sampler: ImageSampler, classifier: DomainClassifier, conditions: np.ndarray | None,
               keyword_mask: np.ndarray, dataset: DesignDataset, real: FeatureSet, generated: FeatureSet,
               reference: FeatureSet, config: EvaluationConfig, evaluation: Evaluation) -> dict[str, Any]:
    rng = np.random.default_rng(config.seed)
    count = min(GLOBAL_DIVERSITY_SAMPLES, len(generated), len(reference))
    overall = {"generated": finite(mean_pairwise_distance(generated.features[:count])),
               "real": finite(mean_pairwise_distance(reference.features[rng.choice(len(reference), count, replace=False)])),
               "n_generated": count, "n_real": count, "seed": config.seed}
    if conditions is None:
        return {"all_keyword_sets": overall, "per_set": [], "skipped": "the model is unconditional."}

    results: list[SetDiversity] = []
    sets = [s for s in frequent_keyword_sets(dataset.labels, dataset.vocabulary.keywords, config.diversity_sets,
                                             config.diversity_min_designs)
            if all(keyword_mask[k] for k, v in enumerate(s.labels) if v)]
    for position, keyword_set in enumerate(sets):
        design = keyword_set.design_indices[0]
        set_conditions = np.repeat(conditions[design:design + 1], config.diversity_samples, axis=0)
        seeds = [config.seed + i for i in range(config.diversity_samples)]
        images = sampler.sample(set_conditions, seeds)
        features = extract_features(classifier, images, config.batch_size).features
        real_features = real.features[list(keyword_set.design_indices)]
        results.append(SetDiversity(keyword_set.keywords, mean_pairwise_distance(features),
                                    mean_pairwise_distance(real_features), len(features), len(real_features)))
        evaluation.pictures[f"diversity_{position}"] = image_row(
            images[:8], dataset.images[list(keyword_set.design_indices[:8])])
    warning = mode_collapse_warning(results, config.collapse_ratio)
    if warning:
        evaluation.warnings.append(warning)
    return {
        "all_keyword_sets": overall,
        "per_set": [{"keywords": list(r.keywords), "generated": finite(r.generated), "real": finite(r.real),
                     "ratio": finite(r.ratio), "n_generated": r.n_generated, "n_real": r.n_real, "seed": config.seed}
                    for r in results],
        "median_ratio": finite(np.median([r.ratio for r in results])) if results else None,
        "collapse_ratio": config.collapse_ratio,
        "mode_collapse": warning is not None,
    }


def _novelty(generated_images: np.ndarray, generated: FeatureSet, dataset: DesignDataset, real: FeatureSet,
             split: Split, classifier: DomainClassifier, config: EvaluationConfig,
             evaluation: Evaluation) -> dict[str, Any]:
    side = classifier.resolution_px
    dataset_pixels = pixel_matrix(dataset.images, side, config.batch_size)  # (N, 3 R R) in [0, 1]
    dimensions = dataset_pixels.shape[1]

    feature_threshold = calibrate_copy_threshold(real.features[split.held_out], real.features[split.train],
                                                 config.copy_quantile)
    pixel_threshold = calibrate_copy_threshold(dataset_pixels[split.held_out], dataset_pixels[split.train],
                                               config.copy_quantile)
    # Generated images are compared with every design, because the generator trained on all of them.
    feature_nearest = nearest_neighbours(generated.features, real.features)
    held_out_nearest = nearest_neighbours(real.features[split.held_out], real.features[split.train])
    pixel_nearest = Nearest(np.zeros(0, np.float32), np.zeros(0, np.int64))
    for start in range(0, len(generated_images), config.batch_size):  # in batches: 10,000 images are 0.5 GB as floats
        batch = pixel_matrix(generated_images[start:start + config.batch_size], side, config.batch_size)
        found = nearest_neighbours(batch, dataset_pixels)
        pixel_nearest = Nearest(np.concatenate([pixel_nearest.distances, found.distances]),
                                np.concatenate([pixel_nearest.indices, found.indices]))
    feature_share = near_copy_share(feature_nearest.distances, feature_threshold)
    pixel_share = near_copy_share(pixel_nearest.distances, pixel_threshold)
    copying = max(feature_share, pixel_share) > config.copy_share_limit
    if copying:
        evaluation.warnings.append(
            f"the model copies training designs: {feature_share:.0%} of samples are near-copies in features and "
            f"{pixel_share:.0%} in pixels, against {config.copy_quantile:.0%} of new real designs "
            f"(flagged above {config.copy_share_limit:.0%}).")

    pairs = []
    for generated_index, design_index, distance in closest_pairs(feature_nearest, config.closest_pairs):
        generated_pixels = pixel_matrix(generated_images[generated_index:generated_index + 1], side, 1)[0]
        pixel_distance = np.linalg.norm(generated_pixels - dataset_pixels[design_index])
        pairs.append({"generated_index": generated_index, "seed": config.seed + generated_index,
                      "design_index": design_index, "design_id": dataset.source_ids[design_index],
                      "design_name": dataset.names[design_index], "feature_distance": distance,
                      "pixel_rms_distance": float(rms_pixel_distance(pixel_distance, dimensions))})
    if pairs:
        evaluation.pictures["closest_pairs"] = pair_strip(generated_images[[p["generated_index"] for p in pairs]],
                                                          dataset.images[[p["design_index"] for p in pairs]])
    return {
        "feature_threshold": asdict(feature_threshold),
        "pixel_rms_threshold": {**asdict(pixel_threshold),
                                "distance": float(rms_pixel_distance(pixel_threshold.distance, dimensions))},
        "near_copy_share_features": feature_share,
        "near_copy_share_pixels": pixel_share,
        "median_nearest_feature_distance": float(np.median(feature_nearest.distances)),
        "held_out_median_nearest_feature_distance": float(np.median(held_out_nearest.distances)),
        "median_nearest_pixel_rms_distance": float(rms_pixel_distance(np.median(pixel_nearest.distances), dimensions)),
        "copy_share_limit": config.copy_share_limit,
        "copying": bool(copying),
        "closest_pairs": pairs,
        "n_generated": len(generated_images), "n_training_designs": len(dataset), "seed": config.seed,
    }


def pixel_matrix(images: np.ndarray, resolution_px: int, batch_size: int) -> np.ndarray:
    """Return images through the evaluator's pipeline as pixel vectors (N, 3 R R) float32 in [0, 1]."""
    parts = [pixel_vectors(to_model_input(images[start:start + batch_size], resolution_px)).numpy()
             for start in range(0, len(images), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, 3 * resolution_px**2), dtype=np.float32)
