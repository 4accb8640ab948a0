"""Frame: one moment of a search, as every view draws it.

A live search and a replayed run differ only in where a Frame comes from (the search's trials
now, or a run's first ``t`` trials with the strategy replayed to ``t``); the views never know
which, so replay shows exactly what the live explorer showed at that step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..spaces import BaseSpace
from ..trial import Trial


@dataclass(frozen=True)
class Frame:
    """``trials`` shown (in the order they finished), the ``space`` they come from, the ``metric``
    ranked by, the strategy's ``population`` (trial ids; None when it keeps none), the per-op
    ``importance`` (an ``OpImportance``, or None with ``importance_note`` saying why), the
    trial ``selected`` in the detail pane (None: follow the best) and the ``strategy`` as
    ``{"name", "params"}`` (as run.json records it), which explanations quote."""

    trials: Sequence[Trial]
    space: BaseSpace
    metric: str = "accuracy"
    population: list[int] | None = None
    importance: Any = None
    importance_note: str = ""
    selected: int | None = None
    strategy: dict[str, Any] | None = None

    def trial(self, trial_id: int | None) -> Trial | None:
        """The shown trial with ``trial_id``, or None."""
        if trial_id is None:
            return None
        if 0 <= trial_id < len(self.trials) and self.trials[trial_id].id == trial_id:
            return self.trials[trial_id]  # ids are positions in a sequential search
        return next((t for t in self.trials if t.id == trial_id), None)

    def best(self) -> Trial | None:
        """The successful trial with the highest metric (ties: the earliest)."""
        best, best_score = None, None
        for trial in self.trials:
            score = trial.score(self.metric)
            if score is not None and (best_score is None or score > best_score):
                best, best_score = trial, score
        return best

    def focus(self) -> Trial | None:
        """The trial the detail pane shows: the selected one, else the best so far."""
        return self.trial(self.selected) or self.best()
