"""Replay: a recorded run shown as it was after any step, with a slider and a Play button.

Everything a picture needs at step ``k`` is a prefix of the log: the views read the first ``k``
rows of columns built once when the run opens (``nasnb.explain.columns``), and importance is
restored from the nearest checkpoint of its running sums, so a slider move costs the same at
step 10 as at step 100,000. Populations are not in the log; they are rebuilt by replaying the
strategy (asking and telling the logged trials in order, exactly as ``run.strategy_at(t)``
does), once, in a background thread that keeps the population after every step. Until it
reaches a step, that step is drawn without its ring; the run's final checkpoint gives the last
step's population at once.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..runs import CHECKPOINT_FILE, Run, fast_forward, strategy_from_config
from .driver import population_of
from .views.common import FULL

SPEEDS = {"1 step/s": 1000, "2 steps/s": 500, "5 steps/s": 200, "10 steps/s": 100, "25 steps/s": 40}
NOTIFY_EVERY = 0.25  # seconds between "more populations are known" calls while replaying


class ReplayCursor:
    """The strategy's population after each of a run's first ``t`` trials, replayed once.

    ``population_at(step)`` waits for the replay to reach ``step`` (``wait=False``: None until
    then). ``on_progress()`` is called from the replay thread now and then, and when it ends;
    while ``idle`` (an Event) is clear, the replay waits, so a redraw never shares the CPU with it.
    ``error`` says why populations are unavailable (a strategy without one, a parallel run whose
    log is out of ask order, or a log the current code no longer reproduces).
    """

    def __init__(
        self, run: Run, on_progress: Callable[[], None] | None = None, *, idle: threading.Event | None = None
    ) -> None:
        self.run = run
        self.on_progress = on_progress
        self.idle = idle
        self.error = ""
        self._flat = array("q")  # populations after step 0, 1, ... one after another (8 bytes an id)
        self._starts = array("q", [0])  # population after step s is _flat[_starts[s]:_starts[s + 1]]
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._started = self._finished = None
        self._final = self._from_checkpoint()
        self.start()

    @property
    def known(self) -> int:
        """How many steps' populations are known (steps 0 .. known - 1)."""
        return len(self._starts) - 1

    def population_at(self, step: int, *, wait: bool = True, timeout: float | None = None) -> list[int] | None:
        """Ids of the population after ``step`` trials (None when the strategy keeps none, or not yet known)."""
        step = max(0, min(int(step), len(self.run.trials)))
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if step < self.known:
                    return self._flat[self._starts[step] : self._starts[step + 1]].tolist()
            if self.error:
                return None
            if step == len(self.run.trials) and self._final is not None:
                return list(self._final)
            self.start()
            if not wait or self._finished is not None or (deadline is not None and time.monotonic() > deadline):
                return None
            time.sleep(0.005)

    def start(self) -> None:
        """Start replaying the strategy in the background (once)."""
        with self._lock:
            if self._thread is None and not self._closed:
                self._started = time.monotonic()
                self._thread = threading.Thread(target=self._replay, name="nasnb-replay", daemon=True)
                self._thread.start()

    def ready_seconds(self) -> float | None:
        """Seconds the replay took, once every step's population is known (or it failed)."""
        if self._finished is None or self._started is None:
            return None
        return self._finished - self._started

    def close(self) -> None:
        """Stop replaying (what is known stays known)."""
        self._closed = True

    def _replay(self) -> None:
        try:
            strategy = strategy_from_config(self.run.config)
            space = self.run.space
            strategy.setup(space, self.run.config.get("seed", 0))
            if population_of(strategy) is None:
                self.error = f"the {strategy.name} strategy keeps no population; every trial is shown"
                return
            self._keep(population_of(strategy))
            notified = time.monotonic()
            for position, trial in enumerate(self.run.trials):
                if self.idle is not None:
                    self.idle.wait()  # a redraw in progress goes first: it is what the user waits for
                if self._closed:
                    return
                if trial.id != position:
                    raise ValueError(
                        f"trial {trial.id} is logged at position {position}: the log is not in ask "
                        "order (a parallel run?), so populations cannot be replayed"
                    )
                fast_forward(strategy, space, [trial])
                self._keep(population_of(strategy))
                if self.on_progress is not None and time.monotonic() - notified > NOTIFY_EVERY:
                    notified = time.monotonic()
                    self.on_progress()
        except Exception as err:  # shown to the user; the trials themselves still replay
            self.error = f"cannot replay the strategy: {err}"
        finally:
            self._finished = time.monotonic()
            if self.on_progress is not None:
                self.on_progress()

    def _keep(self, population: list[int] | None) -> None:
        with self._lock:
            self._flat.extend(population or ())
            self._starts.append(len(self._flat))

    def _from_checkpoint(self) -> list[int] | None:
        """The last step's population from the run's checkpoint, when it was saved at the end."""
        try:
            import json

            checkpoint = json.loads((self.run.path / CHECKPOINT_FILE).read_text(encoding="utf-8"))
            told = checkpoint.get("n_told", checkpoint.get("n_trials"))  # n_trials in older checkpoints
            if told != len(self.run.trials) or checkpoint.get("run_id") != self.run.config.get("run_id"):
                return None  # taken before the last trials, or another run's
            strategy = strategy_from_config(self.run.config)
            strategy.setup(self.run.space, self.run.config.get("seed", 0))
            strategy.load_state_dict(checkpoint["strategy"])
            return population_of(strategy)
        except Exception:  # no checkpoint, or one from another version: the replay will tell
            return None


