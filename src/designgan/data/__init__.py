"""Datasets of tagged designs: sources, keyword tokenizer, vocabulary, rendering, storage."""

from designgan.data.cache import default_cache_dir, load_or_build_openmoji, openmoji_cache_path
from designgan.data.dataset import FORMAT_VERSION, DatasetError, DesignDataset
from designgan.data.folder import FolderImportError, ImportSettings, import_folder
from designgan.data.images import ImageSettings, parse_color
from designgan.data.keywords import MULTI_WORD_TERMS, STOP_WORDS, normalize_text, tokenize_keywords
from designgan.data.openmoji import EmojiEntry, build_openmoji_dataset, load_emoji_test
from designgan.data.render import render_svg
from designgan.data.report import BuildReport
from designgan.data.tags import TagFileError
from designgan.data.vocabulary import Vocabulary

__all__ = [
    "FORMAT_VERSION",
    "MULTI_WORD_TERMS",
    "STOP_WORDS",
    "BuildReport",
    "DatasetError",
    "DesignDataset",
    "EmojiEntry",
    "FolderImportError",
    "ImageSettings",
    "ImportSettings",
    "TagFileError",
    "Vocabulary",
    "build_openmoji_dataset",
    "default_cache_dir",
    "import_folder",
    "load_emoji_test",
    "load_or_build_openmoji",
    "normalize_text",
    "openmoji_cache_path",
    "parse_color",
    "render_svg",
    "tokenize_keywords",
]
