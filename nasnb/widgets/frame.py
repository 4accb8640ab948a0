"""Frame: one moment of a search, as every view draws it.

A live search and a replayed run differ only in where a Frame comes from (the search's trials
now, or a run's first ``t`` trials with the strategy replayed to ``t``); the views never know
which, so replay shows exactly what the live explorer showed at that step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..explain.columns import Columns, TrialColumns
from ..spaces import BaseSpace
from ..trial import Trial


@dataclass(frozen=True)
class Frame:
    """``trials`` shown (in the order they finished), the ``space`` they come from, the ``metric``
    ranked by, the strategy's ``population`` (trial ids; None when it keeps none), the per-op
    ``importance`` (an ``OpImportance``, or None with ``importance_note`` saying why), the
    trial ``selected`` in the detail pane (None: follow the best), the ``strategy`` as
    ``{"name", "params"}`` (as run.json records it), which explanations quote, and ``columns``:
    the same trials as arrays (``nasnb.explain.columns``), which the views draw from. The
    explorer passes the prefix of columns it keeps, so a redraw never walks every trial; when
    not given they are computed from ``trials``."""

    trials: Sequence[Trial]
    space: BaseSpace
    metric: str = "accuracy"
    population: list[int] | None = None
    importance: Any = None
    importance_note: str = ""
    selected: int | None = None
    strategy: dict[str, Any] | None = None
    columns: Columns | None = None

    def __post_init__(self) -> None:
        if self.columns is None:
            object.__setattr__(self, "columns", TrialColumns(self.metric).extend(self.trials).view())
        elif len(self.columns) != len(self.trials):
            raise ValueError(f"columns hold {len(self.columns)} trials but the frame shows {len(self.trials)}")

    def trial(self, trial_id: int | None) -> Trial | None:
        """The shown trial with ``trial_id``, or None."""
        position = self.columns.position(trial_id)
        return None if position is None else self.trials[position]

    def best(self) -> Trial | None:
        """The successful trial with the highest metric (ties: the earliest)."""
        position = self.columns.best_position()
        return None if position is None else self.trials[position]

    def focus(self) -> Trial | None:
        """The trial the detail pane shows: the selected one, else the best so far."""
        return self.trial(self.selected) or self.best()
