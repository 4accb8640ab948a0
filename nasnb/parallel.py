"""Evaluating several proposals at once through an executor (a Dask cluster, a process pool).

The loop keeps ``max_pending`` proposals out (by default twice the executor's real worker
count, so every worker has its next evaluation queued behind the one it runs and never waits for
this loop to record a result and ask again), lands each result in the run log the moment it
arrives (so nothing finished is lost when the run is stopped or killed), and tells the strategy
in the order it asked. Telling in ask order is what makes a parallel run resumable and replayable
exactly: what the strategy saw, and when, depends only on the run's settings, never on which
worker was faster. The price is small: a result that arrives early waits in memory for the ones
asked before it. With only ``n_workers`` out, a worker whose evaluation ended first would idle
until the slower, earlier one was told; the queued extra keeps it busy.

How strategies see pending evaluations: none of them is told about a proposal before its result
comes, so each keeps proposing as if the pending ones did not exist. Evolution (steady state)
draws parents from the told population only; Bayesian optimisation fits its model to told results
and may propose near a pending point; REINFORCE applies each reward when it is told, up to
``max_pending - 1`` updates late; halving opens the next bracket while a rung waits for its stragglers.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from typing import TYPE_CHECKING, Any

from .evaluation.runner import Outcome, describe_error, evaluate
from .trial import FAILED

if TYPE_CHECKING:
    from .search import Search

DEFAULT_WORKERS = 2
QUEUED_PER_WORKER = 1  # evaluations queued behind each running one (max_pending = workers x (1 + this))


def settle_workers(
    executor: Any, n_workers: int | None, max_pending: int | None, isolate: bool
) -> tuple[Any, int, int, bool]:
    """The executor, worker count and proposals kept out for ``Search(executor, n_workers, max_pending, isolate)``.

    Returns ``(executor, n_workers, max_pending, owned)``; ``owned`` is True when the search made
    the executor (``isolate=True``) and must shut it down. Without an executor the search runs one
    evaluation at a time in a thread of its own process (max_pending 1).
    """
    owned = False
    if isolate:
        if executor is not None:
            raise ValueError(
                "isolate=True runs each evaluation in a child process of its own; it cannot be combined with "
                "executor= (an executor of processes, such as a Dask cluster, already runs them apart)"
            )
        from .isolate import IsolatedExecutor

        executor, owned = IsolatedExecutor(n_workers or 1), True
    if max_pending is not None and executor is None:
        raise ValueError(f"max_pending={max_pending!r} needs an executor (executor=... or isolate=True)")
    workers = n_workers if n_workers is not None else worker_count(executor)
    if executor is None:
        return None, workers, 1, owned
    if max_pending is None:
        max_pending = workers * (1 + QUEUED_PER_WORKER) if isinstance(workers, int) and not isolate else workers
    return executor, workers, max_pending, owned


def worker_count(executor: Any) -> int:
    """How many evaluations ``executor`` runs at once: a Dask cluster's threads, a pool's workers."""
    if executor is None:
        return 1
    client = getattr(executor, "_client", None)  # distributed.cfexecutor.ClientExecutor
    if client is not None:
        try:
            threads = sum(client.nthreads().values())
        except Exception:  # a client that cannot answer now: fall back below
            threads = 0
        if threads:
            return threads
    workers = getattr(executor, "_max_workers", None)  # ThreadPoolExecutor, ProcessPoolExecutor
    if isinstance(workers, int) and workers > 0:
        return workers
    return DEFAULT_WORKERS


def run_parallel(search: Search) -> None:
    """Run ``search`` until its budget is spent, it is stopped, or it fails systemically."""
    control = search._control
    in_flight: dict[cf.Future, list[Any]] = {}  # future -> [trial id, proposal, started, running since]
    last = time.perf_counter()
    try:
        while True:
            with search._step_lock:
                now = time.perf_counter()
                search._elapsed += now - last
                last = now
                if control.stop_requested.is_set() or search.failure is not None:
                    return
                if search.done and not in_flight:
                    return
                if control.running.is_set() and not search.done:
                    search._tell_ready()
                    out = {entry[0] for entry in in_flight.values()}
                    for trial_id, proposal in search._queue:
                        if trial_id not in out and trial_id not in search._results:
                            search._start(trial_id, proposal)
                            future = search.executor.submit(evaluate, search.evaluator, proposal, search.metric)
                            in_flight[future] = [trial_id, proposal, time.time(), None]
                    search._current = None
            if not in_flight:
                if not search._queue or search.done:
                    return
                time.sleep(0.05)  # paused
                continue
            done, _ = cf.wait(list(in_flight), timeout=0.05, return_when=cf.FIRST_COMPLETED)
            with search._step_lock:
                for future in done:
                    trial_id, proposal, started, _ = in_flight.pop(future)
                    try:
                        outcome = future.result()
                    except Exception as err:  # the executor failed (e.g. a worker died more often than retried)
                        if control.stop_requested.is_set():
                            continue  # it went down with the stop (a child hit by the same Ctrl-C): stays pending
                        outcome = Outcome(FAILED, {}, describe_error(err), time.time() - started)
                    _finish(search, trial_id, proposal, outcome, started)
                if search.trial_timeout is not None:
                    _expire(search, in_flight)
    finally:
        for future in in_flight:
            future.cancel()  # their proposals stay pending: checkpointed and evaluated again on resume


def _finish(search: Search, trial_id: int, proposal: Any, outcome: Outcome, started: float) -> None:
    trial = search._land(trial_id, proposal, outcome, started)
    search._tell_ready()
    search._emit("trial_finished", trial)


def _expire(search: Search, in_flight: dict[cf.Future, list[Any]]) -> None:
    """Fail the trials running longer than ``trial_timeout``; their tasks are cancelled and any late result ignored.

    A task's clock starts once it is one of the ``n_workers`` oldest still out and, where the
    executor says so (thread and process pools, isolation; a Dask future never does), is running:
    a task queued behind another is not charged for the wait.
    """
    now = time.monotonic()
    exact = _reports_running(search.executor)
    for position, (future, entry) in enumerate(list(in_flight.items())):
        if entry[3] is None:
            if position < search.n_workers and (future.running() or not exact):
                entry[3] = now
            continue
        if now - entry[3] > search.trial_timeout:
            killed = future.cancel() and getattr(future, "killed", False)
            del in_flight[future]
            what = "its process was killed" if killed else "its task was cancelled"
            error = f"TrialTimeout: no result within trial_timeout={search.trial_timeout:g}s; {what}"
            trial_id, proposal, started, _ = entry
            _finish(search, trial_id, proposal, Outcome(FAILED, {}, error, time.time() - started), started)


def _reports_running(executor: Any) -> bool:
    """Whether the executor's futures turn ``running()`` when their task starts (a Dask client's never do)."""
    return isinstance(executor, (cf.ThreadPoolExecutor, cf.ProcessPoolExecutor)) or getattr(
        executor, "reports_running", False
    )
