"""The fixed train / held-out split of a dataset that the evaluator is built on."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..data.dataset import DesignDataset

logger = logging.getLogger(__name__)

# Unicode skin-tone modifiers U+1F3FB..U+1F3FF. Emoji that differ only in these are the
# same drawing in another colour (OpenMoji has about 400 people designs in five tones
# each), so the split keeps them on one side. Otherwise held-out images would have
# near-twins in the train split, and the held-out scores would be optimistic.
SKIN_TONE_CODES = frozenset({"1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF"})

# Designs whose 16 x 16 thumbnails differ by at most this RMS (values in 0..1) count as one
# drawing. OpenMoji 17 renders 404 of its 3,953 designs identically to another one
# ("mechanic" and "man mechanic"), and more differ in a few pixels ("woman: bald" and
# "man: bald", 0.004). Distinct designs measured there were 0.01 apart or more.
NEAR_DUPLICATE_RMS = 0.005
THUMBNAIL_PX = 16
# All-pairs thumbnail distances cost O(N^2); above this many designs only identical
# images are grouped (by hash).
MAX_PAIRWISE_DESIGNS = 20_000


@dataclass(frozen=True)
class Split:
    """Indices into a dataset: `train` (what the evaluator learns from) and `held_out`."""

    train: np.ndarray  # (N_train,) int64, sorted
    held_out: np.ndarray  # (N_held_out,) int64, sorted


def design_group(source_id: str) -> str:
    """Return the id shared by designs that differ only in skin tone ("1F44B-1F3FB" -> "1F44B").

    Ids without skin-tone code points, such as the file stems of an imported
    folder, are their own group.
    """
    parts = source_id.split("-")
    kept = [part for part in parts if part.upper() not in SKIN_TONE_CODES]
    return "-".join(kept) if kept else source_id


def near_duplicate_pairs(images: np.ndarray, tolerance_rms: float = NEAR_DUPLICATE_RMS) -> list[tuple[int, int]]:
    """Return index pairs (i, j), i < j, of uint8 images (N, H, W, 3) that are near-identical.

    Images are compared as THUMBNAIL_PX thumbnails (area-averaged) by RMS difference of
    values in [0, 1]. Above MAX_PAIRWISE_DESIGNS images only identical images are paired.
    """
    if len(images) > MAX_PAIRWISE_DESIGNS:
        logger.info("Grouping only identical images for the split: %d designs are too many to compare in pairs.",
                    len(images))
        first_seen: dict[bytes, int] = {}
        pairs = []
        for index, image in enumerate(images):
            digest = hashlib.sha256(np.ascontiguousarray(image).tobytes()).digest()
            if digest in first_seen:
                pairs.append((first_seen[digest], index))
            else:
                first_seen[digest] = index
        return pairs

    thumbnails = []
    for start in range(0, len(images), 1024):
        batch = torch.from_numpy(np.array(images[start:start + 1024])).permute(0, 3, 1, 2).float() / 255.0
        thumbnails.append(F.adaptive_avg_pool2d(batch, THUMBNAIL_PX).flatten(start_dim=1))  # (B, 3 * 16 * 16)
    if not thumbnails:
        return []
    vectors = torch.cat(thumbnails)
    limit = tolerance_rms * vectors.shape[1] ** 0.5  # RMS -> Euclidean distance
    pairs = []
    for start in range(0, len(vectors), 1024):
        distances = torch.cdist(vectors[start:start + 1024], vectors)  # (chunk, N)
        rows, columns = torch.nonzero(distances <= limit, as_tuple=True)
        pairs += [(start + i, j) for i, j in zip(rows.tolist(), columns.tolist()) if start + i < j]
    return pairs


def design_groups(dataset: DesignDataset) -> list[list[int]]:
    """Return the groups of design indices that must stay on one side of the split:
    skin-tone variants of one emoji and near-identical images, joined transitively."""
    parent = list(range(len(dataset)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]  # path halving keeps the trees shallow
            index = parent[index]
        return index

    first_of_group: dict[str, int] = {}
    for index, source_id in enumerate(dataset.source_ids):
        key = design_group(source_id)
        if key in first_of_group:
            parent[root(index)] = root(first_of_group[key])
        else:
            first_of_group[key] = index
    for i, j in near_duplicate_pairs(dataset.images):
        parent[root(i)] = root(j)

    groups: dict[int, list[int]] = {}
    for index in range(len(dataset)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


def held_out_split(dataset: DesignDataset, held_out_fraction: float, seed: int) -> Split:
    """Split the designs by `design_groups`, with a seeded shuffle of the groups.

    Groups are shuffled with `numpy.random.default_rng(seed)` and added to the held-out
    side until it contains `held_out_fraction` of the designs. The rest is the train
    split. Both sides keep at least one design when the dataset has two groups or more.
    """
    if not 0.0 < held_out_fraction < 1.0:
        raise ValueError(f"held_out_fraction={held_out_fraction} is out of range; use a value between 0 and 1.")
    members = design_groups(dataset)
    if len(members) < 2:
        raise ValueError(f"the dataset has {len(dataset)} designs in {len(members)} group; "
                         "a train / held-out split needs at least 2 distinct designs.")

    order = np.random.default_rng(seed).permutation(len(members))
    target = max(1, round(held_out_fraction * len(dataset)))
    held_out: list[int] = []
    for position in order[:-1]:  # the last group always stays in the train split
        if len(held_out) >= target:
            break
        held_out += members[position]
    held_out_set = set(held_out)
    train = [i for i in range(len(dataset)) if i not in held_out_set]
    return Split(np.array(sorted(train), dtype=np.int64), np.array(sorted(held_out), dtype=np.int64))
