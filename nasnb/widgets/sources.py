"""Where the explorer's pictures come from: a live search, or a recorded run replayed step by step.

The explorer draws a ``Frame`` whatever it shows; a source turns its state into one. Both
sources keep a ``TrialColumns`` (the trials as arrays, grown once, viewed at any length) and an
importance estimate, and both say what the status line should tell about them. A live source
owns the ``SearchDriver`` that runs the search in the background; a replay source owns the
cursor and importance readers that replay the run in their own threads, and the slider bar.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from ..explain.columns import TrialColumns
from ..runs import Run
from ..search import Search
from ..trial import jsonable
from .driver import SearchDriver
from .frame import Frame
from .replay import ReplayBar, ReplayCursor, ReplayImportance
from .text import shorten

# Pause and Stop differ in what comes next; the status line says so, so they never look the same.
HINTS = {
    "paused": " (held after a finished trial: Start or Step goes on)",
    "stopped": " (stopped: Start continues it, New search starts another)",
    "finished": " (budget spent: New search starts another)",
}


class ShownImportance(NamedTuple):
    """The importance ``result`` to draw (None: nothing yet) and the ``note`` under the picture."""

    result: Any
    note: str


class StatusText(NamedTuple):
    """A source's part of the status line: the ``head`` it starts with and what it adds at the end (``tail``)."""

    head: str
    tail: str


def importance_note(result: Any) -> ShownImportance:
    """An importance result with the line that goes under its picture (None until a trial succeeded)."""
    if result.n_trials == 0:
        return ShownImportance(None, "importance appears once a trial has succeeded")
    return ShownImportance(result, f"from {result.n_trials} successful trials ({result.estimator} estimate)")


class LiveSource:
    """A search being run: its trials so far, its population and a running importance estimate.

    ``request_redraw`` is what the driver calls on every search event (it only asks for a redraw,
    so the search never waits on a plot).
    """

    def __init__(self, search: Search, metric: str, request_redraw: Callable[[], None]) -> None:
        self.search = search
        self.metric = metric
        self.driver = SearchDriver(search, request_redraw)
        self.columns = TrialColumns(metric)
        self._tracker: Any = None
        self._fed = 0

    def frame(self, selected: int | None, light: bool = False) -> Frame:
        """The search as it is now (``light``: without importance, for a quick re-selection)."""
        trials, space = list(self.search.trials), self.search.space
        self.columns.extend(trials[len(self.columns) :])
        columns = self.columns.view(len(trials))
        population = self.driver.population
        strategy = {"name": self.search.strategy.name, "params": jsonable(self.search.strategy.get_params())}
        importance, note = ShownImportance(None, "") if light else self._importance(trials)
        return Frame(
            trials,
            space,
            self.metric,
            population=population,
            importance=importance,
            importance_note=note,
            selected=selected,
            strategy=strategy,
            columns=columns,
        )

    def _importance(self, trials: list) -> ShownImportance:
        try:
            from ..explain import ImportanceTracker

            if self._tracker is None:
                self._tracker, self._fed = ImportanceTracker(self.search.space, metric=self.metric), 0
            for trial in trials[self._fed :]:
                self._tracker.update(trial)
            self._fed = len(trials)
            return importance_note(self._tracker.result())
        except Exception as err:  # importance is a bonus: the other views still draw
            return ShownImportance(None, f"no importance: {type(err).__name__}: {err}")

    @property
    def state(self) -> str:
        return self.search.state

    def status(self, frame: Frame) -> StatusText:
        """The status line's head (state and trial count) and what it adds after the best score."""
        search, current = self.search, self.driver.current
        budget = search.budget.evaluations if search.budget is not None else None
        head = f"{search.state} · {len(frame.trials)}{f' / {budget}' if budget else ''} trials"
        head += HINTS.get(search.state, "")
        tail = ""
        if current is not None and search.state in ("running", "paused", "stopping"):
            progress = current.get("progress") or {}
            epoch = f" (epoch {progress['epoch']}/{progress.get('epochs', '?')})" if "epoch" in progress else ""
            tail = f" · evaluating #{current['id']}{epoch}: {shorten(current['arch'], 60)}"
        return StatusText(head, tail)

    def problems(self) -> list[str]:
        """What went wrong in the background: failed commands and failed search callbacks."""
        return list(self.driver.errors) + [f"a callback failed: {e}" for e in self.search.callback_errors]

    def close(self) -> None:
        self.driver.close()


