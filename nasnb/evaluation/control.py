"""Cooperative control of a running evaluation: stop, pause and progress.

A Search cannot kill a thread, so long evaluations call ``checkpoint()`` between steps (the
Trainer does so every batch). While a search is stopping, or this one evaluation is being
cancelled (its time limit passed), ``checkpoint()`` raises ``EvaluationInterrupted``; while the
search is paused, it blocks until resumed. Outside a search it costs one context-variable
lookup and does nothing, so evaluators stay plain callables.
"""

from __future__ import annotations

import contextvars
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class EvaluationInterrupted(Exception):
    """Raised inside an evaluation when its search is asked to stop."""


class Control:
    """Flags a Search shares with the evaluations it runs.

    A search owns one Control; each evaluation gets a ``child()`` whose own ``stop_requested``
    cancels only that evaluation (a time limit), while the parent's stops every evaluation and
    the parent's ``running`` pauses them all.
    """

    def __init__(self, on_progress: Callable[[dict[str, Any]], None] | None = None, parent: Control | None = None):
        self.parent = parent
        self.stop_requested = threading.Event()
        self.running = parent.running if parent is not None else threading.Event()
        if parent is None:
            self.running.set()
        self.on_progress = on_progress

    def child(self, on_progress: Callable[[dict[str, Any]], None] | None = None) -> Control:
        """A control for one evaluation: stopped with this one, or on its own."""
        return Control(on_progress=on_progress, parent=self)

    @property
    def stopping(self) -> bool:
        return self.stop_requested.is_set() or (self.parent is not None and self.parent.stopping)

    def checkpoint(self) -> None:
        if self.stopping:
            raise EvaluationInterrupted("the search was stopped during this evaluation")
        while not self.running.wait(0.05):
            if self.stopping:
                raise EvaluationInterrupted("the search was stopped while paused")

    def progress(self, **info: Any) -> None:
        if self.on_progress is not None:
            self.on_progress(info)
        elif self.parent is not None:
            self.parent.progress(**info)


_current: contextvars.ContextVar[Control | None] = contextvars.ContextVar("nasnb_control", default=None)


def checkpoint() -> None:
    """Give the running search a chance to pause or stop this evaluation."""
    control = _current.get()
    if control is not None:
        control.checkpoint()


def report_progress(**info: Any) -> None:
    """Tell the running search how far this evaluation is (e.g. ``epoch=3, epochs=10``)."""
    control = _current.get()
    if control is not None:
        control.progress(**info)


@contextmanager
def controlled(control: Control) -> Iterator[Control]:
    """Run the body with ``control`` as the current evaluation control."""
    token = _current.set(control)
    try:
        yield control
    finally:
        _current.reset(token)


@contextmanager
def sigint_stops(control: Control) -> Iterator[list[bool]]:
    """While the body runs, Ctrl-C (SIGINT) asks ``control`` to stop instead of raising at once.

    A KeyboardInterrupt raised at an arbitrary line could land between telling a strategy a
    result and recording that it was told, leaving a state no resume can trust. Turned into a
    stop request, it takes effect at the loop's next safe point (within a second); the yielded
    flag says it happened, so the caller can raise KeyboardInterrupt afterwards. A second Ctrl-C
    raises at once. Only the main thread can set signal handlers; elsewhere this does nothing.
    """
    flag = [False]
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame: Any) -> None:
        if flag[0]:
            raise KeyboardInterrupt
        flag[0] = True
        control.stop_requested.set()
        control.running.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
