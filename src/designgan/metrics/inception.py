"""Optional Inception FID and KID through torchmetrics, from weights already on disk.

Inception-v3 scores compare with published GAN results but are a poor fit for 64 px icons,
and their weights are a download of about 100 MB. designgan never downloads them: the
scores are computed only when the user names a weights file that exists, in the format
torch-fidelity reads (`pt_inception-2015-12-05-6726825d.pth`), and torch-fidelity is
installed. Otherwise `inception_scores` returns the reason it skipped them.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)

INCEPTION_BATCH = 64  # images per Inception forward pass; each is resized to 299 x 299 inside


def inception_skip_reason(weights: str | Path | None) -> str | None:
    """Return why Inception FID/KID cannot run, or None when it can."""
    if weights is None:
        return ("Inception FID/KID skipped: no --inception-weights file given, and designgan never downloads "
                "weights; the domain-feature scores above do not need them.")
    if not Path(weights).is_file():
        return f"Inception FID/KID skipped: --inception-weights {weights} not found; pass an existing file."
    if importlib.util.find_spec("torch_fidelity") is None:
        return ("Inception FID/KID skipped: torchmetrics needs the torch-fidelity package for the Inception network "
                "(pip install torch-fidelity; it also installs torchvision).")
    return None


def inception_scores(weights: str | Path | None, real: np.ndarray, generated: np.ndarray, kid_subset_size: int,
                     seed: int) -> dict[str, Any]:
    """Return Inception FID and KID of uint8 images (N, H, W, 3), or {"skipped": reason}.

    seed: seeds torch's global generator, which torchmetrics' KID draws its subsets from;
        the caller's random state is restored afterwards.
    """
    reason = inception_skip_reason(weights)
    if reason is not None:
        return {"skipped": reason}

    # NOTE: this path needs torch-fidelity and real Inception weights, neither of which the
    # test suite installs, so it is exercised only by hand.
    from torchmetrics.image.fid import FrechetInceptionDistance, NoTrainInceptionV3
    from torchmetrics.image.kid import KernelInceptionDistance

    network = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                 feature_extractor_weights_path=str(weights))
    subset_size = min(kid_subset_size, len(real), len(generated))
    fid = FrechetInceptionDistance(feature=network, normalize=False)
    kid = KernelInceptionDistance(feature=network, subset_size=subset_size, normalize=False)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for images, real_flag in ((real, True), (generated, False)):
            for start in range(0, len(images), INCEPTION_BATCH):
                batch = torch.from_numpy(np.ascontiguousarray(images[start:start + INCEPTION_BATCH])).permute(0, 3, 1, 2)
                fid.update(batch, real=real_flag)  # uint8 (B, 3, H, W)
                kid.update(batch, real=real_flag)
        kid_mean, kid_std = kid.compute()
        fid_value = float(fid.compute())
    return {"fid": fid_value, "kid_mean": float(kid_mean), "kid_std": float(kid_std), "kid_subset_size": subset_size,
            "n_real": len(real), "n_generated": len(generated), "seed": seed, "weights": str(weights)}
