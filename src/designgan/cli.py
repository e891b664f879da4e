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
    if out is not None and out.suffix.lower() != ".safetensors":
        fail(f"--out {out} does not end in .safetensors; name the dataset file like {out.with_suffix('.safetensors')}.", 2)
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
    if out.suffix.lower() != ".safetensors":
        fail(f"--out {out} does not end in .safetensors; name the dataset file like {out.with_suffix('.safetensors')}.", 2)
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
    resume: Optional[Path] = typer.Option(None, help="Continue the run in this folder from its last checkpoint (other options except --steps, --max-minutes, --sampling and --mode-seeking are taken from the run)."),
    loss: str = typer.Option("bce", help=f"GAN objective: {', '.join(LOSS_NAMES)}."),
    steps: Optional[int] = typer.Option(None, help="Total generator updates. Default: 10000 (with --resume: the run's own total)."),
    max_minutes: Optional[float] = typer.Option(None, help="Stop after this many minutes of wall-clock time, then save and export; 0 = no limit. Default: 0 (with --resume: the run's own limit, counted from the restart)."),
    batch_size: int = typer.Option(64, help="Images per step and process: under torchrun with N processes a step trains on N x this many; clamped to the dataset size when larger."),
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
    sampling: Optional[str] = typer.Option(None, help="How batches draw designs: uniform, or base-design (each design's variants, such as its skin tones, share one draw, so rare subjects come up more often). Default: uniform (with --resume: the run's own mode)."),
    mode_seeking: Optional[float] = typer.Option(None, help="Weight of the mode-seeking term (Mao et al. 2019), 0..100, which makes two noise vectors with the same keywords give different designs; 0 = off. Needs batches of 2 or more. Default: 0 (with --resume: the run's own weight)."),
    unconditional: bool = typer.Option(False, "--unconditional", help="Ignore keywords and train an unconditional GAN."),
    sample_keywords: List[str] = typer.Option([], help="Keyword set for one row of the sample grids; repeat for more rows. Default: sets of real designs."),
    seed: int = typer.Option(0, help="Random seed for weights, batches, noise and augmentation."),
    sample_every: int = typer.Option(500, help="Steps between sample grids."),
    checkpoint_every: int = typer.Option(500, help="Steps between checkpoints."),
    log_every: int = typer.Option(10, help="Steps between lines in metrics.jsonl."),
    threads: int = typer.Option(0, help="Torch CPU threads; 0 keeps torch's default."),
    channels_last: bool = typer.Option(True, help="Channels-last (NHWC) memory format for both networks: about 10% faster on CPU."),
    reuse_fakes: bool = typer.Option(True, help="Let the generator update score the last critic step's fakes instead of drawing a new batch: saves one generator forward pass per step."),
    device: str = typer.Option("auto", help="Where to train: auto (a CUDA GPU when available, else the CPU), cpu or cuda. Under torchrun each process takes GPU LOCAL_RANK."),
    adam_implementation: str = typer.Option("for-loop", help="Adam update kernels: for-loop (torch's CPU default), foreach or fused; all give the same update up to rounding."),
    compile: bool = typer.Option(False, "--compile/--no-compile", help="torch.compile both networks' training passes; the first steps then take minutes to compile (on CPU it needs a C++ compiler)."),
    joint_critic_pass: bool = typer.Option(False, help="Score real and fake images in one critic pass when the critic has no batch norm (wgan-gp, or --critic-norm spectral/none); no measurable gain on 2 CPU cores."),
    precision: str = typer.Option("fp32", help="fp32, or bf16 to run the forward passes under bfloat16 autocast (for GPUs and CPUs with AMX or AVX512-BF16; on other CPUs bf16 is emulated and slower)."),
    tensorboard: bool = typer.Option(False, help="Also write TensorBoard logs (needs the tensorboard package: pip install 'designgan[tensorboard]')."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide the progress bar and info logs."),
) -> None:
    """Train a keyword-conditioned GAN and export the model to RUN_DIR/model."""
    from .training import Trainer, TrainingDivergedError, read_run_config
    from .training.distributed import broadcast_value, init_distributed, main_process_first, shutdown

    # Under torchrun every process runs this command; rank 0 alone prints and writes.
    try:
        context = init_distributed(device)
    except ValueError as error:
        fail(str(error), 2)
    _setup_logging(quiet or not context.is_main)
    try:
        if resume is not None:
            run_config = read_run_config(resume)
            source = run_config["data"]["source"]
            render = run_config["data"]["render"]
            dataset = main_process_first(context, lambda: load_dataset(
                source, render.get("resolution_px", 64), render.get("min_count", 10), quiet))
            trainer = Trainer.resume(resume, dataset, steps=steps, progress=not quiet, max_minutes=max_minutes,
                                     distributed=context, mode_seeking=mode_seeking,
                                     sampling=sampling)
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
                max_minutes=max_minutes or 0.0, gp_weight=gp_weight, diffaugment=diffaugment, ema_decay=ema_decay,
                sampling=sampling if sampling is not None else "uniform",
                mode_seeking=mode_seeking if mode_seeking is not None else 0.0, conditional=not unconditional, seed=seed, sample_keywords=tuple(sample_keywords),
                sample_every=sample_every, checkpoint_every=checkpoint_every, log_every=log_every,
                threads=threads, tensorboard=tensorboard, channels_last=channels_last,
                reuse_fakes=reuse_fakes, device=device, adam_implementation=adam_implementation, compile=compile,
                joint_critic_pass=joint_critic_pass, precision=precision, **recipe,
            ).validate()
            model_config = ModelConfig(resolution_px=resolution, width=width, latent_dim=latent_dim,
                                       embed_dim=embed_dim, critic_norm=critic_norm or critic_norm_default(loss),
                                       minibatch_std_group=minibatch_std_group)
            if resolution not in (32, 64, 128):
                fail(f"--resolution {resolution} is not supported; use 32, 64 or 128.", 2)
            dataset = main_process_first(context, lambda: load_dataset(data, resolution, min_count, quiet))
            model_config = ModelConfig(**{**model_config.__dict__, "resolution_px": dataset.resolution_px}).validate()
            # The default name is rank 0's clock time, shared so that all ranks agree.
            run_dir = broadcast_value(run_dir or Path("runs") / time.strftime("%Y%m%d-%H%M%S"), context)
            if run_dir.exists() and not run_dir.is_dir():
                fail(f"--run-dir {run_dir} is a file; name a folder for the run.", 2)
            if (run_dir / "config.json").exists() or (run_dir / "checkpoint.pt").exists():
                fail(f"--run-dir {run_dir} already contains a run; continue it with --resume {run_dir} "
                     "or choose a new --run-dir.", 2)
            trainer = Trainer(dataset, model_config, train_config, run_dir,
                              data_source=str(data), progress=not quiet, distributed=context)
        result = trainer.run()
    except (ConfigError, ValueError, FileNotFoundError) as error:
        fail(str(error), 2 if isinstance(error, ConfigError) else 1)
    except typer.Exit:
        raise  # click's Exit is a RuntimeError: let fail() above end the command as intended
    except (TrainingDivergedError, RuntimeError) as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot write the run folder: {error}; choose a writable --run-dir.")
    finally:
        shutdown(context)
    if not context.is_main:
        return
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
    context: bool = typer.Option(True, "--context/--no-context", help="Complete your keywords for each idea with the keyword set of a real training design that shares them (drawn from the idea's seed); --no-context conditions on your keywords alone."),
) -> None:
    """Draw a grid of design ideas for KEYWORDS."""
    from .export import ModelFileError
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
        ideas, resolution = design_model.generate_ideas(" ".join(keywords), n=n, seed=seed, truncation=truncation,
                                                        context=context)
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
        if context and not design_model.context_covers(resolution.known):
            typer.echo(f"note: no training design has all of {', '.join(resolution.known)}; each idea adds the "
                       "keywords of a design that has most of them.", err=True)

    if out is None and out_dir is None:
        out = Path("ideas.png")
    if out is not None:
        from .control.strip import Strip, save_strip

        # The grid carries the recipe of its first idea plus n, so `designgan reproduce` can re-create it.
        parameters: dict = {"n": len(ideas)}
        if any(idea.recipe["keywords"] != ideas[0].recipe["keywords"] for idea in ideas):
            parameters["idea_keywords"] = [idea.recipe["keywords"] for idea in ideas]
        recipe = {**ideas[0].recipe, "operation": "generate", "parameters": parameters,
                  "frames": len(ideas), "columns": columns}
        save_strip(Strip([idea.image for idea in ideas], recipe), out)
        typer.echo(f"wrote {out} ({len(ideas)} ideas; recipe in the PNG and {out.with_suffix('.json').name})")
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


