"""The run log on disk: write, load, replay and resume."""

from .files import CHECKPOINT_FILE, RUN_FILE, TRIALS_FILE, RunLogError, RunLogWarning, RunWriter
from .load import Run, best_trial, load_run, trials_dataframe
from .replay import fast_forward, replay, strategy_from_config

__all__ = [
    "CHECKPOINT_FILE",
    "RUN_FILE",
    "TRIALS_FILE",
    "Run",
    "RunLogError",
    "RunLogWarning",
    "RunWriter",
    "best_trial",
    "fast_forward",
    "load_run",
    "replay",
    "strategy_from_config",
    "trials_dataframe",
]
