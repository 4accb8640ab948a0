"""Throttle: many "something changed" signals in, at most a few redraws per second out.

A search can finish hundreds of trials a second (a tabulated benchmark) while a redraw of every
view takes tens of milliseconds; redrawing per event would make the search wait on the plots.
The search thread therefore only sets a flag (``request``, microseconds); a separate thread
redraws once per ``interval`` at most, and waits longer when redraws turn out slow, so that
redrawing never takes more than ``max_duty`` of the time (it shares the GIL with the search).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """Call ``redraw()`` in a background thread at most once per ``interval`` seconds after requests.

    Requests that arrive while a redraw is pending or running coalesce into a single next redraw,
    and the last request is always followed by a redraw. ``on_error(exc)`` hears of a failing
    redraw (the thread survives it). ``calls``, ``requests`` and ``busy_seconds`` say how much
    work was saved and spent.
    """

    def __init__(
        self,
        redraw: Callable[[], None],
        interval: float = 0.2,
        *,
        max_duty: float = 0.2,
        on_error: Callable[[BaseException], None] | None = None,
        name: str = "nasnb-redraw",
    ) -> None:
        if not interval >= 0:
            raise ValueError(f"interval must be a number of seconds >= 0, got {interval!r}")
        if not 0 < max_duty <= 1:
            raise ValueError(f"max_duty must be in (0, 1], got {max_duty!r}")
        self.redraw = redraw
        self.interval = interval
        self.max_duty = max_duty
        self.on_error = on_error
        self.name = name
        self.calls = 0
        self.requests = 0
        self.busy_seconds = 0.0
        self._pending = threading.Event()
        self._closed = threading.Event()
        self._start_lock = threading.Lock()
        self._draw_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._next_allowed = 0.0

    def request(self) -> None:
        """Ask for a redraw soon; cheap enough to call from a search callback."""
        self.requests += 1
        self._pending.set()
        if self._thread is None:
            self.start()

    def start(self) -> None:
        """Start the redraw thread now (the first ``request`` does otherwise; starting a thread can
        take a while on a busy machine, better spent in the kernel than in the search thread)."""
        with self._start_lock:
            if self._thread is None and not self._closed.is_set():
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()

    def flush(self) -> None:
        """Redraw now, in the calling thread (e.g. after ``wait()``), and drop what is pending."""
        self._pending.clear()
        self._call()

    @property
    def pending(self) -> bool:
        return self._pending.is_set()

    def close(self) -> None:
        """Stop the redraw thread; later requests are ignored."""
        self._closed.set()
        self._pending.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(2.0)

    def _loop(self) -> None:
        while not self._closed.is_set():
            self._pending.wait()
            delay = self._next_allowed - time.monotonic()
            if delay > 0 and self._closed.wait(delay):
                break
            if self._closed.is_set():
                break
            self._pending.clear()
            self._call()

    def _call(self) -> None:
        with self._draw_lock:  # flush() from the kernel and the thread never redraw at once
            t0 = time.monotonic()
            try:
                self.redraw()
            except Exception as err:  # a broken view must never stop redrawing the others
                if self.on_error is not None:
                    self.on_error(err)
            finally:
                spent = time.monotonic() - t0
                self.calls += 1
                self.busy_seconds += spent
                self._next_allowed = t0 + max(self.interval, spent / self.max_duty)

    def __repr__(self) -> str:
        return f"Throttle(interval={self.interval}, calls={self.calls}, requests={self.requests})"
