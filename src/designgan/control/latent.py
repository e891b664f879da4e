"""Points in the generator's input space: noise z plus the keyword embedding.

The generator's first layer receives `cat(z, embedding(keywords))` (see
`Generator.condition`). Every control operation moves one or both parts of that
vector and renders the result, so the helpers here build the two parts from an
idea (keywords, seed, truncation) and render them the same way `DesignModel.render`
does: one image per forward pass, so the pixels do not depend on the batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from ..images import float_to_uint8
from ..pipeline import DesignModel, KeywordError, KeywordResolution


@dataclass(frozen=True)
class IdeaSpec:
    """One idea, as `designgan generate` draws it: vocabulary keywords, a seed and a truncation."""

    keywords: tuple[str, ...]  # known vocabulary keywords; empty for an unconditional model
    seed: int
    truncation: float = 1.0  # 1 = the full prior, 0 = the average design for the keywords

    def to_dict(self) -> dict:
        return {"keywords": list(self.keywords), "seed": self.seed, "truncation": self.truncation}


def resolve_known_keywords(model: DesignModel, text: str | Sequence[str], option: str = "keywords") -> KeywordResolution:
    """Map the user's words onto the vocabulary, raising KeywordError on any unknown word.

    Unlike `generate`, which warns and skips unknown words, control commands reject
    them: an edit toward a word the model does not know would silently do nothing.
    Words mapped by plural, synonym or meaning are accepted; `describe_mappings()`
    of the result lists them. `option` names the argument in the message (for example "--more").
    """
    resolution = model.resolve_keywords(text)
    if model.vocabulary is None:
        return resolution
    if resolution.unknown:
        word, close = next(iter(resolution.unknown.items()))
        hint = f"closest known: {', '.join(close)}" if close else "no close match"
        raise KeywordError(f"unknown keyword {word!r} in {option} ({hint}); "
                           "run `designgan keywords` to list the vocabulary.")
    if not resolution.known:
        raise KeywordError(f"{option} contains no keyword; pass at least one word from `designgan keywords`.")
    return resolution


def keyword_embedding(model: DesignModel, keywords: Sequence[str]) -> torch.Tensor | None:
    """Return the generator's keyword embedding (embed_dim,) of a keyword set, or None if unconditional."""
    embedding = model.generator.embedding
    if embedding is None:
        return None
    with torch.no_grad():
        return embedding(model.keyword_vector(list(keywords)))[0]


def stack_inputs(z: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
    """Concatenate noise (B, latent_dim) and embeddings (B, embed_dim) into generator inputs (B, F)."""
    if embedding is None:
        return z
    return torch.cat([z, embedding], dim=1)


def synthesize(model: DesignModel, z: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
    """Differentiable images (B, 3, R, R) in [-1, 1] for z (B, latent_dim) and embeddings (B, embed_dim)."""
    return model.generator.forward_input(stack_inputs(z, embedding))


@torch.no_grad()
def render_inputs(model: DesignModel, z: torch.Tensor, embedding: torch.Tensor | None) -> list[Image.Image]:
    """Render each row of z (B, latent_dim) with its embedding (B, embed_dim) or a shared one (embed_dim,).

    Each image is drawn in a batch of one, as `DesignModel.render` does, so an edit,
    morph or blend frame at its endpoint is bit-identical to the generated idea.
    """
    images = []
    for i in range(len(z)):
        row_embedding = None
        if embedding is not None:
            row_embedding = (embedding if embedding.dim() == 1 else embedding[i])[None].to(model.device)
        output = synthesize(model, z[i][None].to(model.device), row_embedding)
        images.append(Image.fromarray(float_to_uint8(output)[0]))
    return images


def module_sha256(module: torch.nn.Module) -> str:
    """Return a SHA-256 of a module's parameters and buffers (names, dtypes, shapes and bytes).

    Recipes store it for the classifier that guided an edit, so that `reproduce`
    can tell a different classifier from a damaged image.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        data = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{data.dtype}:{tuple(data.shape)};".encode())
        digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes() if data.numel() else b"")
    return digest.hexdigest()