class ReplayImportance:
    """Per-op importance after any step of a run, from checkpoints of an ``ImportanceTracker``.

    A background thread reads the run once, saving the tracker's running sums every ``every``
    steps; a step is then the nearest checkpoint before it plus at most ``every`` trials, so any
    slider position costs about the same. ``at(step)`` gives what ``op_importance(run.trials[:step],
    run.space)`` gives; ``at(step, wait=False)`` gives None while the reader has not got that far
    (``on_progress()`` is called now and then from the reader, and when it ends; the reader
    waits while ``idle`` is clear, as ``ReplayCursor`` does).
    """

    def __init__(
        self,
        run: Run,
        metric: str,
        *,
        every: int = 512,
        on_progress: Callable[[], None] | None = None,
        idle: threading.Event | None = None,
    ) -> None:
        from ..explain import ImportanceTracker

        self.run = run
        self.every = every
        self.on_progress = on_progress
        self.idle = idle
        self.error = ""
        self._reader = ImportanceTracker(run.space, metric=metric)
        self.tracker = ImportanceTracker(run.space, metric=metric)
        self.tracker._coded = self._reader._coded  # each distinct architecture is parsed once
        self._at = 0  # log position self.tracker has reached
        self._checkpoints: dict[int, Any] = {0: self.tracker.checkpoint()}
        self._read = 0  # log position the reader has reached
        self._lock = threading.Lock()  # the checkpoints, shared with the reader
        self._using = threading.Lock()  # self.tracker, shared by the kernel and the redraw thread
        self._thread: threading.Thread | None = None
        self._closed = False

    def ready(self, step: int) -> bool:
        """Whether ``at(step)`` answers without waiting for the reader."""
        return self.error != "" or step <= self._read or self._read >= len(self.run.trials)

    @property
    def read(self) -> int:
        """How many of the run's trials the reader has folded in."""
        return self._read

    def at(self, step: int, *, wait: bool = True) -> Any:
        """The ``OpImportance`` of the run's first ``step`` trials (None: not read that far yet)."""
        step = max(0, min(int(step), len(self.run.trials)))
        self.start()
        while not self.ready(step):
            if not wait:
                return None
            time.sleep(0.005)
        if self.error:
            raise RuntimeError(self.error)
        with self._using:
            with self._lock:
                base = max(c for c in self._checkpoints if c <= step)
            if not (base <= self._at <= step):
                self.tracker.restore(self._checkpoints[base])
                self._at = base
            self.tracker.extend(self.run.trials[self._at : step])
            self._at = step
            return self.tracker.result()

    def start(self) -> None:
        """Start reading the run in the background (once)."""
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._read_run, name="nasnb-importance", daemon=True)
                self._thread.start()

    def close(self) -> None:
        self._closed = True

    def _read_run(self) -> None:
        notified = time.monotonic()
        try:
            trials = self.run.trials
            while self._read < len(trials) and not self._closed:
                if self.idle is not None:
                    self.idle.wait()
                stop = min(len(trials), self._read + self.every)
                self._reader.extend(trials[self._read : stop])
                state = self._reader.checkpoint()
                with self._lock:
                    if stop % self.every == 0:
                        self._checkpoints[stop] = state
                self._read = stop
                if self.on_progress is not None and time.monotonic() - notified > NOTIFY_EVERY:
                    notified = time.monotonic()
                    self.on_progress()
        except Exception as err:  # e.g. a run of a space this version cannot parse
            self.error = f"{type(err).__name__}: {err}"
        finally:
            if self.on_progress is not None:
                self.on_progress()

    @property
    def memory(self) -> int:
        """Bytes held by the checkpoints' sums."""
        return sum(state[2].point.nbytes + getattr(state[2].boot, "nbytes", 0) for state in self._checkpoints.values())


class ReplayBar:
    """``slider`` over steps 0..N, a ``play`` button linked to it, and a ``speed`` choice."""

    def __init__(self, n_steps: int) -> None:
        self.slider = widgets.IntSlider(
            value=n_steps,
            min=0,
            max=n_steps,
            description="step",
            continuous_update=True,
            layout={"width": FULL, "max_width": "420px", "min_width": "200px"},
        )
        self.play = widgets.Play(
            value=n_steps, min=0, max=n_steps, step=1, interval=SPEEDS["5 steps/s"], description="play"
        )
        self.speed = widgets.Dropdown(
            options=SPEEDS, value=SPEEDS["5 steps/s"], description="speed", layout={"width": "200px"}
        )
        widgets.jslink((self.play, "value"), (self.slider, "value"))  # plays in the browser, no kernel round trip
        self.speed.observe(lambda change: setattr(self.play, "interval", change["new"]), names="value")
        self.widget = widgets.Box([self.play, self.slider, self.speed], layout={"flex_flow": "row wrap"})
        self.widget.add_class("nasnb-replay")
