"""Explorer: the dashboard that steers a live search, or replays a recorded one step by step.

It wires three parts that know nothing of each other: Controls (what to search, the buttons), a
SearchDriver (buttons as Search calls, in the background) and the Views (drawn from a Frame).
Search events only ask the Throttle for a redraw; the redraw thread builds a Frame and updates
the views, so the search never waits on a plot and the kernel never waits on the search.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..explain.columns import TrialColumns
from ..runs import Run, load_run
from ..search import Search
from ..spaces import BaseSpace
from ..strategies import BaseStrategy
from ..trial import jsonable
from .controls import Controls
from .driver import SearchDriver
from .frame import Frame
from .replay import ReplayBar, ReplayCursor, ReplayImportance
from .text import escaped, number, shorten
from .throttle import Throttle
from .views import Views
from .views.common import WRAPPED

SHOWN_ERRORS = 4
#: the most of its time the redraw thread may spend redrawing: it shares the GIL with the search,
#: so with a near-instant evaluator this is about what watching costs (issue 11: <= 1.05x); slow
#: redraws then come less often, and the last request is always followed by a redraw
REDRAW_DUTY = 0.04
#: a replay has no search to slow down: the slider is followed as closely as redraws allow
REPLAY_DUTY = 0.8
# Pause and Stop differ in what comes next; the status line says so, so they never look the same.
HINTS = {
    "paused": " (held after a finished trial: Start or Step goes on)",
    "stopped": " (stopped: Start continues it, New search starts another)",
    "finished": " (budget spent: New search starts another)",
}


class Explorer:
    """An ipywidgets + bqplot dashboard for a search: a bare ``explorer`` in a cell shows it.

    ``Explorer(search)`` watches and steers an existing Search; without one, the controls
    (pre-set from ``space``, ``strategy``, ``evaluator`` — a callable, ``"trainer"`` or
    ``"table"`` —, ``budget``, ``seed``, ``run_dir``) build it on the first Start or Step.
    ``Explorer.from_run(run_dir)`` replays a recorded run. ``redraw_interval`` is the shortest
    time between two redraws (0.2 s: at most five a second, however fast trials arrive).

    The buttons and ``start()``, ``pause()``, ``step()``, ``stop()`` act in the background and
    return at once; ``wait()`` blocks until the search holds still. Problems (a bad parameter, a
    failing evaluator, a view that cannot draw) appear in the explorer's error line
    (``error_text``) instead of raising, as a button press would.
    """

    def __init__(
        self,
        search: Search | None = None,
        *,
        space: str | BaseSpace = "cell",
        strategy: str | BaseStrategy = "evolution",
        evaluator: Callable[..., Mapping[str, Any]] | str | None = None,
        budget: Any = 50,
        seed: int = 0,
        run_dir: str | os.PathLike | None = None,
        metric: str = "accuracy",
        redraw_interval: float = 0.2,
    ) -> None:
        self._setup(metric if search is None else search.metric, redraw_interval)
        self.controls: Controls | None = Controls(
            space=space,
            strategy=strategy,
            evaluator=evaluator,
            budget=budget,
            seed=seed,
            run_dir=run_dir,
            metric=metric,
        )
        for name, button in self.controls.buttons.items():
            button.on_click(self._button(name))
        self.widget = widgets.VBox([self.controls.widget, self.status, self.errors, self.views.widget])
        self.widget.add_class("nasnb-explorer")
        if search is not None:
            self.attach(search)
        else:
            self.refresh()

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike | Run, *, redraw_interval: float = 0.2) -> Explorer:
        """Replay a recorded run: a slider and a Play button over steps 0..N."""
        run = run_dir if isinstance(run_dir, Run) else load_run(run_dir)
        self = cls.__new__(cls)
        self._setup(run.metric, redraw_interval)
        self.throttle.max_duty = REPLAY_DUTY
        self.controls = None
        self.run = run
        self._columns = TrialColumns(run.metric).extend(run.trials)
        self._cursor = ReplayCursor(run, on_progress=self._replay_grew, idle=self._idle)
        self._importance = ReplayImportance(run, run.metric, on_progress=self._replay_grew, idle=self._idle)
        self.replay = ReplayBar(len(run.trials))
        self.replay.slider.observe(lambda _: self.throttle.request(), names="value")
        self.throttle.start()
        self.widget = widgets.VBox([self.replay.widget, self.status, self.errors, self.views.widget])
        self.widget.add_class("nasnb-explorer")
        self.refresh()
        return self

    def _setup(self, metric: str, redraw_interval: float) -> None:
        self.metric = metric
        self.search: Search | None = None
        self.run: Run | None = None
        self.replay: ReplayBar | None = None
        self.selected: int | None = None
        self.messages: list[str] = []
        self._driver: SearchDriver | None = None
        self._tracker: Any = None
        self._fed = 0
        self._columns = TrialColumns(metric)
        self._ringless: int | None = None  # a replayed step drawn before its population was known
        self._unread: int | None = None  # a replayed step drawn before its importance was known
        self._idle = threading.Event()  # clear while redrawing: the replay threads wait meanwhile
        self._idle.set()
        self._lock = threading.RLock()  # one redraw, selection or (de)attachment at a time
        self.throttle = Throttle(
            self._redraw, redraw_interval, max_duty=REDRAW_DUTY, on_error=lambda err: self._report(f"redraw: {err!r}")
        )
        self.views = Views(self.select, metric, redraw=self.throttle.request)
        self.status = widgets.HTML("")
        self.status.add_class("nasnb-status")
        self.errors = widgets.HTML("")
        self.errors.add_class("nasnb-errors")

    # -- the search ---------------------------------------------------------------------------
    def attach(self, search: Search) -> None:
        """Watch and steer ``search`` (the settings then show it and lock)."""
        self.throttle.start()
        with self._lock:
            self._detach()
            self.search = search
            self._driver = SearchDriver(search, self.throttle.request)
        if self.controls is not None:
            self.controls.show_search(search)
            self.controls.lock(True)
        self.refresh()

    def _detach(self) -> None:
        with self._lock:
            if self._driver is not None:
                self._driver.close()
            self._driver, self.search, self._tracker, self._fed, self.selected = None, None, None, 0, None
            self._columns = TrialColumns(self.metric)

    def start(self) -> None:
        """Run the search in the background until its budget is spent (Start)."""
        self._command(lambda driver: driver.start())

    def step(self, n: int = 1, *, wait: bool = False) -> None:
        """Evaluate ``n`` more trials in the background, then pause (Step); ``wait`` blocks until done."""
        self._command(lambda driver: driver.step(n))
        if wait:
            self.wait()

    def pause(self) -> None:
        """Hold the search after the trial in flight (Pause); Start or Step continue it."""
        if self._driver is not None:
            self._driver.pause()
        self.throttle.request()

    def stop(self, *, wait: bool = False) -> None:
        """Stop the search within about a second (Stop); Start continues it later."""
        if self._driver is not None:
            self._driver.stop(wait=wait)
        self.throttle.request()

    def new_search(self) -> None:
        """Let go of the current search (stopping it) and unlock the settings for another (New search)."""
        if self.controls is None:
            self._report("a replay has no search to replace; use Explorer(...) for a new one")
            return
        if self.search is not None and self.search.state in ("running", "paused"):
            self.search.stop(wait=False)
        previous = self.search.run_dir if self.search is not None else None
        self._detach()
        self.controls.lock(False)
        if previous is not None and self.controls.run_dir.value.strip():
            # the old run owns that folder: a new search there would refuse to start
            self.controls.run_dir.value = str(_free_run_dir(Path(previous)))
        self.messages.clear()
        self.refresh()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the search is paused, stopped or finished, then redraw; False on timeout."""
        done = self._driver.wait(timeout) if self._driver is not None else True
        self.refresh()
        return done

    def _command(self, action: Callable[[SearchDriver], None]) -> None:
        if self.controls is None:
            self._report("this explorer replays a recorded run; it has no search to run")
            return
        try:
            if self.search is not None and self.search.done:
                raise RuntimeError(
                    f"the search has finished ({len(self.search.trials)} trials); New search starts another"
                )
            if self._driver is None:
                self.attach(self.controls.build_search())
            action(self._driver)
        except Exception as err:  # bad settings or a finished search: tell the user where they look
            self._report(f"{type(err).__name__}: {err}")
        else:
            self.messages.clear()  # the last complaint was dealt with
        self.throttle.request()

    def _button(self, name: str) -> Callable[[widgets.Button], None]:
        actions = {
            "start": self.start,
            "pause": self.pause,
            "step": self.step,
            "stop": self.stop,
            "new": self.new_search,
        }

        def clicked(_button: widgets.Button) -> None:
            try:
                actions[name]()
            except Exception as err:  # a button press must never leave a traceback in a log nobody reads
                self._report(f"{name}: {type(err).__name__}: {err}")

        return clicked

    # -- selection and replay -----------------------------------------------------------------
    def select(self, trial_id: int | None) -> None:
        """Show trial ``trial_id`` in the detail pane (None: follow the best trial)."""
        self.selected = None if trial_id is None else int(trial_id)
        with self._lock:
            self.views.show_selection(self._frame(light=True))

    def show_step(self, step: int) -> None:
        """Replay: show the run as it was after ``step`` trials (moves the slider), redrawn now."""
        if self.replay is None:
            raise RuntimeError("show_step() replays a recorded run: use Explorer.from_run(run_dir)")
        self.replay.slider.value = max(0, min(int(step), self.replay.slider.max))
        self._cursor.population_at(self.replay.slider.value, timeout=60.0)  # a cell's output shows it all
        self._importance.at(self.replay.slider.value)
        self.refresh()

    @property
    def step_shown(self) -> int:
        """How many trials the views show (all of a live search's; the slider's in a replay)."""
        if self.replay is not None:
            return self.replay.slider.value
        return len(self.search.trials) if self.search is not None else 0

    # -- drawing ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw every view now, in this thread."""
        self.throttle.flush()

    def _redraw(self) -> None:
        with self._lock:
            self._idle.clear()
            try:
                frame = self._frame()
                for problem in self.views.update(frame):
                    self._report(problem, redraw=False)
                self._show_status(frame)
            finally:
                self._idle.set()

    def _frame(self, light: bool = False) -> Frame:
        if self.run is not None:
            step = self.replay.slider.value
            trials = self.run.trials[:step]
            space, population = self.run.space, self._cursor.population_at(step, wait=False)
            self._ringless = step if population is None and not self._cursor.error else None
            strategy = self.run.config.get("strategy")
            importance, note = (None, "") if light else self._replay_importance(step)
            columns = self._columns.view(step)
        elif self.search is not None:
            trials, space = list(self.search.trials), self.search.space
            self._columns.extend(trials[len(self._columns) :])
            columns = self._columns.view(len(trials))
            population = self._driver.population
            strategy = {"name": self.search.strategy.name, "params": jsonable(self.search.strategy.get_params())}
            importance, note = (None, "") if light else self._live_importance(trials)
        else:
            space = self.controls.space.value if isinstance(self.controls.space.value, BaseSpace) else None
            return Frame([], space or _cell_space(), self.metric, selected=self.selected)
        return Frame(
            trials,
            space,
            self.metric,
            population=population,
            importance=importance,
            importance_note=note,
            selected=self.selected,
            strategy=strategy,
            columns=columns,
        )

    def _live_importance(self, trials: list) -> tuple[Any, str]:
        try:
            from ..explain import ImportanceTracker

            if self._tracker is None:
                self._tracker, self._fed = ImportanceTracker(self.search.space, metric=self.metric), 0
            for trial in trials[self._fed :]:
                self._tracker.update(trial)
            self._fed = len(trials)
            return self._ready(self._tracker.result())
        except Exception as err:  # importance is a bonus: the other views still draw
            return None, f"no importance: {type(err).__name__}: {err}"

    def _replay_importance(self, step: int) -> tuple[Any, str]:
        try:
            result = self._importance.at(step, wait=False)
        except Exception as err:  # e.g. a run of a space this version cannot parse
            return None, f"no importance: {type(err).__name__}: {err}"
        self._unread = step if result is None else None
        if result is None:
            return None, f"importance: reading the run ({self._importance.read:,} of {len(self.run.trials):,} trials)"
        return self._ready(result)

    def _replay_grew(self) -> None:
        """A replay thread knows more: redraw if the step shown was drawn without its ring or importance."""
        ring, unread = self._ringless, self._unread
        if ring is not None and (ring < self._cursor.known or self._cursor.ready_seconds() is not None):
            self.throttle.request()
        elif unread is not None and self._importance.ready(unread):
            self.throttle.request()

    @staticmethod
    def _ready(result: Any) -> tuple[Any, str]:
        if result.n_trials == 0:
            return None, "importance appears once a trial has succeeded"
        return result, f"from {result.n_trials} successful trials ({result.estimator} estimate)"

    def _show_status(self, frame: Frame) -> None:
        best = frame.best()
        tail = f" · best {number(best.score(self.metric))} (trial #{best.id})" if best is not None else ""
        failed = int(frame.columns.failed.sum())
        tail += f" · {failed} failed" if failed else ""
        if self.run is not None:
            head = f"replay of {self.run.path}: step {len(frame.trials)} / {len(self.run.trials)}"
            if self._cursor.error:
                tail += f" · {self._cursor.error}"
            elif self._ringless is not None:
                tail += f" · replaying the strategy for its population ({self._cursor.known:,} steps so far)"
        elif self.search is None:
            head = "no search yet: choose settings, then press Start or Step"
            self._update_buttons("idle")
        else:
            search, current = self.search, self._driver.current
            budget = search.budget.evaluations if search.budget is not None else None
            head = f"{search.state} · {len(frame.trials)}{f' / {budget}' if budget else ''} trials"
            head += HINTS.get(search.state, "")
            if current is not None and search.state in ("running", "paused", "stopping"):
                progress = current.get("progress") or {}
                epoch = f" (epoch {progress['epoch']}/{progress.get('epochs', '?')})" if "epoch" in progress else ""
                tail += f" · evaluating #{current['id']}{epoch}: {shorten(current['arch'], 60)}"
            self._update_buttons(search.state)
        self.status.value = f"<div style='{WRAPPED}'>{escaped(head + tail)}</div>"
        self._show_errors()

    def _update_buttons(self, state: str) -> None:
        if self.controls is None:
            return
        done = state == "finished"
        self.controls.start.disabled = done or state in ("running", "stopping")
        self.controls.step.disabled = done or state == "stopping"
        self.controls.pause.disabled = state != "running"
        self.controls.stop.disabled = state not in ("running", "paused")

    # -- errors -------------------------------------------------------------------------------
    @property
    def error_text(self) -> str:
        """Every problem the explorer is showing (plain text, newest last)."""
        return "\n".join(self._problems())

    def _problems(self) -> list[str]:
        problems = list(self.messages)
        if self._driver is not None:
            problems += self._driver.errors
        if self.search is not None:
            problems += [f"a callback failed: {e}" for e in self.search.callback_errors]
        return problems

    def _report(self, message: str, *, redraw: bool = True) -> None:
        if message not in self.messages:
            self.messages.append(message)
            del self.messages[:-20]
        if redraw:
            self._show_errors()

    def _show_errors(self) -> None:
        problems = self._problems()
        lines = [shorten(p, 300) for p in problems[-SHOWN_ERRORS:]]
        if len(problems) > SHOWN_ERRORS:
            lines.insert(0, f"({len(problems) - SHOWN_ERRORS} earlier problems not shown)")
        self.errors.value = escaped("\n".join(lines), tone="error", pre=True) if lines else ""

    # -- display and lifetime -----------------------------------------------------------------
    @property
    def title(self) -> str:
        """A short name for the side panel's tab: what is searched, or which run is replayed."""
        if self.run is not None:
            return f"Replay of {self.run.path.name}"
        if self.search is not None:
            return f"NAS Explorer: {self.search.space.name} / {self.search.strategy.name}"
        return "NAS Explorer"

    def dock(self, *, title: str | None = None) -> Explorer:
        """Show this explorer in JupyterLab's NAS Explorer side panel too; returns the explorer."""
        from .dock import dock

        return dock(self, title=title)

    def close(self) -> None:
        """Stop listening to the search and stop redrawing (the search itself is left alone)."""
        self.throttle.close()
        if self._driver is not None:
            self._driver.close()
        if self.run is not None:
            self._cursor.close()
            self._importance.close()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        if self.run is not None:
            return f"<Explorer replaying {self.run.path} at step {self.step_shown} of {len(self.run.trials)}>"
        if self.search is None:
            return "<Explorer: no search yet>"
        return f"<Explorer of {self.search!r}>"


def _free_run_dir(previous: Path) -> Path:
    """``runs/demo`` -> ``runs/demo-2`` (or -3, ...): the first sibling folder that does not exist."""
    stem = re.sub(r"-\d+$", "", previous.name)
    for n in range(2, 10_000):
        candidate = previous.with_name(f"{stem}-{n}")
        if not candidate.exists():
            return candidate
    raise RuntimeError(f"no free run folder next to {previous}; type a new run dir")


def _cell_space() -> BaseSpace:
    from ..spaces import CellSpace

    return CellSpace()
