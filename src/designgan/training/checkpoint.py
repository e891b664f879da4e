"""Atomic checkpoint files that load with `torch.load(..., weights_only=True)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..files import atomic_write

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT_VERSION = 1


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Save tensors, numbers, strings and nested dicts/lists of them atomically."""
    state = {"format_version": CHECKPOINT_FORMAT_VERSION, **state}
    atomic_write(path, lambda handle: torch.save(state, handle))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found; pass the run folder of a run that saved a checkpoint.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for damaged files
        raise ValueError(f"checkpoint {path} cannot be read ({error}); it is damaged or not a designgan checkpoint.") from error
    version = state.get("format_version") if isinstance(state, dict) else None
    if version != CHECKPOINT_FORMAT_VERSION:
        raise ValueError(f"checkpoint {path} has format version {version!r}; this designgan reads {CHECKPOINT_FORMAT_VERSION}.")
    return state
