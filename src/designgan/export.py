"""The exported model format: model.safetensors plus config.json, loaded with no pickle.

config.json contains the format version, the architecture (ModelConfig), the keyword
vocabulary with counts, the dataset's synonyms and the training recipe.
model.safetensors contains the EMA generator's weights and batch-norm statistics.
keyword_sets.json contains the distinct keyword sets of the training designs, which
generation uses to complete a user's keywords (see `designgan.keyword_context`).
keyword_embeddings.safetensors, written when the designgan[text] extra is installed,
caches the sentence embeddings of the keywords (see `designgan.text_embedding`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .config import ConfigError, ModelConfig, from_dict, to_dict
from .data.keyword_mapping import Synonyms, synonyms_from_json, synonyms_to_json
from .data.vocabulary import Vocabulary
from .files import atomic_write
from .keyword_context import KEYWORD_SETS_NAME, KeywordSets, KeywordSetsError, read_keyword_sets
from .text_embedding import KEYWORD_EMBEDDINGS_NAME, export_keyword_embeddings

MODEL_FORMAT_VERSION = 1
WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


class ModelFileError(ValueError):
    """A model folder is missing, incomplete or damaged; the message names the file and the fix."""


@dataclass
class ModelFiles:
    """The parsed contents of an exported model folder."""

    path: Path
    model_config: ModelConfig
    vocabulary: Vocabulary | None
    state_dict: dict[str, torch.Tensor]
    config: dict[str, Any]
    sha256: str  # hash of model.safetensors: identifies the weights in recipes
    synonyms: Synonyms = field(default_factory=dict)  # variant -> keywords, from the dataset's synonyms file
    keyword_sets: KeywordSets | None = None  # the training designs' keyword sets; None in older exports


def export_model(out_dir: str | Path, generator: torch.nn.Module, model_config: ModelConfig,
                 vocabulary: Vocabulary | None, recipe: dict[str, Any],
                 synonyms: Mapping[str, Sequence[str]] | None = None, keyword_embeddings: bool = False,
                 keyword_sets: KeywordSets | None = None) -> Path:
    """Write `out_dir/model.safetensors` and `out_dir/config.json`, each atomically.

    synonyms: variant -> keywords from the dataset's synonyms file, which
        generation applies to the words users type.
    keyword_embeddings: also write keyword_embeddings.safetensors when the
        designgan[text] extra is installed. Loading its encoder takes seconds,
        so only `Trainer.export` requests it by default. Either way an older
        file of that name is removed, because it may belong to another vocabulary.
    keyword_sets: the training designs' keyword sets, written as keyword_sets.json;
        None removes an older file of that name for the same reason.
    """
    out_dir = Path(out_dir)
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in generator.state_dict().items()}
    payload = save(tensors, metadata={"format": "designgan-generator", "format_version": str(MODEL_FORMAT_VERSION)})
    atomic_write(out_dir / WEIGHTS_NAME, lambda handle: handle.write(payload))

    config = {
        "format_version": MODEL_FORMAT_VERSION,
        "model": to_dict(model_config),
        "vocabulary": vocabulary.to_dict() if vocabulary is not None else None,
        "synonyms": synonyms_to_json(synonyms or {}),
        "recipe": recipe,
    }
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    atomic_write(out_dir / CONFIG_NAME, lambda handle: handle.write(text.encode("utf-8")))

    if keyword_sets is not None and vocabulary is not None:
        keyword_sets.save(out_dir)
    else:
        (out_dir / KEYWORD_SETS_NAME).unlink(missing_ok=True)
    if keyword_embeddings:
        export_keyword_embeddings(out_dir, vocabulary)
    else:
        (out_dir / KEYWORD_EMBEDDINGS_NAME).unlink(missing_ok=True)
    return out_dir


def read_model_files(path: str | Path) -> ModelFiles:
    """Read and validate an exported model folder (or the path of its config.json or weights)."""
    path = Path(path)
    if path.is_file() and path.name in (WEIGHTS_NAME, CONFIG_NAME):
        path = path.parent
    if not path.exists():
        raise ModelFileError(f"model {path} not found; pass the folder that contains {WEIGHTS_NAME} and {CONFIG_NAME}.")
    if (path / "model" / WEIGHTS_NAME).is_file() and not (path / WEIGHTS_NAME).is_file():
        raise ModelFileError(f"{path} is a run folder; its model is {path / 'model'}.")
    if not path.is_dir():
        raise ModelFileError(f"model {path} is not a folder; pass the folder that contains {WEIGHTS_NAME} and {CONFIG_NAME}.")
    config_path, weights_path = path / CONFIG_NAME, path / WEIGHTS_NAME
    for required in (config_path, weights_path):
        if not required.is_file():
            raise ModelFileError(f"{required} not found; a designgan model folder contains {WEIGHTS_NAME} and {CONFIG_NAME}.")

    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{config_path} is not valid JSON ({error}); export the model again.") from error
    if not isinstance(config, dict):
        raise ModelFileError(f"{config_path} is not a designgan model config (expected a JSON object); export the model again.")
    if config.get("format_version") != MODEL_FORMAT_VERSION:
        found = config.get("format_version")
        raise ModelFileError(f"{config_path} has format_version {found!r}; this designgan reads version {MODEL_FORMAT_VERSION}.")
    try:
        model_config = from_dict(ModelConfig, config["model"]).validate()
        vocabulary = Vocabulary.from_dict(config["vocabulary"]) if config.get("vocabulary") else None
        synonyms = synonyms_from_json(config.get("synonyms"))  # older exports have no "synonyms"
    except (AttributeError, KeyError, TypeError, ValueError, ConfigError) as error:  # AttributeError: "model" is not an object
        raise ModelFileError(f"{config_path} has an invalid model section ({error}); export the model again.") from error
    if model_config.conditional and (vocabulary is None or len(vocabulary) != model_config.num_keywords):
        raise ModelFileError(f"{config_path}: the vocabulary does not match num_keywords={model_config.num_keywords}.")

    try:
        keyword_sets = read_keyword_sets(path, model_config.num_keywords) if vocabulary is not None else None
    except KeywordSetsError as error:
        raise ModelFileError(str(error)) from error

    raw = weights_path.read_bytes()
    try:
        state_dict = load_file(weights_path)
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelFileError(f"{weights_path} cannot be read ({error}); the file is damaged, export or copy it again.") from error
    return ModelFiles(path, model_config, vocabulary, state_dict, config, hashlib.sha256(raw).hexdigest(), synonyms,
                      keyword_sets)
