"""Running one evaluation so that its search can always walk away from it.

A search never runs its evaluator in its own thread: a worker thread does, and the search waits
for it in short slices. That is what lets ``stop()``, Ctrl-C and a per-trial time limit act
within a second in every phase, including code that never calls ``checkpoint()`` (dataset
loading, model building, a plain function that hangs).

Why a thread and not a process: evaluators are often functions and closures defined in a
notebook, which cannot be pickled into another process, and the Trainer keeps its datasets in
memory between trials, which a process per trial would reload every time. A thread cannot be
killed, so the time limit works in two stages: the evaluation is asked to stop (the Trainer and
anything calling ``checkpoint()`` ends within one batch), and an evaluation that ignores the
request is abandoned. The search goes on; the abandoned thread's late result is handed to
``on_late`` (the run log notes it in ``late.jsonl``) and never used. To have hung evaluations
killed outright, pass ``Search(..., isolate=True)`` (``nasnb/isolate.py``): each evaluation then
runs in a child process that the time limit kills.
"""

from __future__ import annotations

import math
import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ..trial import FAILED, OK, Proposal, jsonable
from .control import Control, EvaluationInterrupted, controlled

POLL = 0.05  # seconds between looks at stop, pause and the clock while an evaluation runs
QUICK = 0.005  # evaluations faster than this (a table lookup) run inline: a thread hop would double their cost
STOP_GRACE = 0.5  # seconds a stopping evaluation gets to end before it is left to finish on its own
TIMEOUT_GRACE = 1.0  # seconds an evaluation past its time limit gets to stop before it is abandoned


class Outcome(NamedTuple):
    """What one evaluation gave: ``status`` (ok/failed), ``metrics``, ``error`` text and ``seconds``."""

    status: str
    metrics: dict[str, Any]
    error: str | None
    seconds: float


def evaluate(evaluator: Callable[..., Any], proposal: Proposal, metric: str = "accuracy") -> Outcome:
    """Run the evaluator on ``proposal``; a raised error becomes a failed Outcome. Interruptions propagate.

    Module-level so that executors (Dask, process pools) can ship it to their workers.
    """
    t0 = time.perf_counter()
    try:
        result = evaluator(proposal.arch, **(proposal.fidelity or {}))
        metrics = check_metrics(result, metric)
        return Outcome(OK, metrics, None, time.perf_counter() - t0)
    except (EvaluationInterrupted, KeyboardInterrupt):
        raise
    except Exception as err:
        return Outcome(FAILED, {}, describe_error(err), time.perf_counter() - t0)


def check_metrics(result: Any, metric: str = "accuracy") -> dict[str, Any]:
    """The evaluator's result as JSON-able metrics, or a ValueError/TypeError saying what is wrong."""
    if not isinstance(result, Mapping):
        raise TypeError(f"the evaluator must return a mapping such as {{'accuracy': 0.9}}, got {type(result).__name__}")
    if metric not in result:
        what = " (validation accuracy in [0, 1])" if metric == "accuracy" else ""
        raise ValueError(f"the evaluator's result has no {metric!r}{what}; keys: {sorted(map(str, result))[:20]}")
    for name in {metric, "accuracy"} & set(result):  # checked before JSON turns NaN into None
        value = result[name]
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):
            value = value.item() if getattr(value, "size", 1) == 1 else value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {_short(value)} (a diverging training?)")
        if name == "accuracy" and not 0.0 <= value <= 1.0:
            raise ValueError(f"accuracy must be a number in [0, 1], got {value!r}")
    return jsonable(dict(result))


def describe_error(err: BaseException) -> str:
    """One line: the exception and where it was raised (file:line), at most 500 characters."""
    head = "".join(traceback.format_exception_only(type(err), err)).strip()
    frames = traceback.extract_tb(err.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return _short(head, 500 - len(where)) + where


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 20] + f"... ({len(text)} characters)"


