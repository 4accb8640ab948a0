"""SearchDriver: the explorer's buttons as Search calls that never block the kernel.

Everything runs through ``Search.run(background=True)``: Start runs freely, Step lets the
background loop finish ``n`` more trials and pauses it from the ``trial_finished`` callback, so a
step that trains for a minute keeps the notebook responsive, and Pause, Resume and Stop act on
one loop only. The callbacks run in the search thread, so they only copy small facts (the trial
in flight, the strategy's population) and ask for a redraw; their cost is measured.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..search import Search
from ..trial import Trial

BUSY_STATES = ("running", "stopping")


def population_of(strategy: Any) -> list[int] | None:
    """Ids of the strategy's current population, for strategies that keep one (else None)."""
    ids = getattr(strategy, "population_ids", None)
    return list(ids()) if callable(ids) else None


class SearchDriver:
    """Drive ``search`` for the explorer and keep what the views need from its events.

    ``on_change()`` is called (in the search thread) whenever something visible changed; the
    explorer hands it to its Throttle. ``current`` is the trial in flight (id, arch, decision and
    the latest progress), ``population`` the strategy's population after the latest trial,
    ``errors`` the failures seen, newest last.
    """

    def __init__(self, search: Search, on_change: Callable[[], None]) -> None:
        self.search = search
        self.on_change = on_change
        self.current: dict[str, Any] | None = None
        self.population: list[int] | None = population_of(search.strategy)
        self.errors: list[str] = []
        self.reports_progress = False  # the evaluator reports progress, so it also parks when paused
        self.callback_calls = 0
        self.callback_seconds = 0.0
        self.callback_max_seconds = 0.0
        self._steps_left = 0
        self._lock = threading.RLock()
        self._unsubscribe = [
            search.on("trial_started", self._timed(self._on_started)),
            search.on("trial_progress", self._timed(self._on_progress)),
            search.on("trial_finished", self._timed(self._on_finished)),
            search.on("state_changed", self._timed(self._on_state)),
        ]

    # -- commands -----------------------------------------------------------------------------
    def start(self) -> None:
        """Run until the budget is spent (or continue a paused or stopped search)."""
        self._let_stopped_loop_end()
        with self._lock:
            self._steps_left = 0
            self._go()

    def step(self, n: int = 1) -> None:
        """Evaluate ``n`` more trials in the background, then pause.

        While the search runs freely, the trial in flight counts as the first of the ``n``.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive number of trials, got {n!r}")
        self._let_stopped_loop_end()
        with self._lock:
            if self.search.done:
                raise RuntimeError(f"the search has spent its budget ({len(self.search.trials)} trials)")
            if self.search.state == "running" and self._steps_left == 0:
                self._steps_left = n
            else:
                self._steps_left += n
                self._go()

    def pause(self) -> None:
        """Hold the search; a trial in flight finishes first (a Trainer holds within one batch)."""
        with self._lock:
            self._steps_left = 0
            self.search.pause()

    def stop(self, wait: bool = False) -> None:
        """Stop within about a second; the trial in flight is abandoned and proposed again later."""
        with self._lock:
            self._steps_left = 0
        self.search.stop(wait=wait)

    def _let_stopped_loop_end(self) -> None:
        """A loop that was just stopped must end before another starts (outside the lock: its
        last callbacks take it)."""
        if self.search.state in ("stopping", "stopped"):
            self.search.wait(2.0)

    def _go(self) -> None:
        state = self.search.state
        if state == "paused":
            self.search.unpause()
        elif state in ("idle", "stopped", "stopping"):
            self.search.run(background=True)
        elif state == "finished":
            raise RuntimeError(f"the search has finished ({len(self.search.trials)} trials)")

    # -- waiting ------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while the search loop runs (or is stopping)."""
        return self.search.state in BUSY_STATES

    def wait(self, timeout: float | None = None, *, settle: float = 2.0) -> bool:
        """Block until the search is paused, stopped or finished; False if ``timeout`` passed first.

        After a pause, a plain function already evaluating still finishes and its trial lands;
        wait up to ``settle`` seconds for it. An evaluator that reports progress (a Trainer) parks
        inside the paused trial instead, so once one has reported, nothing is waited for.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.busy:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        settled = time.monotonic() + settle
        while self._landing() and time.monotonic() < settled:
            time.sleep(0.01)
        return True

    def _landing(self) -> bool:
        current = self.current
        return current is not None and not self.reports_progress and self.search.state == "paused"

    def close(self) -> None:
        """Stop listening to the search (it keeps running if it was)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    # -- search callbacks (search thread) -----------------------------------------------------
    def _timed(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        def timed(payload: Any) -> None:
            t0 = time.perf_counter()
            try:
                callback(payload)
            finally:
                spent = time.perf_counter() - t0
                self.callback_calls += 1
                self.callback_seconds += spent
                self.callback_max_seconds = max(self.callback_max_seconds, spent)

        timed.__qualname__ = f"SearchDriver.{callback.__name__}"
        return timed

    def _on_started(self, info: dict[str, Any]) -> None:
        self.current = dict(info)
        self.on_change()

    def _on_progress(self, info: dict[str, Any]) -> None:
        self.reports_progress = True
        current = self.current
        if current is not None and current.get("id") == info.get("id"):
            self.current = {**current, "progress": dict(info)}
            self.on_change()

    def _on_finished(self, trial: Trial) -> None:
        self.current = None
        self.population = population_of(self.search.strategy)
        if not trial.ok:
            self.errors.append(f"trial {trial.id} failed: {trial.error}")
        with self._lock:
            if self._steps_left > 0:
                self._steps_left -= 1
                if self._steps_left == 0:
                    self.search.pause()
        self.on_change()

    def _on_state(self, state: str) -> None:
        if state in ("stopped", "finished"):
            self._steps_left = 0
            self.current = None
        self.on_change()

    @property
    def callback_mean_seconds(self) -> float:
        return self.callback_seconds / self.callback_calls if self.callback_calls else 0.0
