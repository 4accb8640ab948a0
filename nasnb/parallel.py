"""Evaluating several proposals at once through an executor (a Dask cluster, a process pool).

The loop keeps ``max_pending`` proposals out (the executor's real worker count by default),
lands each result in the run log the moment it arrives (so nothing finished is lost when the run
is stopped or killed), and tells the strategy in the order it asked. Telling in ask order is what
makes a parallel run resumable and replayable exactly: what the strategy saw, and when, depends
only on the run's settings, never on which worker was faster. The price is small: a result that
arrives early waits in memory for the ones asked before it.

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
    in_flight: dict[cf.Future, tuple[int, Any, float, float]] = {}
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
                            in_flight[future] = (trial_id, proposal, time.time(), time.monotonic())
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


def _expire(search: Search, in_flight: dict[cf.Future, tuple[int, Any, float, float]]) -> None:
    """Fail the trials out longer than ``trial_timeout``; their tasks are cancelled and any late result ignored."""
    for future, (trial_id, proposal, started, t0) in list(in_flight.items()):
        if time.monotonic() - t0 > search.trial_timeout:
            future.cancel()
            del in_flight[future]
            error = f"TrialTimeout: no result within trial_timeout={search.trial_timeout:g}s; its task was cancelled"
            _finish(search, trial_id, proposal, Outcome(FAILED, {}, error, time.time() - started), started)