@app.command()
def serve(
    model: Optional[Path] = typer.Option(None, help="Exported model folder. Default: the built-in OpenMoji model."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on. The default accepts connections from this machine only."),
    port: int = typer.Option(8000, help="TCP port, 1..65535."),
    inference_threads: int = typer.Option(1, help="Threads that run the generator (1 or more); each forward pass already uses every CPU core."),
    max_waiting: int = typer.Option(32, help="Requests that may wait for an inference thread (0 or more); one more gets 503 with Retry-After."),
    max_body_bytes: int = typer.Option(64 * 1024, help="Largest request body in bytes (1024 or more); larger ones get 413."),
    cors_origin: List[str] = typer.Option([], help="Browser origin allowed to call the API, such as http://localhost:3000; repeat for more. Default: CORS off."),
    match_by_meaning: bool = typer.Option(True, help="Map unknown words to keywords by meaning when the designgan[text] extra is installed; it loads a sentence encoder at startup and took about 1 s per request with unknown words on 2 busy CPU cores."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Log warnings and errors only, not each request."),
) -> None:
    """Serve the REST API (OpenAPI at /docs) and the browser studio at / for a model."""
    from .export import ModelFileError
    from .pipeline import load_model

    if not 1 <= port <= 65535:
        fail(f"--port {port} is out of range; use 1..65535.", 2)
    try:
        import uvicorn

        from .serve import ServeConfig, create_app
    except ImportError as error:
        fail(f"the HTTP server needs the serve extra; install it with pip install 'designgan[serve]' ({error}).")
    if inference_threads < 1:
        fail(f"--inference-threads {inference_threads} is out of range; use 1 or more.", 2)
    if max_waiting < 0:
        fail(f"--max-waiting {max_waiting} is out of range; use 0 or more.", 2)
    if max_body_bytes < 1024:
        fail(f"--max-body-bytes {max_body_bytes} is out of range; use 1024 or more.", 2)
    try:
        config = ServeConfig(inference_threads=inference_threads, max_waiting=max_waiting,
                             max_body_bytes=max_body_bytes, cors_origins=tuple(cors_origin)).validate()
    except ValueError as error:
        fail(f"--cors-origin: {error}", 2)
    _setup_logging(quiet)
    try:
        design_model = load_model(model) if match_by_meaning else load_model(model, similarity_threshold=None)
    except ModelFileError as error:
        fail(str(error))
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: --host {host} accepts connections from other machines, and the API has no "
                   "authentication; put it behind a proxy that checks who calls it.", err=True)
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    typer.echo(f"designgan studio: {url}/  (API docs: {url}/docs)", err=True)
    # log_config=None keeps the logging set up above, so uvicorn's lines share its format.
    uvicorn.run(create_app(design_model, config), host=host, port=port, log_config=None, access_log=False,
                log_level="warning" if quiet else "info")


# --- Controllable generation: edit, directions, morph, blend, vary, reproduce (designgan.control) ---

MODEL_HELP = "Exported model folder (model.safetensors + config.json). Default: the built-in OpenMoji model."
DATA_HELP = ('Dataset the model was trained on, for the domain classifier: "openmoji" or a dataset file. '
             "Default: the model's own training data when it is OpenMoji.")
ANIMATION_HELP = "Also write the frames as an animation beside the PNG: gif, webp or none."


def _control_model(model: Optional[Path]):
    """Load the model for a control command; matching words by meaning stays on, as in `generate`."""
    from .export import ModelFileError
    from .pipeline import load_model

    try:
        return load_model(model)
    except ModelFileError as error:
        fail(str(error))


def _known_keywords(design_model, text: str, option: str) -> tuple:
    from .control import resolve_known_keywords
    from .pipeline import KeywordError

    try:
        resolution = resolve_known_keywords(design_model, text, option)
    except KeywordError as error:
        fail(str(error), 2)
    for line in resolution.describe_mappings():
        typer.echo(f"note: {line}", err=True)
    return tuple(resolution.known)


def _check_idea_options(seed: int, truncation: float, seed_flag: str = "--seed", truncation_flag: str = "--truncation") -> None:
    from .pipeline import MAX_SEED

    if not 0 <= seed <= MAX_SEED:
        fail(f"{seed_flag} {seed} is out of range; use 0..{MAX_SEED}.", 2)
    if not 0.0 <= truncation <= 1.0:
        fail(f"{truncation_flag} {truncation} is out of range; use 0..1 (1 = no truncation).", 2)


def _check_png_out(out: Path) -> None:
    if out.is_dir() or out.suffix.lower() != ".png":
        fail(f"--out {out} must name a .png file, because the PNG carries the recipe.", 2)


def _check_animation(animation: str) -> Optional[str]:
    from .control import ANIMATION_FORMATS

    if animation == "none":
        return None
    if animation not in ANIMATION_FORMATS:
        fail(f"--animation {animation!r} is invalid; use one of {', '.join(ANIMATION_FORMATS)} or none.", 2)
    return animation


def _model_dataset(design_model, data: Optional[str], quiet: bool):
    """Load the dataset the model was trained on: `--data`, or OpenMoji when the model's recipe names it."""
    trained_on = design_model.files.config.get("recipe", {}).get("data", {})
    render = trained_on.get("render", {})
    if data is None:
        if OPENMOJI not in (trained_on.get("source"), render.get("source")):
            fail(f"the model at {design_model.path} was not trained on OpenMoji; pass the dataset it was trained on "
                 "with --data FILE, for the domain classifier.", 2)
        dataset = load_dataset(OPENMOJI, render.get("resolution_px", design_model.resolution_px),
                               render.get("min_count", 10), quiet)
    else:
        dataset = load_dataset(data, design_model.resolution_px, render.get("min_count", 10), quiet)
    if design_model.vocabulary is not None and tuple(dataset.vocabulary.keywords) != tuple(design_model.vocabulary.keywords):
        fail(f"the dataset's {dataset.num_keywords} keywords differ from the model's {len(design_model.vocabulary)}; "
             "pass the dataset the model was trained on with --data.", 2)
    return dataset


def _classifier_for_dataset(dataset, quiet: bool):
    """Return the domain classifier of a dataset, trained on demand if absent from the cache."""
    from .metrics.classifier import (ClassifierRecipe, classifier_cache_key, classifier_paths, dataset_fingerprint,
                                     load_or_train_classifier)

    weights, _ = classifier_paths(None, classifier_cache_key(dataset_fingerprint(dataset), ClassifierRecipe()))
    if not weights.is_file() and not quiet:
        # Training took about 20 minutes (1,180 s) for the 3,953 OpenMoji designs at 64 px,
        # on 2 CPU cores shared with a GAN training run.
        typer.echo(f"training the domain classifier on {len(dataset)} designs, once: it is cached for later runs", err=True)
    return load_or_train_classifier(dataset, progress=not quiet)


def _domain_classifier(design_model, data: Optional[str], quiet: bool):
    """Return the domain classifier of the model's training data."""
    return _classifier_for_dataset(_model_dataset(design_model, data, quiet), quiet)


def _model_directions(design_model, data: Optional[str], quiet: bool, recompute: bool = False, config=None,
                      cache_dir: Optional[Path] = None):
    """Return the saved directions of the model, computing and saving them first when missing."""
    import torch

    from .control import BoundaryConfig, DirectionsError, compute_directions, find_directions, store_directions
    from .control.directions import conditions_from_labels

    directions = None if recompute else find_directions(design_model, cache_dir)
    if directions is not None:
        return directions
    config = config or BoundaryConfig()
    if not quiet:
        typer.echo(f"computing directions from {config.samples} generated ideas (saved for later runs)", err=True)
    dataset = _model_dataset(design_model, data, quiet)
    classifier = _classifier_for_dataset(dataset, quiet)
    conditions = conditions_from_labels(torch.from_numpy(dataset.labels.astype("float32")), config.conditions, config.seed)
    directions = compute_directions(design_model, classifier, conditions, config)
    try:
        store_directions(design_model, directions, cache_dir)
    except DirectionsError as error:
        fail(str(error))
    return directions


def _write_strip(strip, out: Path, animation: Optional[str] = None, frame_ms: int = 120) -> None:
    from .control import save_strip

    try:
        written = save_strip(strip, out, animation=animation, frame_ms=frame_ms)
    except OSError as error:
        fail(f"cannot write {out}: {error.strerror or error}; choose a writable --out path.")
    typer.echo(f"wrote {', '.join(str(path) for path in written)} ({len(strip.frames)} frames, recipe in the PNG and JSON)")


@app.command("edit")
def edit_command(
    keywords: str = typer.Option(..., "--keywords", "-k", help='Keywords of the idea to edit, e.g. "face".'),
    seed: int = typer.Option(0, help="Seed of the idea (0..2^63-1), as in `designgan generate`."),
    truncation: float = typer.Option(1.0, help="Truncation of the idea: 1 = none, 0 = the average design (range 0..1)."),
    more: List[str] = typer.Option([], help="Keyword whose classifier score the edit raises; repeat for more."),
    less: List[str] = typer.Option([], help="Keyword whose classifier score the edit lowers; repeat for more."),
    method: str = typer.Option("gradient", help="gradient: classifier gradient steps on z, with --penalty on the other keywords; "
                               "direction: along the keyword's linear boundary in z; direction-projected: the same with the "
                               "--keep keywords' directions projected out; sefa: along a label-free direction (--component)."),
    strength: float = typer.Option(0.5, help="Length of the edit in z, in units of sqrt(latent_dim), the typical norm of z: (0, 2]."),
    steps: int = typer.Option(20, help="Steps of the edit, 1..255; the strip shows the idea and each step (steps + 1 frames)."),
    penalty: float = typer.Option(1.0, help="gradient: weight of the mean squared change of the other keywords' logits; 0 turns it off."),
    keep: List[str] = typer.Option([], help="direction-projected: keyword whose direction is projected out; repeat for more. "
                                   "Default: the idea's own keywords whose boundaries are reliable (validation accuracy >= 0.6)."),
    component: int = typer.Option(0, help="sefa: index of the direction, 0 = the strongest; the strip spans -strength..+strength."),
    out: Path = typer.Option(Path("edit.png"), help="Strip to write (PNG); the recipe goes into it and into a .json beside it."),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    data: Optional[str] = typer.Option(None, help=DATA_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide progress and info logs."),
) -> None:
    """Edit one idea toward (--more) or away from (--less) keywords and write the strip of steps."""
    from .control import EDIT_METHODS, MAX_STRENGTH, EditConfig, IdeaSpec, edit
    from .control.edit import MAX_EDIT_STEPS

    _setup_logging(quiet)
    _check_idea_options(seed, truncation)
    if method not in EDIT_METHODS:
        fail(f"--method {method!r} is invalid; use one of {', '.join(EDIT_METHODS)}.", 2)
    if not 0.0 < strength <= MAX_STRENGTH:
        fail(f"--strength {strength} is out of range; use a value in (0, {MAX_STRENGTH}].", 2)
    if not 1 <= steps <= MAX_EDIT_STEPS:
        fail(f"--steps {steps} is out of range; use 1..{MAX_EDIT_STEPS}.", 2)
    if not 0.0 <= penalty < float("inf"):
        fail(f"--penalty {penalty} is out of range; use 0 (off) or a larger finite weight.", 2)
    if method == "sefa" and (more or less):
        fail("--more and --less do not apply to --method sefa; choose a direction with --component.", 2)
    if method != "sefa" and not (more or less):
        fail("nothing to edit; pass --more KEYWORD or --less KEYWORD.", 2)
    if keep and method != "direction-projected":
        fail("--keep applies only to --method direction-projected.", 2)
    if component < 0:
        fail(f"--component {component} is out of range; use 0 or more.", 2)
    _check_png_out(out)

    design_model = _control_model(model)
    idea = IdeaSpec(_known_keywords(design_model, keywords, "--keywords"), seed, truncation)
    more_keywords = tuple(k for text in more for k in _known_keywords(design_model, text, "--more"))
    less_keywords = tuple(k for text in less for k in _known_keywords(design_model, text, "--less"))
    keep_keywords = tuple(k for text in keep for k in _known_keywords(design_model, text, "--keep")) if keep else None
    config = EditConfig(idea, more_keywords, less_keywords, method, strength, steps, penalty, keep=keep_keywords,
                        component=component)

    classifier = directions = None
    if method == "gradient":
        classifier = _domain_classifier(design_model, data, quiet)
    elif method in ("direction", "direction-projected"):
        directions = _model_directions(design_model, data, quiet)
    try:
        strip = edit(design_model, config, classifier=classifier, directions=directions)
    except ValueError as error:  # includes DirectionsError
        fail(str(error), 2)
    _write_strip(strip, out)


@app.command("directions")
def directions_command(
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    data: Optional[str] = typer.Option(None, help=DATA_HELP),
    recompute: bool = typer.Option(False, "--recompute", help="Compute the directions again even if saved ones exist."),
    conditions: int = typer.Option(40, help="Keyword sets of the dataset's designs to draw ideas under, 1..10000."),
    samples_per_condition: int = typer.Option(100, help="Ideas (seeds) per keyword set, 10..100000."),
    seed: int = typer.Option(0, help="Seed of the ideas, the keyword sets and the validation split."),
    cache_dir: Optional[Path] = typer.Option(None, help="Cache folder for directions of models whose folder is read-only (and the built-in one). "
                                             "Default: $DESIGNGAN_CACHE or ~/.cache/designgan."),
    top: int = typer.Option(20, help="Boundaries to list, best validation accuracy first; 0 lists all."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary (accuracies, settings, SeFa shares) as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide progress and info logs."),
) -> None:
    """Compute (once) and list the model's keyword directions in z with their validation accuracies, and its SeFa directions."""
    from .control import BoundaryConfig
    from .control.direction_store import RELIABLE_ACCURACY

    _setup_logging(quiet)
    if not 1 <= conditions <= 10_000:
        fail(f"--conditions {conditions} is out of range; use 1..10000 keyword sets.", 2)
    if not 10 <= samples_per_condition <= 100_000:
        fail(f"--samples-per-condition {samples_per_condition} is out of range; use 10..100000.", 2)
    if top < 0:
        fail(f"--top {top} is out of range; use 0 (all) or more.", 2)
    config = BoundaryConfig(conditions=conditions, samples_per_condition=samples_per_condition, seed=seed)
    design_model = _control_model(model)
    directions = _model_directions(design_model, data, quiet, recompute=recompute, config=config, cache_dir=cache_dir)
    summary = directions.summary()
    if as_json:
        typer.echo(json.dumps({**summary, "path": str(directions.path)}))
        return

    rows = sorted(summary["boundaries"], key=lambda row: -row["val_accuracy"])
    reliable = sum(row["val_accuracy"] >= RELIABLE_ACCURACY for row in rows)
    typer.echo(f"directions: {directions.path}")
    typer.echo(f"{len(rows)} keyword boundaries from {directions.config.samples} ideas; "
               f"{reliable} with validation accuracy >= {RELIABLE_ACCURACY}")
    typer.echo("val_acc  train_acc  keyword")
    for row in rows[: top or len(rows)]:
        typer.echo(f"{row['val_accuracy']:7.3f}  {row['train_accuracy']:9.3f}  {row['keyword']}")
    shares = summary["sefa_variance_share"]
    typer.echo(f"SeFa: {len(shares)} directions; the first 5 carry "
               f"{', '.join(f'{share:.1%}' for share in shares[:5])} of the first layer's response to z")


@app.command("morph")
def morph_command(
    keywords: str = typer.Argument(..., help="Keywords of the first idea."),
    to_keywords: Optional[str] = typer.Argument(None, help="Keywords of the second idea. Default: the first idea's."),
    seed: int = typer.Option(0, help="Seed of the first idea."),
    to_seed: Optional[int] = typer.Option(None, help="Seed of the second idea. Default: --seed."),
    truncation: float = typer.Option(1.0, help="Truncation of the first idea: 1 = none, 0 = the average design."),
    to_truncation: Optional[float] = typer.Option(None, help="Truncation of the second idea. Default: --truncation."),
    steps: int = typer.Option(8, help="Frames of the morph, both ideas included: 2..256."),
    out: Path = typer.Option(Path("morph.png"), help="Strip to write (PNG); the recipe goes into it and into a .json beside it."),
    animation: str = typer.Option("gif", help=ANIMATION_HELP),
    frame_ms: int = typer.Option(120, help="Display time of each animation frame in milliseconds, 10..10000."),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide info logs."),
) -> None:
    """Morph between two ideas (seeds and/or keyword sets): slerp in z, a straight line between keyword embeddings."""
    from .control import IdeaSpec, MorphConfig, morph
    from .control.strip import MAX_FRAMES

    _setup_logging(quiet)
    to_seed = seed if to_seed is None else to_seed
    to_truncation = truncation if to_truncation is None else to_truncation
    _check_idea_options(seed, truncation)
    _check_idea_options(to_seed, to_truncation, "--to-seed", "--to-truncation")
    if not 2 <= steps <= MAX_FRAMES:
        fail(f"--steps {steps} is out of range; use 2..{MAX_FRAMES} frames.", 2)
    if not 10 <= frame_ms <= 10_000:
        fail(f"--frame-ms {frame_ms} is out of range; use 10..10000 milliseconds.", 2)
    animation_format = _check_animation(animation)
    _check_png_out(out)

    design_model = _control_model(model)
    start = IdeaSpec(_known_keywords(design_model, keywords, "KEYWORDS"), seed, truncation)
    end_keywords = start.keywords if to_keywords is None else _known_keywords(design_model, to_keywords, "TO_KEYWORDS")
    end = IdeaSpec(end_keywords, to_seed, to_truncation)
    if start == end:
        fail("both ideas are the same; pass other keywords as TO_KEYWORDS, or --to-seed or --to-truncation.", 2)
    _write_strip(morph(design_model, MorphConfig(start, end, steps)), out, animation_format, frame_ms)


@app.command("blend")
def blend_command(
    keywords: str = typer.Argument(..., help='First concept, e.g. "cat".'),
    to_keywords: str = typer.Argument(..., help='Second concept, e.g. "heart".'),
    steps: int = typer.Option(7, help="Frames of the blend, both concepts included: 2..256."),
    seed: int = typer.Option(0, help="Seed of the idea; z stays fixed while the condition moves."),
    truncation: float = typer.Option(1.0, help="Truncation of the idea: 1 = none, 0 = the average design (range 0..1)."),
    out: Path = typer.Option(Path("blend.png"), help="Strip to write (PNG); the recipe goes into it and into a .json beside it."),
    animation: str = typer.Option("none", help=ANIMATION_HELP),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide info logs."),
) -> None:
    """Blend two concepts in one design: interpolate between two keyword sets' conditions at a fixed z."""
    from .control import BlendConfig, IdeaSpec, blend
    from .control.strip import MAX_FRAMES

    _setup_logging(quiet)
    _check_idea_options(seed, truncation)
    if not 2 <= steps <= MAX_FRAMES:
        fail(f"--steps {steps} is out of range; use 2..{MAX_FRAMES} frames.", 2)
    animation_format = _check_animation(animation)
    _check_png_out(out)

    design_model = _control_model(model)
    if design_model.vocabulary is None:
        fail(f"the model at {design_model.path} is unconditional, so it has no keyword conditions to blend.", 2)
    idea = IdeaSpec(_known_keywords(design_model, keywords, "KEYWORDS"), seed, truncation)
    second = _known_keywords(design_model, to_keywords, "TO_KEYWORDS")
    if set(second) == set(idea.keywords):
        fail(f"both concepts are {', '.join(second)}; pass two different keyword sets.", 2)
    _write_strip(blend(design_model, BlendConfig(idea, second, steps)), out, animation_format)


@app.command("vary")
def vary_command(
    keywords: str = typer.Argument(..., help="Keywords of the idea."),
    seed: int = typer.Option(0, help="Seed of the idea."),
    n: int = typer.Option(7, "-n", "--n", help="Variations after the idea itself, 1..255."),
    radius: float = typer.Option(0.3, help="Size of the perturbation: its standard deviation per z coordinate (the prior's is 1), "
                                 "in (0, 2]; about atan(radius) away, so 0.3 is about 17 degrees."),
    truncation: float = typer.Option(1.0, help="Pull the idea and its variations toward the average design: 1 = none, 0 = fully."),
    variation_seed: Optional[int] = typer.Option(None, help="Seed of the perturbations. Default: --seed."),
    columns: Optional[int] = typer.Option(None, help="Frames per row. Default: one row."),
    out: Path = typer.Option(Path("vary.png"), help="Strip to write (PNG); the recipe goes into it and into a .json beside it."),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide info logs."),
) -> None:
    """Variations ("more like this"): the idea, then N small perturbations of its z at --radius."""
    from .control import IdeaSpec, VariationConfig, variations
    from .control.variations import MAX_RADIUS
    from .pipeline import MAX_SEED

    _setup_logging(quiet)
    _check_idea_options(seed, truncation)
    if not 1 <= n <= 255:
        fail(f"-n {n} is out of range; ask for 1..255 variations.", 2)
    if not 0.0 < radius <= MAX_RADIUS:
        fail(f"--radius {radius} is out of range; use a value in (0, {MAX_RADIUS}].", 2)
    if variation_seed is not None and not 0 <= variation_seed <= MAX_SEED:
        fail(f"--variation-seed {variation_seed} is out of range; use 0..{MAX_SEED}.", 2)
    if columns is not None and columns < 1:
        fail(f"--columns {columns} is out of range; use 1 or more.", 2)
    _check_png_out(out)

    design_model = _control_model(model)
    idea = IdeaSpec(_known_keywords(design_model, keywords, "KEYWORDS"), seed, truncation)
    _write_strip(variations(design_model, VariationConfig(idea, n, radius, variation_seed, columns)), out)


@app.command("reproduce")
def reproduce_command(
    file: Path = typer.Argument(..., help="PNG written by designgan (generate, edit, morph, blend or vary), or its .json recipe."),
    out: Optional[Path] = typer.Option(None, help="Also write the re-created image here (PNG)."),
    model: Optional[Path] = typer.Option(None, help="Model folder to use. Default: the folder named in the recipe."),
    data: Optional[str] = typer.Option(None, help="For gradient and direction edits: " + DATA_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide progress and info logs."),
) -> None:
    """Re-create an output from its recipe and compare it with the file pixel by pixel (exit 1 when they differ)."""
    import hashlib

    from .control import RecipeError, compare_pixels, find_directions, read_recipe, reproduce
    from .control.reproduce import needs_classifier, needs_directions

    _setup_logging(quiet)
    if out is not None:
        _check_png_out(out)
    try:
        recipe = read_recipe(file)
    except RecipeError as error:
        fail(str(error), 2)
    if model is None:
        model = Path(recipe.get("model") or "missing")
        if not model.is_dir():
            # Recipes of the built-in model name the package folder of the install that made them.
            builtin = _builtin() / "model.safetensors"
            if not (builtin.is_file() and hashlib.sha256(builtin.read_bytes()).hexdigest() == recipe["model_sha256"]):
                fail(f"the model folder {recipe.get('model')!r} in the recipe of {file} is missing; pass it with --model.", 2)
            model = _builtin()
    design_model = _control_model(model)

    classifier = _domain_classifier(design_model, data, quiet) if needs_classifier(recipe) else None
    directions = find_directions(design_model) if needs_directions(recipe) else None
    try:
        reproduction = reproduce(design_model, recipe, classifier=classifier, directions=directions)
    except RecipeError as error:
        fail(str(error))
    if out is not None:
        reproduction.image.save(out)
        typer.echo(f"wrote {out}")
    image_file = file.with_suffix(".png") if file.suffix.lower() == ".json" else file
    if not image_file.is_file():
        typer.echo(f"re-created the {recipe.get('operation', 'generate')} recipe of {file}; no {image_file} to compare with")
        return
    try:
        differing, total = compare_pixels(image_file, reproduction.image)
    except RecipeError as error:
        fail(str(error))
    if differing:
        fail(f"{image_file}: {differing} of {total} pixels differ from the re-created image.")
    typer.echo(f"{image_file}: identical, all {total} pixels re-created from the recipe")


@app.command("evaluate")
def evaluate_command(
    model: Optional[Path] = typer.Option(None, help="Exported model folder. Default: the built-in OpenMoji model."),
    data: str = typer.Option(OPENMOJI, help='The model\'s training data: "openmoji" (the built-in set) or a dataset file from `designgan data`.'),
    out: Path = typer.Option(Path("evaluation"), help="Folder for report.json and report.html."),
    samples: int = typer.Option(2000, help="Generated images to evaluate, 10..100000."),
    seed: int = typer.Option(0, help="Seed of the keyword sets drawn, the noise (image i uses seed + i) and every random subset."),
    real_samples: int = typer.Option(0, help="Train-split designs in the real reference; 0 = the whole train split."),
    truncation: float = typer.Option(1.0, help="Noise truncation of the generator, 0..1 (1 = none)."),
    inception_weights: Optional[Path] = typer.Option(None, help="Inception-v3 weights file (torch-fidelity's pt_inception-2015-12-05 .pth) for torchmetrics FID/KID; skipped when absent. Nothing is downloaded."),
    cache_dir: Optional[Path] = typer.Option(None, help="Cache of domain classifiers and real features. Default: $DESIGNGAN_CACHE or ~/.cache/designgan."),
    min_count: Optional[int] = typer.Option(None, help="For --data openmoji: keep keywords used by at least this many designs. Default: the value the model was trained with, else 10."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Hide progress bars and info logs."),
) -> None:
    """Measure a model's quality, keyword adherence, diversity and novelty; write report.json and report.html."""
    from .export import ModelFileError
    from .metrics.evaluate import MAX_SAMPLES, MIN_SAMPLES, EvaluationConfig, evaluate_model
    from .metrics.report import summary_lines, write_report
    from .metrics.sampling import ModelSampler
    from .pipeline import MAX_SEED, load_model

    _setup_logging(quiet)
    if not MIN_SAMPLES <= samples <= MAX_SAMPLES:
        fail(f"--samples {samples} is out of range; use {MIN_SAMPLES}..{MAX_SAMPLES}.", 2)
    if not 0 <= seed <= MAX_SEED - MAX_SAMPLES:
        fail(f"--seed {seed} is out of range; use 0..{MAX_SEED - MAX_SAMPLES}.", 2)
    if real_samples != 0 and real_samples < MIN_SAMPLES:
        fail(f"--real-samples {real_samples} is out of range; use 0 (the whole train split) or at least {MIN_SAMPLES}.", 2)
    if not 0.0 <= truncation <= 1.0:
        fail(f"--truncation {truncation} is out of range; use 0..1 (1 = no truncation).", 2)
    if out.exists() and not out.is_dir():
        fail(f"--out {out} is a file; name a folder for the report.", 2)
    if cache_dir is not None and cache_dir.exists() and not cache_dir.is_dir():
        fail(f"--cache-dir {cache_dir} is a file; name a folder for the cache.", 2)
    try:
        design_model = load_model(model, similarity_threshold=None)
    except ModelFileError as error:
        fail(str(error))
    trained_on = design_model.files.config.get("recipe", {}).get("data", {}).get("render", {})
    if min_count is not None and min_count < 1:
        fail(f"--min-count {min_count} is out of range; use 1 or more.", 2)
    dataset = load_dataset(data, trained_on.get("resolution_px", design_model.resolution_px),
                           min_count if min_count is not None else trained_on.get("min_count", 10), quiet)

    config = EvaluationConfig(samples=samples, seed=seed, real_samples=real_samples, truncation=truncation,
                              inception_weights=str(inception_weights) if inception_weights else None,
                              cache_dir=str(cache_dir) if cache_dir else None)
    try:
        evaluation = evaluate_model(ModelSampler(design_model, truncation), dataset, config, progress=not quiet)
        json_path, html_path = write_report(evaluation, out)
    except ValueError as error:
        fail(str(error), 2)
    except OSError as error:
        fail(f"cannot write the report or the cache: {error}; choose a writable --out or --cache-dir.")
    for line in summary_lines(evaluation.report):
        typer.echo(line)
    for warning in evaluation.warnings:
        typer.echo(f"WARNING: {warning}", err=True)
    typer.echo(f"wrote {json_path} and {html_path}")


def _builtin() -> Path:
    from .pipeline import builtin_model_path

    return builtin_model_path()


def main() -> None:
    """Run the CLI; a mistyped option or value gets one error line, like every other error."""
    try:
        from typer._click import exceptions as cli_errors  # Typer 0.2x ships its own copy of click
    except ImportError:
        from click import exceptions as cli_errors

    try:
        code = app(prog_name="designgan", standalone_mode=False)
    except cli_errors.NoArgsIsHelpError as error:
        typer.echo(error.ctx.get_help() if error.ctx else str(error))
        code = 2
    except cli_errors.UsageError as error:
        command = error.ctx.command_path if error.ctx else "designgan"
        typer.echo(f"error: {error.format_message()} (see `{command} --help`)", err=True)
        code = 2
    except typer.Abort:
        typer.echo("aborted.", err=True)
        code = 130
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    sys.exit(main())
