"""Print the nearest OpenMoji keyword by meaning for sample words, to choose the similarity threshold.

    python benchmarks/keyword_similarity.py
    python benchmarks/keyword_similarity.py --words kitten automobile happy

Needs the designgan[text] extra and the OpenMoji dataset (built and cached on
first use). Prints one Markdown table row per word: the three nearest keywords
with their cosine similarity, and whether the best one passes the threshold.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from designgan.data import load_or_build_openmoji
from designgan.text_embedding import DEFAULT_SIMILARITY_THRESHOLD, KeywordSimilarity, load_text_encoder

# Synonyms with a keyword in the OpenMoji vocabulary, words whose closest keyword
# is wrong, and nonsense, so the table shows where a threshold separates them.
SAMPLE_WORDS = (
    "kitten kitty kitties lady kid cop dog happy grin music banana rain pizza ocean "
    "automobile car apple glad joyful chair doctor good xqzvb asdf qwerty zzz"
).split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", nargs="+", default=SAMPLE_WORDS, help="Words to look up.")
    parser.add_argument("--threshold", type=float, default=DEFAULT_SIMILARITY_THRESHOLD,
                        help="Cosine similarity (-1..1) at which a word maps to its nearest keyword.")
    args = parser.parse_args()

    vocabulary = load_or_build_openmoji(progress=False).vocabulary
    started = time.perf_counter()
    encoder = load_text_encoder()
    loaded = time.perf_counter()
    similarity = KeywordSimilarity(vocabulary, encoder.encode(vocabulary.keywords), encoder)
    embedded = time.perf_counter()
    print(f"encoder load {loaded - started:.1f} s; {len(vocabulary)} keywords embedded in {embedded - loaded:.1f} s\n")

    print("| word | nearest keywords (cosine) | mapped |")
    print("|---|---|---|")
    scores = encoder.encode(args.words) @ similarity.keyword_embeddings.T  # (words, K)
    for word, row, (keyword, score) in zip(args.words, scores, similarity.nearest(args.words)):
        top = np.argsort(-row)[:3]
        nearest = ", ".join(f"{vocabulary.keywords[i]} {row[i]:.2f}" for i in top)
        mapped = f"{keyword} ({score:.2f})" if score >= args.threshold else "no"
        print(f"| {word} | {nearest} | {mapped} |")


if __name__ == "__main__":
    main()
