"""The `designgan` command line: a thin layer over the library."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

from .config import LOSS_NAMES, ConfigError, ModelConfig, TrainConfig, critic_norm_default, loss_defaults

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="designgan: turn keywords into design ideas with a keyword-conditioned GAN.")
data_app = typer.Typer(no_args_is_help=True, help="Build training datasets.")
app.add_typer(data_app, name="data")

OPENMOJI = "openmoji"


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error to stderr and exit with `code`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s")


@data_app.command("openmoji")
def data_openmoji(
    out: Optional[Path] = typer.Option(None, help="Dataset file to write (.safetensors). Default: the cache file that `train --data openmoji` reads."),
    resolution: int = typer.Option(64, help="Side of the rendered images in pixels: 32, 64 or 128."),
    min_count: int = typer.Option(10, help="Keep keywords used by at least this many designs."),
    workers: Optional[int] = typer.Option(None, help="Render processes. Default: one per CPU core."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide the progress bar."),
) -> None:
    """Render the OpenMoji emoji set (CC BY-SA 4.0) into a training dataset file."""
    from .data import build_openmoji_dataset, openmoji_cache_path

    if resolution not in (32, 64, 128):
        fail(f"--resolution {resolution} is not supported; use 32, 64 or 128.", 2)
    if min_count < 1:
        fail(f"--min-count {min_count} is out of range; use 1 or more.", 2)
    dataset, report = build_openmoji_dataset(resolution_px=resolution, min_count=min_count, workers=workers,
                                             progress=not quiet)
    path = dataset.save(out if out is not None else openmoji_cache_path(resolution, min_count))
    typer.echo(report.summary())
    typer.echo(f"wrote {path}")


@data_app.command("import")
def data_import(
    folder: Path = typer.Argument(..., help="Folder of images: PNG, JPEG, WebP, GIF, BMP, TIFF or SVG, in any letter case."),
    out: Path = typer.Option(..., help="Dataset file to write (.safetensors), outside FOLDER. import_report.json and an import cache go beside it."),
    resolution: int = typer.Option(64, help="Side of the square images in pixels: 32, 64 or 128."),
    fit: str = typer.Option("pad", help="Non-square images: pad (keep all, fill with --background), crop (centre square) or stretch."),
    background: str = typer.Option("#ffffff", help='Colour behind transparency and padding: "#rrggbb", "r,g,b" (0..255) or a CSS name.'),
    tags: str = typer.Option("auto", help="Keyword source: metadata (metadata.csv/.jsonl), sidecar (NAME.txt), folders (subfolder names), none, or auto (the first of these that exists)."),
    min_count: int = typer.Option(10, help="Keep keywords used by at least this many imported images."),
    synonyms: Optional[Path] = typer.Option(None, help='File of lines "cat: kitty, kitten" mapping the tags on the right to the keyword on the left.'),
    stop_words: List[str] = typer.Option([], help="Extra words to drop from tags, comma-separated. Repeat the option for more."),
    recursive: bool = typer.Option(True, "--recursive/--no-recursive", help="Also import images in subfolders."),
    max_pixels: int = typer.Option(64_000_000, help="Reject images with more pixels than this (width x height), read from the header before decoding."),
    workers: Optional[int] = typer.Option(None, help="Decoding processes. Default: one per CPU core."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide the progress bar."),
) -> None:
    """Import a folder of tagged images into a dataset file for `designgan train --data`."""
    from .data import FolderImportError, ImportSettings, TagFileError, import_folder, parse_color
    from .data.images import FIT_MODES, RESOLUTIONS_PX
    from .data.report import REPORT_FILE_NAME
    from .data.tags import TAG_SOURCES

    if resolution not in RESOLUTIONS_PX:
        fail(f"--resolution {resolution} is not supported; use 32, 64 or 128.", 2)
    if fit not in FIT_MODES:
        fail(f"--fit {fit!r} is invalid; use one of {', '.join(FIT_MODES)}.", 2)
    if tags not in TAG_SOURCES:
        fail(f"--tags {tags!r} is invalid; use one of {', '.join(TAG_SOURCES)}.", 2)
    if min_count < 1:
        fail(f"--min-count {min_count} is out of range; use 1 or more.", 2)
    if max_pixels < resolution * resolution:
        fail(f"--max-pixels {max_pixels} is out of range; use at least {resolution * resolution} (one output image).", 2)
    if workers is not None and workers < 1:
        fail(f"--workers {workers} is out of range; use 1 or more.", 2)
    try:
        background_rgb = parse_color(background)
    except ValueError as error:
        fail(f"--background: {error}", 2)
    if synonyms is not None and not synonyms.is_file():
        fail(f"--synonyms {synonyms}: file not found.", 2)

    settings = ImportSettings(
        resolution_px=resolution, fit=fit, background=background_rgb, max_pixels=max_pixels, min_count=min_count,
        tags=tags, synonyms=synonyms, recursive=recursive, workers=workers,
        stop_words=tuple(word.strip() for option in stop_words for word in option.split(",") if word.strip()),
    )
    if out.is_dir():
        fail(f"--out {out} is a folder; name a dataset file such as {out / 'designs.safetensors'}.", 2)
    try:
        report = import_folder(folder, out, settings, progress=not quiet)
    except (FolderImportError, TagFileError) as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot write the dataset {out}: {error.strerror or error}; choose a writable --out path.")
    typer.echo(report.summary())
    typer.echo(f"wrote {out} (report: {out.parent / REPORT_FILE_NAME})")
    if report.designs and report.keywords == 0 and report.settings.get("tags") != "none":
        typer.echo(f"warning: no keyword is used by --min-count {min_count} images; lower it, "
                   "or train with --unconditional.", err=True)


def load_dataset(data: str, resolution: int, min_count: int, quiet: bool):
    """Load `--data`: the word "openmoji" (built and cached on first use) or a dataset file."""
    from .data import DatasetError, DesignDataset, load_or_build_openmoji

    if data == OPENMOJI:
        return load_or_build_openmoji(resolution_px=resolution, min_count=min_count, progress=not quiet)
    try:
        return DesignDataset.load(
            data, mmap=True,
            rebuild_hint="Build a dataset with `designgan data import FOLDER --out FILE` or `designgan data openmoji --out FILE`",
        )
    except DatasetError as error:
        fail(str(error))


@app.command()
def train(
    data: str = typer.Option(OPENMOJI, help='Training data: "openmoji" (the built-in set, rendered on first use) or a dataset file from `designgan data`.'),
    run_dir: Optional[Path] = typer.Option(None, help="Run folder for config, samples, metrics, checkpoints and the exported model. Default: runs/<date-time>."),
    resume: Optional[Path] = typer.Option(None, help="Continue the run in this folder from its last checkpoint (other options except --steps are taken from the run)."),
    loss: str = typer.Option("bce", help=f"GAN objective: {', '.join(LOSS_NAMES)}."),
    steps: Optional[int] = typer.Option(None, help="Total generator updates. Default: 10000 (with --resume: the run's own total)."),
    max_minutes: float = typer.Option(0.0, help="Stop after this many minutes of wall-clock time, then save and export; 0 = no limit."),
    batch_size: int = typer.Option(64, help="Images per step; clamped to the dataset size when larger."),
    resolution: int = typer.Option(64, help="Image side in pixels for --data openmoji: 32, 64 or 128 (a dataset file fixes its own)."),
    min_count: int = typer.Option(10, help="For --data openmoji: keep keywords used by at least this many designs."),
    width: int = typer.Option(32, help="Base channel count of both networks; the widest layer has 8x (16x at 128 px)."),
    latent_dim: int = typer.Option(128, help="Size of the noise vector z."),
    embed_dim: int = typer.Option(64, help="Size of the learned keyword embedding."),
    critic_norm: Optional[str] = typer.Option(None, help="Critic normalisation: spectral, batch or none. Default: none for wgan-gp, batch otherwise."),
    minibatch_std_group: int = typer.Option(0, help="Images per minibatch-standard-deviation group in the critic (a defence against mode collapse); 0 = off."),
    lr_generator: Optional[float] = typer.Option(None, help="Generator Adam learning rate. Default: 1e-4 for wgan-gp, 2e-4 otherwise."),
    lr_critic: Optional[float] = typer.Option(None, help="Critic Adam learning rate. Default: 1e-4 for wgan-gp, 2e-4 otherwise."),
    n_critic: Optional[int] = typer.Option(None, help="Critic updates per generator update. Default: 5 for wgan-gp, 1 otherwise."),
    gp_weight: float = typer.Option(10.0, help="Weight lambda of the WGAN-GP gradient penalty."),
    diffaugment: str = typer.Option("color,translation,cutout", help='DiffAugment policy applied to real and fake images before the critic; "" turns it off.'),
    ema_decay: float = typer.Option(0.995, help="Per-step decay of the generator's exponential moving average (used for samples and export)."),
    unconditional: bool = typer.Option(False, "--unconditional", help="Ignore keywords and train an unconditional GAN."),
    sample_keywords: List[str] = typer.Option([], help="Keyword set for one row of the sample grids; repeat for more rows. Default: sets of real designs."),
    seed: int = typer.Option(0, help="Random seed for weights, batches, noise and augmentation."),
    sample_every: int = typer.Option(500, help="Steps between sample grids."),
    checkpoint_every: int = typer.Option(500, help="Steps between checkpoints."),
    log_every: int = typer.Option(10, help="Steps between lines in metrics.jsonl."),
    threads: int = typer.Option(0, help="Torch CPU threads; 0 keeps torch's default."),
    tensorboard: bool = typer.Option(False, help="Also write TensorBoard logs (needs the tensorboard package: pip install 'designgan[tensorboard]')."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide the progress bar and info logs."),
) -> None:
    """Train a keyword-conditioned GAN and export the model to RUN_DIR/model."""
    from .training import Trainer, TrainingDivergedError, read_run_config

    _setup_logging(quiet)
    try:
        if resume is not None:
            run_config = read_run_config(resume)
            source = run_config["data"]["source"]
            render = run_config["data"]["render"]
            dataset = load_dataset(source, render.get("resolution_px", 64), render.get("min_count", 10), quiet)
            trainer = Trainer.resume(resume, dataset, steps=steps, progress=not quiet)
            if trainer.step >= trainer.train_config.steps:
                fail(f"the run in {resume} is already at step {trainer.step}, not below --steps "
                     f"{trainer.train_config.steps}; pass a larger --steps to train further.", 2)
        else:
            if loss not in LOSS_NAMES:
                fail(f"--loss {loss!r} is invalid; use one of {', '.join(LOSS_NAMES)}.", 2)
            recipe = loss_defaults(loss)
            for name, value in (("lr_generator", lr_generator), ("lr_critic", lr_critic), ("n_critic", n_critic)):
                if value is not None:
                    recipe[name] = value
            train_config = TrainConfig(
                loss=loss, batch_size=batch_size, steps=steps if steps is not None else 10_000,
                max_minutes=max_minutes, gp_weight=gp_weight, diffaugment=diffaugment, ema_decay=ema_decay,
                conditional=not unconditional, seed=seed, sample_keywords=tuple(sample_keywords),
                sample_every=sample_every, checkpoint_every=checkpoint_every, log_every=log_every,
                threads=threads, tensorboard=tensorboard, **recipe,
            ).validate()
            model_config = ModelConfig(resolution_px=resolution, width=width, latent_dim=latent_dim,
                                       embed_dim=embed_dim, critic_norm=critic_norm or critic_norm_default(loss),
                                       minibatch_std_group=minibatch_std_group)
            if resolution not in (32, 64, 128):
                fail(f"--resolution {resolution} is not supported; use 32, 64 or 128.", 2)
            dataset = load_dataset(data, resolution, min_count, quiet)
            model_config = ModelConfig(**{**model_config.__dict__, "resolution_px": dataset.resolution_px}).validate()
            run_dir = run_dir or Path("runs") / time.strftime("%Y%m%d-%H%M%S")
            if run_dir.exists() and not run_dir.is_dir():
                fail(f"--run-dir {run_dir} is a file; name a folder for the run.", 2)
            if (run_dir / "config.json").exists() or (run_dir / "checkpoint.pt").exists():
                fail(f"--run-dir {run_dir} already contains a run; continue it with --resume {run_dir} "
                     "or choose a new --run-dir.", 2)
            trainer = Trainer(dataset, model_config, train_config, run_dir,
                              data_source=str(data), progress=not quiet)
        result = trainer.run()
    except (ConfigError, ValueError, FileNotFoundError) as error:
        fail(str(error), 2 if isinstance(error, ConfigError) else 1)
    except typer.Exit:
        raise  # click's Exit is a RuntimeError: let fail() above end the command as intended
    except (TrainingDivergedError, RuntimeError) as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot write the run folder: {error}; choose a writable --run-dir.")
    typer.echo(f"trained {result.steps} steps in {result.seconds:.0f} s ({result.images_per_second:.1f} images/s)")
    typer.echo(f"run folder: {result.run_dir}")
    typer.echo(f"model: {result.model_dir}  (try: designgan generate \"KEYWORDS\" --model {result.model_dir})")


@app.command()
def generate(
    keywords: List[str] = typer.Argument(..., help='Keywords, e.g. "smiling cat face"; unknown words are named and skipped.'),
    n: int = typer.Option(16, "-n", "--n", help="Number of ideas, 1..1024."),
    seed: int = typer.Option(0, help="Seed of the first idea (0..2^63-1); idea i uses seed + i."),
    truncation: float = typer.Option(1.0, help="Pull the noise toward the average design: 1 = none, 0 = fully (range 0..1)."),
    out: Optional[Path] = typer.Option(None, help="Grid image to write (PNG). Default: ideas.png unless --out-dir is given."),
    out_dir: Optional[Path] = typer.Option(None, help="Folder for one PNG per idea, each with a JSON recipe beside it."),
    columns: int = typer.Option(8, help="Ideas per row of the grid (1 or more)."),
    model: Optional[Path] = typer.Option(None, help="Exported model folder (model.safetensors + config.json). Default: the built-in OpenMoji model."),
) -> None:
    """Draw a grid of design ideas for KEYWORDS."""
    from .export import ModelFileError
    from .images import make_grid
    from .pipeline import MAX_IDEAS, MAX_SEED, KeywordError, load_model
    from .recipes import save_idea

    if not 1 <= n <= MAX_IDEAS:
        fail(f"-n {n} is out of range; ask for 1..{MAX_IDEAS} ideas.", 2)
    if not 0 <= seed <= MAX_SEED:
        fail(f"--seed {seed} is out of range; use 0..{MAX_SEED}.", 2)
    if not 0.0 <= truncation <= 1.0:
        fail(f"--truncation {truncation} is out of range; use 0..1 (1 = no truncation).", 2)
    if columns < 1:
        fail(f"--columns {columns} is out of range; use 1 or more.", 2)
    if out is not None and (out.is_dir() or out.suffix.lower() != ".png"):
        fail(f"--out {out} must name a .png file (a PNG keeps the recipe); use --out-dir for a folder.", 2)
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        fail(f"--out-dir {out_dir} is a file; name a folder for the ideas.", 2)
    try:
        design_model = load_model(model)
        ideas, resolution = design_model.generate_ideas(" ".join(keywords), n=n, seed=seed, truncation=truncation)
    except ModelFileError as error:
        fail(str(error))
    except KeywordError as error:
        fail(str(error))
    except ValueError as error:
        fail(str(error), 2)
    for line in resolution.describe_mappings():
        typer.echo(f"note: {line}", err=True)
    for line in resolution.describe_unknown():
        typer.echo(f"warning: {line}", err=True)
    if design_model.vocabulary is None:
        typer.echo("note: this model is unconditional; keywords are ignored.", err=True)
    else:
        typer.echo(f"keywords: {', '.join(resolution.known)}")

    import numpy as np

    if out is None and out_dir is None:
        out = Path("ideas.png")
    if out is not None:
        grid = make_grid(np.stack([np.asarray(idea.image) for idea in ideas]), columns=columns)
        out.parent.mkdir(parents=True, exist_ok=True)
        grid.save(out)
        typer.echo(f"wrote {out} ({len(ideas)} ideas)")
    if out_dir is not None:
        for idea in ideas:
            save_idea(idea, out_dir)
        typer.echo(f"wrote {len(ideas)} ideas with recipes to {out_dir}")


@app.command()
def keywords(
    model: Optional[Path] = typer.Option(None, help="Exported model folder. Default: the built-in OpenMoji model."),
    as_json: bool = typer.Option(False, "--json", help="Print the vocabulary as JSON."),
) -> None:
    """List the keywords of a model's vocabulary with the number of training designs for each."""
    from .export import ModelFileError, read_model_files

    try:
        files = read_model_files(model if model is not None else _builtin())
    except ModelFileError as error:
        fail(str(error))
    vocabulary = files.vocabulary
    if vocabulary is None:
        typer.echo("this model is unconditional: it has no keywords.")
        return
    if as_json:
        typer.echo(json.dumps(vocabulary.to_dict()))
        return
    for keyword, count in zip(vocabulary.keywords, vocabulary.counts):
        typer.echo(f"{count:6d}  {keyword}")


def _builtin() -> Path:
    from .pipeline import builtin_model_path

    return builtin_model_path()


def main() -> None:
    app(prog_name="designgan")


if __name__ == "__main__":
    sys.exit(main())
