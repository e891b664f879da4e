"""designgan: turn keywords into design ideas with a keyword-conditioned GAN."""

__version__ = "0.1.0"

from .pipeline import DesignModel, Idea, KeywordError, load_model  # noqa: E402

__all__ = ["DesignModel", "Idea", "KeywordError", "load_model", "__version__"]
