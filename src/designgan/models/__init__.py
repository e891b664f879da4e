"""Generator and critic networks."""

from .conditioning import KeywordEmbedding, normalize_multi_hot
from .critic import Critic
from .generator import Generator

__all__ = ["Critic", "Generator", "KeywordEmbedding", "normalize_multi_hot"]
