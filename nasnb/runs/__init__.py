"""The run log on disk: record (with a writer's lock), load, replay and restore."""

from .files import CHECKPOINT_FILE, RUN_FILE, TRIALS_FILE, RunLogError, RunLogWarning, RunWriter
from .load import Run, best_trial, load_run, trials_dataframe
from .lock import RunLock, RunLocked, current_holder
from .record import RunRecorder
from .replay import fast_forward, replay, strategy_from_config

__all__ = [
    "CHECKPOINT_FILE",
    "RUN_FILE",
    "TRIALS_FILE",
    "Run",
    "RunLogError",
    "RunLock",
    "RunLocked",
    "RunLogWarning",
    "RunRecorder",
    "RunWriter",
    "best_trial",
    "current_holder",
    "fast_forward",
    "load_run",
    "replay",
    "strategy_from_config",
    "trials_dataframe",
]
