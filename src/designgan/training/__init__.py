"""Training loop, EMA, checkpoints and sample grids."""

from .trainer import Trainer, TrainingDivergedError, TrainResult, read_run_config

__all__ = ["Trainer", "TrainResult", "TrainingDivergedError", "read_run_config"]
