"""Search: the step loop that turns proposals into recorded trials.

``step()`` runs exactly one proposal -> evaluation -> record. ``run()`` repeats it until the
budget is spent, in the foreground or in a background thread (``background=True``) so a
notebook stays responsive; ``pause()``, ``unpause()`` and ``stop()`` work from any thread and
act within a second, whatever the evaluation is doing. Every finished trial is appended to the
run log before anyone is told about it, so a crash never loses a result that was shown.

The order in which the strategy is asked and told is fixed by the settings, never by timing:
up to ``max_pending`` proposals are out at once (1 without an executor) and results are told in
the order they were asked. That is what makes a stopped, killed or parallel run resume and
replay exactly (``runs/replay.py``). Where the rest lives: docs/architecture.md.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import functools
import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .budget import Budget
from .deprecated import deprecated_resume
from .evaluation.control import Control, sigint_stops
from .evaluation.registry import describe_evaluator
from .evaluation.runner import QUICK, STOP_GRACE, Job, Outcome, Runner, not_stopped, outcome_of
from .evaluation.weights import bind_run_dir
from .events import EVENTS, STATES, Events  # noqa: F401  (re-exported)
from .isolate import evaluate_isolated
from .runs.load import trials_dataframe
from .runs.record import RunRecorder, run_config
from .runs.replay import ask_checked, check_matches
from .search_checks import SearchFailed, check_settings, systemic_failure
from .spaces import BaseSpace, space_to_config
from .strategies import BaseStrategy, get
from .trial import Proposal, Trial, jsonable


class Search(Events):
    """A steppable search over ``space`` with ``strategy`` and ``evaluator``.

    ``evaluator`` is any callable ``f(arch) -> {"accuracy": float, ...}`` (accuracy in [0, 1]);
    it may raise, which records a failed trial and the search goes on. ``metric`` names the
    result the search ranks by. ``strategy`` is a BaseStrategy or a registered name. ``budget`` is
    a number of evaluations, a duration ("5min") or a Budget. With ``run_dir`` every trial is
    written to disk as it lands and the directory is locked against a second writer.
    ``executor`` (a concurrent.futures Executor, e.g. a Dask client's ``get_executor()``) evaluates
    up to ``n_workers`` proposals at once (default: the executor's real worker count), with up to
    ``max_pending`` asked ahead (default twice that, so no worker waits for the next task).
    ``trial_timeout`` (seconds) fails a trial that takes longer and goes on; ``isolate=True`` runs
    each evaluation in a child process that the time limit or ``stop()`` kills (nasnb/isolate.py).
    ``fail_fast``: when the first that many trials all fail with the same error, ``run()`` stops and
    raises SearchFailed, since the problem is the setup, not the architectures (None to never stop).
    """

    def __init__(
        self,
        space: BaseSpace,
        strategy: BaseStrategy | str,
        evaluator: Callable[..., Mapping[str, Any]],
        *,
        budget: Any = None,
        seed: int = 0,
        run_dir: str | os.PathLike | None = None,
        executor: cf.Executor | None = None,
        n_workers: int | None = None,
        max_pending: int | None = None,
        isolate: bool = False,
        metric: str = "accuracy",
        checkpoint_every: float = 2.0,
        trial_timeout: float | None = None,
        fail_fast: int | None = 3,
        continue_run: bool = False,
    ) -> None:
        from .parallel import settle_workers

        self.space = space
        self.strategy = get(strategy) if isinstance(strategy, str) else strategy
        self.evaluator = evaluator
        self.budget = Budget.parse(budget)
        self.seed = seed
        self.metric = metric
        self.isolate = isolate
        self.executor, self.n_workers, self.max_pending, self._owns_executor = settle_workers(
            executor, n_workers, max_pending, isolate
        )
        self.checkpoint_every = checkpoint_every
        self.trial_timeout = trial_timeout
        self.fail_fast = fail_fast
        self.run_dir = Path(run_dir) if run_dir is not None else None
        if self.run_dir is not None:
            bind_run_dir(evaluator, self.run_dir)  # e.g. a Trainer keeping weights in <run_dir>/weights
        check_settings(self, strategy, run_dir)

        Events.__init__(self)
        self.trials: list[Trial] = []
        self.failure: SearchFailed | None = None
        self.stop_seconds: float | None = None  # from the last Ctrl-C to the loop's clean stop
        self._control = Control(on_progress=self._on_progress)
        self._step_lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._runner = Runner()
        self._jobs: dict[int, Job] = {}  # evaluations still running after a stop (re-attached by the next step)
        self._queue: collections.deque[tuple[int, Proposal]] = collections.deque()  # asked, not told
        self._results: dict[int, Trial] = {}  # landed, not told
        self._asked = 0
        self._told = 0
        self._best: Trial | None = None
        self._looping = False
        self._elapsed = 0.0
        self._last_checkpoint = 0.0
        self._consistent = True
        self._quick = False  # the first evaluation always runs in a worker thread
        self._recorder: RunRecorder | None = None
        self.strategy.setup(space, seed)
        if self.run_dir is not None:
            if continue_run:
                from .resume import restore_into

                restore_into(self)
            else:
                self._recorder = RunRecorder.create(self.run_dir, self._config())

    def _config(self) -> dict[str, Any]:
        return run_config(
            space=space_to_config(self.space),
            strategy={"name": self.strategy.name, "params": jsonable(self.strategy.get_params())},
            seed=self.seed,
            budget=self.budget.to_dict() if self.budget else None,
            metric=self.metric,
            evaluator=describe_evaluator(self.evaluator),
            max_pending=self.max_pending,
            trial_timeout=self.trial_timeout,
            isolate=self.isolate,
        )

    @property
    def best(self) -> Trial | None:
        """The successful trial with the highest metric so far (kept as trials land: O(1))."""
        return self._best

    @property
    def pending(self) -> list[Proposal]:
        """Proposals asked but not yet told, oldest first (the next run evaluates them first)."""
        return [p for _, p in self._queue]

    @property
    def elapsed(self) -> float:
        return self._elapsed

    @property
    def done(self) -> bool:
        return self.budget is not None and self.budget.exhausted(len(self.trials), self._elapsed)

    def to_dataframe(self):
        return trials_dataframe(self.trials)

    def _refill(self) -> None:
        """Ask until ``max_pending`` proposals are out (never past the evaluation budget)."""
        cap = self.budget.evaluations if self.budget is not None else None
        while len(self._queue) < self.max_pending and (cap is None or self._asked < cap):
            proposal = ask_checked(self.strategy, self.space)
            if self._asked in self._results:  # landed before a restart: it must be the same proposal
                check_matches(proposal, self._results[self._asked], self.space)
            self._queue.append((self._asked, proposal))
            self._asked += 1

    def _start(self, trial_id: int, proposal: Proposal) -> None:
        self._current = {"id": trial_id, "arch": str(proposal.arch), "decision": proposal.decision}
        self._emit("trial_started", dict(self._current))

    def _land(self, trial_id: int, proposal: Proposal, outcome: Outcome, started: float) -> Trial:
        """Record a finished evaluation: to disk first, then memory; told later, in ask order."""
        trial = Trial(
            id=trial_id,
            step=len(self.trials),
            arch=str(proposal.arch),
            decision=proposal.decision,
            metrics=outcome.metrics,
            status=outcome.status,
            error=outcome.error,
            started=started,
            seconds=outcome.seconds,
            fidelity=jsonable(proposal.fidelity) if proposal.fidelity else None,
        )
        if self._recorder is not None:
            self._recorder.append(trial)  # on disk before anybody hears of it
        self.trials.append(trial)
        self._results[trial_id] = trial
        self._jobs.pop(trial_id, None)
        score = trial.score(self.metric)
        if score is not None and (self._best is None or score > self._best.score(self.metric)):
            self._best = trial
        if self.failure is None:
            self.failure = systemic_failure(self)
        return trial

    def _tell_ready(self) -> None:
        """Tell landed results in ask order, refilling between tells as replay does."""
        self._consistent = False  # an error in ask or tell leaves a state no checkpoint may keep
        while True:
            self._refill()
            if not self._queue or self._queue[0][0] not in self._results:
                break
            trial_id, _ = self._queue.popleft()
            self.strategy.tell(self._results.pop(trial_id))
            self._told += 1
        self._consistent = True
        self._maybe_checkpoint()

    def _maybe_checkpoint(self, force: bool = False) -> None:
        if self._recorder is None or self._recorder.closed or not self._consistent:
            return
        now = time.monotonic()
        if force or now - self._last_checkpoint >= self.checkpoint_every:
            with self._step_lock:
                self._recorder.save_checkpoint(
                    strategy_state=self.strategy.state_dict(),
                    told=self._told,
                    asked=self._asked,
                    pending=list(self._queue),
                    max_pending=self.max_pending,
                    cap=self.budget.evaluations if self.budget is not None else None,
                    elapsed=self._elapsed,
                )
            self._last_checkpoint = now

    def step(self) -> Trial | None:
        """Propose, evaluate and record exactly one trial; None if stopped during it or over budget."""
        with self._step_lock:
            if self.done:
                return None
            if not self._looping:  # a direct step() overrides an earlier pause() or stop()
                self._control.stop_requested.clear()
                self._control.running.set()
            t0 = time.perf_counter()
            try:
                return self._step()
            finally:
                self._elapsed += time.perf_counter() - t0

    def _step(self) -> Trial | None:
        self._tell_ready()
        trial_id, proposal = next(((i, p) for i, p in self._queue if i not in self._results), (None, None))
        if trial_id is None:
            return None
        job = self._jobs.get(trial_id)
        if job is None:  # not still running from before a stop
            self._start(trial_id, proposal)
            job = Job(trial_id, self.evaluator, proposal, self.metric, self._control.child())
            if self.isolate:
                job.evaluate = functools.partial(evaluate_isolated, self.executor)
            elif self._quick and self.trial_timeout is None:
                job.execute()  # the last evaluation took under QUICK seconds: no thread needed to walk away
            else:
                self._jobs[trial_id] = self._runner.start(job)
        outcome = outcome_of(job, self._control, self.trial_timeout, self._note_late)
        if outcome is None:  # interrupted, or still running after a stop: it stays pending
            if job.done.is_set():
                self._jobs.pop(trial_id, None)
            self._current = None
            return None
        self._quick = outcome.seconds < QUICK
        return self._finish(trial_id, proposal, outcome, job.started)

    def _finish(self, trial_id: int, proposal: Proposal, outcome: Outcome, started: float) -> Trial:
        trial = self._land(trial_id, proposal, outcome, started)
        self._current = None
        self._tell_ready()
        self._emit("trial_finished", trial)
        return trial

    def _note_late(self, job: Job, outcome: Outcome) -> None:
        if self._recorder is not None:
            self._recorder.note_late({"id": job.trial_id, "arch": str(job.proposal.arch), **outcome._asdict()})

    def run(self, background: bool = False) -> Search:
        """Step until the budget is spent or ``stop()``; with ``background`` return at once.

        Raises SearchFailed (in the foreground) when the first trials all fail the same way.
        """
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("this search is already running in the background; pause(), unpause() or stop() it")
        self._control.stop_requested.clear()
        if self._state != "paused":
            self._control.running.set()
        if background:
            self._thread = threading.Thread(target=self._loop, name="nasnb-search", daemon=True)
            self._set_state("running" if self._control.running.is_set() else "paused")
            self._thread.start()
            return self
        with sigint_stops(self._control) as interrupted:
            self._loop()
        if interrupted[0]:
            self.stop_seconds = time.monotonic() - interrupted[0]
            raise KeyboardInterrupt  # after a clean stop: the caller still learns of the Ctrl-C
        if self.failure is not None:
            raise self.failure
        return self

    def _loop(self) -> None:
        if self._state != "paused":
            self._set_state("running")
        self._looping = True
        try:
            if self.executor is not None:
                from .parallel import run_parallel

                run_parallel(self)
            else:
                while not self.done and not self._control.stop_requested.is_set() and self.failure is None:
                    if not self._wait_while_paused():
                        break
                    if self.step() is None and not self._queue and not self._control.stopping:
                        break  # nothing left to ask within the budget cap: never spin
        finally:
            self._looping = False
            self._maybe_checkpoint(force=True)
            self._set_state("finished" if self.done else "stopped")

    def _wait_while_paused(self) -> bool:
        while not self._control.running.wait(0.05):
            if self._control.stop_requested.is_set():
                return False
        return not self._control.stop_requested.is_set()

    def pause(self) -> None:
        """Hold a running search after the current batch (a running Trainer blocks until unpaused).

        On a search that is not running it only marks the next ``run()`` to start paused; a
        direct ``step()`` still runs its one step.
        """
        self._control.running.clear()
        if self._state in ("running", "idle", "stopped"):
            self._set_state("paused")

    def unpause(self) -> None:
        """Continue a paused search."""
        self._control.running.set()
        if self._state == "paused":
            self._set_state("running")

    def _deprecated_unpause(self) -> None:
        warnings.warn("search.resume() is deprecated; use search.unpause()", DeprecationWarning, stacklevel=2)
        self.unpause()

    def stop(self, wait: bool = True, timeout: float | None = 1.0) -> bool:
        """Stop within about a second; True when everything stopped, else a RuntimeWarning says what did not.

        The evaluation in flight is abandoned and proposed again by the next run or resume. An
        evaluation that never calls ``checkpoint()`` cannot be interrupted: it goes on in its
        thread, and the next ``run()`` waits for its result instead of starting it again.
        """
        self._control.stop_requested.set()
        self._control.running.set()
        if self._thread is not None and self._thread.is_alive():
            self._set_state("stopping")
        if not wait or threading.current_thread().name in ("nasnb-search", "nasnb-evaluation"):
            return True  # from a callback: the loop notices at once; waiting here would wait on ourselves
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        loop_alive = self._thread is not None and self._thread.is_alive()
        grace = 0.0 if self._thread is not None else STOP_GRACE  # a loop thread already gave its evaluation that
        busy = [i for i, job in list(self._jobs.items()) if not job.done.wait(min(grace, deadline - time.monotonic()))]
        if loop_alive or busy:
            what = "the search loop" if loop_alive else f"the evaluation of trial {busy[0]}"
            warnings.warn(not_stopped(what, timeout), RuntimeWarning, stacklevel=2)
            return False
        return True

    def wait(self, timeout: float | None = None) -> Search:
        """Block until a background run ends."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self

    def close(self) -> None:
        """Stop, save a checkpoint and release the run directory."""
        self.stop()
        if self._recorder is not None:
            self._maybe_checkpoint(force=True)
            self._recorder.close()
        self._runner.close()
        if self._owns_executor:
            self.executor.shutdown(wait=True, cancel_futures=True)  # kills a child still evaluating

    resume = deprecated_resume  # Search.resume(run_dir) and search.resume(): see resume.py

    def __repr__(self) -> str:
        best = self.best
        tail = f", best {best.score(self.metric):.4f}" if best is not None else ""
        return f"<Search {self.space.name}/{self.strategy.name} {self._state}: {len(self.trials)} trials{tail}>"