class Job:
    """One evaluation running in a worker thread; the search waits on ``done``."""

    def __init__(self, trial_id: int, evaluator: Callable[..., Any], proposal: Proposal, metric: str, control: Control):
        self.trial_id = trial_id
        self.evaluator = evaluator
        self.proposal = proposal
        self.metric = metric
        self.control = control  # control.stop_requested cancels this evaluation alone
        self.started = time.time()
        self.done = threading.Event()
        self.outcome: Outcome | None = None  # None once done: the evaluation was interrupted
        self.on_late: Callable[[Job, Outcome], None] | None = None
        self.evaluate: Callable[..., Outcome] = evaluate  # (evaluator, proposal, metric): isolation swaps it
        self._lock = threading.Lock()

    def execute(self) -> None:
        try:
            with controlled(self.control):
                outcome: Outcome | None = self.evaluate(self.evaluator, self.proposal, self.metric)
        except EvaluationInterrupted:
            outcome = None
        except KeyboardInterrupt:  # only when run inline: the step is abandoned and the proposal stays pending
            raise
        except BaseException as err:  # e.g. SystemExit raised by an evaluator: a failed trial, not a dead worker
            outcome = Outcome(FAILED, {}, describe_error(err), time.time() - self.started)
        with self._lock:
            self.outcome = outcome
            self.done.set()
            late = self.on_late
        if late is not None and outcome is not None:
            late(self, outcome)

    def abandon(self, on_late: Callable[[Job, Outcome], None]) -> bool:
        """Stop waiting for this evaluation; a result that still comes goes to ``on_late``. False if already done."""
        with self._lock:
            if self.done.is_set():
                return False
            self.on_late = on_late
            return True


class Runner:
    """Hands evaluations to a worker thread, replacing the worker when one is abandoned."""

    def __init__(self) -> None:
        self._worker: _Worker | None = None

    def start(self, job: Job) -> Job:
        if self._worker is None or not self._worker.is_alive() or self._worker.busy:
            if self._worker is not None:
                self._worker.retire()  # it ends after the job it is stuck in
            self._worker = _Worker()
            self._worker.start()
        self._worker.give(job)
        return job

    def close(self) -> None:
        if self._worker is not None:
            self._worker.retire()
            self._worker = None


class _Worker(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="nasnb-evaluation", daemon=True)
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.busy = False

    def give(self, job: Job) -> None:
        self.busy = True
        self._jobs.put(job)

    def retire(self) -> None:
        self._jobs.put(None)

    def run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job.execute()
            self.busy = False


def wait_for(job: Job, control: Control, timeout: float | None) -> str:
    """Wait for ``job``: ``"done"``, ``"stopped"`` (the search is stopping) or ``"timeout"``.

    Paused time does not count against ``timeout``. A KeyboardInterrupt reaches the caller
    within ``POLL`` seconds, whatever the evaluation is doing.
    """
    left = timeout
    last = time.monotonic()
    while not job.done.wait(POLL):
        now = time.monotonic()
        if control.stopping:
            return "stopped"
        if left is not None and control.running.is_set():
            left -= now - last
            if left <= 0:
                return "timeout"
        last = now
    return "done"


def outcome_of(
    job: Job, control: Control, timeout: float | None, on_late: Callable[[Job, Outcome], None]
) -> Outcome | None:
    """The job's outcome, a failed one at its time limit, or None when the search stopped first.

    After None the job may still be running (it ignored the stop); the caller keeps it and waits
    for it again rather than starting the same evaluation twice.
    """
    try:
        how = wait_for(job, control, timeout)
    except KeyboardInterrupt:
        control.stop_requested.set()
        settle(job, STOP_GRACE)
        raise
    if how == "timeout":
        job.control.stop_requested.set()
        ended = settle(job, TIMEOUT_GRACE)
        if job.outcome is None:
            if not ended:
                job.abandon(on_late)
            return Outcome(FAILED, {}, timeout_error(timeout, ended), time.time() - job.started)
    elif how == "stopped":
        settle(job, STOP_GRACE)
    return job.outcome


def settle(job: Job, grace: float) -> bool:
    """Give a cancelled evaluation ``grace`` seconds to end; True if it did."""
    return job.done.wait(grace)


def not_stopped(what: str, timeout: float | None) -> str:
    """The warning ``Search.stop()`` gives when ``what`` (the loop, an evaluation) is still running."""
    return (
        f"{what} did not stop within {timeout or 0:g}s: the evaluator does not call "
        "nasnb.evaluation.checkpoint() where it is now. It goes on in the background; its result "
        "is used if it comes, and otherwise the trial is proposed again (Search(..., isolate=True) "
        "runs evaluations in a child process that a stop kills)"
    )


def timeout_error(limit: float | None, ended: bool) -> str:
    """The error text of a trial that hit its time limit: what happened to the evaluation."""
    head = f"TrialTimeout: no result within trial_timeout={limit:g}s"
    if ended:
        return head + "; the evaluation was stopped"
    return (
        head
        + "; it ignored the request to stop, so it was abandoned (a late result is noted in late.jsonl, never used)"
    )
