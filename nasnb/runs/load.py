"""Reading a run back: its config, its trials, a DataFrame, and the best trial."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..spaces import BaseSpace, space_from_config
from ..trial import Trial, decision_kind
from .files import RUN_FILE, TRIALS_FILE, RunLogError, read_json, read_trials, report


@dataclass(frozen=True)
class Run:
    """A recorded search, read-only: ``config`` from run.json, ``trials`` in the order they finished.

    A snapshot of the directory when it was loaded; ``load_run`` again to see trials added since.
    """

    path: Path
    config: dict[str, Any]
    trials: tuple[Trial, ...]
    problems: tuple[str, ...] = ()

    @property
    def space(self) -> BaseSpace:
        return space_from_config(self.config["space"])

    @property
    def metric(self) -> str:
        return self.config.get("metric", "accuracy")

    def best(self, metric: str | None = None) -> Trial | None:
        """The successful trial with the highest ``metric`` (ties: the earliest)."""
        return best_trial(self.trials, metric or self.metric)

    def to_dataframe(self):
        """One row per trial: id, step, arch, status, seconds and every scalar metric."""
        return trials_dataframe(self.trials)

    def strategy_at(self, step: int | None = None):
        """The strategy as it was after ``step`` trials had been told (replayed from the log)."""
        from .replay import replay

        return replay(self, upto=step)

    def __len__(self) -> int:
        return len(self.trials)

    def __repr__(self) -> str:
        best = self.best()
        tail = f", best {best.score(self.metric):.4f}" if best else ""
        return f"Run({str(self.path)!r}, {len(self.trials)} trials{tail})"


def load_run(run_dir: str | os.PathLike) -> Run:
    """Load a run directory; a damaged trials line is reported (RunLogWarning) and skipped."""
    path = Path(run_dir)
    if not path.is_dir():
        raise RunLogError(f"run directory {str(path)!r} does not exist")
    config = read_json(path / RUN_FILE)
    log = read_trials(path / TRIALS_FILE)
    report(log.problems)
    return Run(path, config, tuple(log.trials), tuple(log.problems))


def best_trial(trials: Sequence[Trial], metric: str = "accuracy") -> Trial | None:
    best, best_score = None, None
    for trial in trials:
        score = trial.score(metric)
        if score is not None and (best_score is None or score > best_score):
            best, best_score = trial, score
    return best


def trials_dataframe(trials: Sequence[Trial]):
    import pandas as pd

    rows = []
    for t in trials:
        row: dict[str, Any] = {
            "id": t.id,
            "step": t.step,
            "arch": t.arch,
            "status": t.status,
            "kind": decision_kind(t),
            "seconds": t.seconds,
            "error": t.error,
        }
        for k, v in t.metrics.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                row[k] = v
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["id", "step", "arch", "status", "kind", "seconds", "error"])
