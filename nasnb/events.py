"""Events a Search sends to whoever watches it (explorer, progress bar, a notebook cell).

Kept apart from the loop so the loop reads as a loop. A watcher that raises must never break a
search: its error is kept in ``callback_errors`` and warned about.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

EVENTS = ("trial_started", "trial_progress", "trial_finished", "state_changed")
STATES = ("idle", "running", "paused", "stopping", "stopped", "finished")


class Events:
    """``on(event, callback)`` subscriptions and the search's ``state``."""

    def __init__(self) -> None:
        self.callback_errors: list[str] = []
        self._listeners: dict[str, list[Callable[..., Any]]] = {e: [] for e in EVENTS}
        self._state = "idle"

    def on(self, event: str, callback: Callable[..., Any]) -> Callable[[], None]:
        """Call ``callback(payload)`` on ``event``; returns a function that unsubscribes.

        Events: ``trial_started`` (dict with id, arch, decision), ``trial_progress`` (dict from
        the evaluator, e.g. epoch), ``trial_finished`` (Trial), ``state_changed`` (state name).
        Callbacks run in the searching thread (progress in the evaluating one); an exception in
        one is kept in ``callback_errors`` and warned about, never allowed to break the search.
        """
        if event not in self._listeners:
            raise ValueError(f"unknown event {event!r}; choose from {list(EVENTS)}")
        self._listeners[event].append(callback)
        return lambda: self._listeners[event].remove(callback) if callback in self._listeners[event] else None

    def _emit(self, event: str, payload: Any) -> None:
        for callback in list(self._listeners[event]):
            try:
                callback(payload)
            except Exception as err:  # a broken view must not stop the search
                message = f"{event} callback {getattr(callback, '__qualname__', callback)!r} raised {err!r}"
                self.callback_errors.append(message)
                warnings.warn(message, RuntimeWarning, stacklevel=2)

    @property
    def state(self) -> str:
        """idle, running, paused, stopping, stopped or finished."""
        return self._state

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self._emit("state_changed", state)
