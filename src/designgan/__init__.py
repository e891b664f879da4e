"""designgan: turn keywords into design ideas with a keyword-conditioned GAN."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["DesignModel", "Idea", "KeywordError", "load_model", "__version__"]


def __getattr__(name: str) -> Any:
    # The generation API imports torch; loading it lazily keeps `import designgan.data`
    # and the command line's --help fast, and keeps torch out of data worker processes.
    if name in ("DesignModel", "Idea", "KeywordError", "load_model"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'designgan' has no attribute {name!r}")