class ReplaySource:
    """A recorded run, shown as it was after any step of the slider.

    The strategy's population and the importance estimate at a step are replayed in threads
    that wait while ``idle`` is clear (a redraw is running); when they learn something the step
    shown was drawn without, they call ``request_redraw``.
    """

    def __init__(self, run: Run, request_redraw: Callable[[], None], idle: threading.Event) -> None:
        self.run = run
        self.metric = run.metric
        self._request_redraw = request_redraw
        self.ringless: int | None = None  # a step drawn before its population was known
        self.unread: int | None = None  # a step drawn before its importance was known
        self.columns = TrialColumns(run.metric).extend(run.trials)
        self.cursor = ReplayCursor(run, on_progress=self.grew, idle=idle)
        self.importance = ReplayImportance(run, run.metric, on_progress=self.grew, idle=idle)
        self.bar = ReplayBar(len(run.trials))

    @property
    def step(self) -> int:
        return self.bar.slider.value

    def show_step(self, step: int) -> None:
        """Move the slider to ``step`` and wait (up to a minute) until its population and importance are known."""
        self.bar.slider.value = max(0, min(int(step), self.bar.slider.max))
        self.cursor.population_at(self.bar.slider.value, timeout=60.0)  # a cell's output shows it all
        self.importance.at(self.bar.slider.value)

    def frame(self, selected: int | None, light: bool = False) -> Frame:
        """The run after the slider's step (``light``: without importance)."""
        step = self.step
        trials = self.run.trials[:step]
        population = self.cursor.population_at(step, wait=False)
        self.ringless = step if population is None and not self.cursor.error else None
        strategy = self.run.config.get("strategy")
        importance, note = ShownImportance(None, "") if light else self._importance(step)
        return Frame(
            trials,
            self.run.space,
            self.metric,
            population=population,
            importance=importance,
            importance_note=note,
            selected=selected,
            strategy=strategy,
            columns=self.columns.view(step),
        )

    def _importance(self, step: int) -> ShownImportance:
        try:
            result = self.importance.at(step, wait=False)
        except Exception as err:  # e.g. a run of a space this version cannot parse
            return ShownImportance(None, f"no importance: {type(err).__name__}: {err}")
        self.unread = step if result is None else None
        if result is None:
            return ShownImportance(
                None, f"importance: reading the run ({self.importance.read:,} of {len(self.run.trials):,} trials)"
            )
        return importance_note(result)

    def grew(self) -> None:
        """A replay thread knows more: redraw if the step shown was drawn without its ring or importance."""
        ring, unread = self.ringless, self.unread
        if ring is not None and (ring < self.cursor.known or self.cursor.ready_seconds() is not None):
            self._request_redraw()
        elif unread is not None and self.importance.ready(unread):
            self._request_redraw()

    def status(self, frame: Frame) -> StatusText:
        """The status line's head (which run, which step) and what it adds after the best score."""
        head = f"replay of {self.run.path}: step {len(frame.trials)} / {len(self.run.trials)}"
        tail = ""
        if self.cursor.error:
            tail = f" · {self.cursor.error}"
        elif self.ringless is not None:
            tail = f" · replaying the strategy for its population ({self.cursor.known:,} steps so far)"
        return StatusText(head, tail)

    def problems(self) -> list[str]:
        return []

    def close(self) -> None:
        self.cursor.close()
        self.importance.close()
