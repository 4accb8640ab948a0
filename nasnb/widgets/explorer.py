"""Explorer: the dashboard that steers a live search, or replays a recorded one step by step.

It wires parts that know nothing of each other: Controls (what to search, the buttons), a source
of frames (``sources``: a live search behind a SearchDriver, or a recorded run replayed) and the
Views (drawn from a Frame). Search events only ask the Throttle for a redraw; the redraw thread
asks the source for a Frame and updates the views, so the search never waits on a plot and the
kernel never waits on the search.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets

from ..runs import Run, load_run
from ..search import Search
from ..spaces import BaseSpace
from ..strategies import BaseStrategy
from .controls import Controls
from .driver import SearchDriver
from .frame import Frame
from .replay import ReplayBar
from .sources import HINTS, LiveSource, ReplaySource
from .status import SHOWN_ERRORS, ProblemLine, status_html
from .throttle import Throttle
from .views import Views

__all__ = ["HINTS", "REDRAW_DUTY", "REPLAY_DUTY", "SHOWN_ERRORS", "Explorer"]

#: the most of its time the redraw thread may spend redrawing: it shares the GIL with the search,
#: so with a near-instant evaluator this is about what watching costs (issue 11: <= 1.05x); slow
#: redraws then come less often, and the last request is always followed by a redraw
REDRAW_DUTY = 0.04
#: a replay has no search to slow down: the slider is followed as closely as redraws allow
REPLAY_DUTY = 0.8


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
        self._source = ReplaySource(run, self.throttle.request, self._idle)
        self.replay.slider.observe(lambda _: self.throttle.request(), names="value")
        self.throttle.start()
        self.widget = widgets.VBox([self.replay.widget, self.status, self.errors, self.views.widget])
        self.widget.add_class("nasnb-explorer")
        self.refresh()
        return self

    def _setup(self, metric: str, redraw_interval: float) -> None:
        self.metric = metric
        self.selected: int | None = None
        self.problem_line = ProblemLine()
        self.messages = self.problem_line.messages  # the explorer's own complaints, newest last
        self._source: LiveSource | ReplaySource | None = None  # what the views show, swapped whole
        self._idle = threading.Event()  # clear while redrawing: the replay threads wait meanwhile
        self._idle.set()
        self._lock = threading.RLock()  # one redraw, selection or (de)attachment at a time
        self.throttle = Throttle(
            self._redraw, redraw_interval, max_duty=REDRAW_DUTY, on_error=lambda err: self._report(f"redraw: {err!r}")
        )
        self.views = Views(self.select, metric, redraw=self.throttle.request)
        self.status = widgets.HTML("")
        self.status.add_class("nasnb-status")
        self.errors = self.problem_line.widget

    @property
    def search(self) -> Search | None:
        """The search this explorer watches and steers (None before one exists, and in a replay)."""
        source = self._source
        return source.search if isinstance(source, LiveSource) else None

    @property
    def run(self) -> Run | None:
        """The recorded run this explorer replays (None for a live explorer)."""
        source = self._source
        return source.run if isinstance(source, ReplaySource) else None

    @property
    def replay(self) -> ReplayBar | None:
        """The replay's slider, Play button and speed (None for a live explorer)."""
        source = self._source
        return source.bar if isinstance(source, ReplaySource) else None

    @property
    def _driver(self) -> SearchDriver | None:
        source = self._source
        return source.driver if isinstance(source, LiveSource) else None

    # -- the search ---------------------------------------------------------------------------
    def attach(self, search: Search) -> None:
        """Watch and steer ``search`` (the settings then show it and lock)."""
        self.throttle.start()
        with self._lock:
            self._detach()
            self._source = LiveSource(search, self.metric, self.throttle.request)
        if self.controls is not None:
            self.controls.show_search(search)
            self.controls.lock(True)
        self.refresh()

    def _detach(self) -> None:
        with self._lock:
            if self._driver is not None:
                self._driver.close()
            self._source, self.selected = None, None

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
        if previous is not None:  # the old run owns that folder: a new search there would refuse to start
            self.controls.next_run_dir(previous)
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
        source = self._source
        if not isinstance(source, ReplaySource):
            raise RuntimeError("show_step() replays a recorded run: use Explorer.from_run(run_dir)")
        source.show_step(step)
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
        source = self._source
        if source is not None:
            return source.frame(self.selected, light)
        space = self.controls.space.value if isinstance(self.controls.space.value, BaseSpace) else None
        return Frame([], space or _cell_space(), self.metric, selected=self.selected)

    def _show_status(self, frame: Frame) -> None:
        source = self._source
        if self.controls is not None:
            self.controls.enable_for(source.state if isinstance(source, LiveSource) else "idle")
        self.status.value = status_html(frame, self.metric, source)
        self._show_errors()

    # -- errors -------------------------------------------------------------------------------
    @property
    def error_text(self) -> str:
        """Every problem the explorer is showing (plain text, newest last)."""
        return "\n".join(self._problems())

    def _problems(self) -> list[str]:
        source = self._source
        return list(self.messages) + (source.problems() if source is not None else [])

    def _report(self, message: str, *, redraw: bool = True) -> None:
        self.problem_line.add(message)
        if redraw:
            self._show_errors()

    def _show_errors(self) -> None:
        self.problem_line.show(self._problems())

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
        if self._source is not None:
            self._source.close()

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


def _cell_space() -> BaseSpace:
    from ..spaces import CellSpace

    return CellSpace()
