"""Search: the step loop that turns proposals into recorded trials.

``step()`` runs exactly one proposal -> evaluation -> record. ``run()`` repeats it until the
budget is spent, in the foreground or in a background thread (``background=True``) so a
notebook stays responsive; ``pause()``, ``resume()`` and ``stop()`` work from any thread and
reach into a running Trainer within one batch. Every finished trial is appended to the run
log before anyone is told about it, so a crash never loses a result that was shown.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import __version__
from .budget import Budget
from .evaluation.control import Control, EvaluationInterrupted, controlled
from .evaluation.registry import describe_evaluator, evaluator_from_description
from .evaluation.weights import bind_run_dir
from .runs.files import CHECKPOINT_FILE, RUN_FILE, TRIALS_FILE, RunLogError, RunWriter, read_json, read_trials, report
from .runs.load import best_trial, trials_dataframe
from .runs.replay import fast_forward, strategy_from_config
from .spaces import BaseSpace, space_from_config, space_to_config
from .strategies import BaseStrategy, get
from .trial import FAILED, OK, Proposal, Trial, jsonable

EVENTS = ("trial_started", "trial_progress", "trial_finished", "state_changed")
STATES = ("idle", "running", "paused", "stopping", "stopped", "finished")


class _ClassOrInstance:
    """``Search.resume(run_dir)`` continues a run from disk; ``search.resume()`` un-pauses."""

    def __init__(self, for_class: Callable[..., Any], for_instance: Callable[..., Any]) -> None:
        self.for_class, self.for_instance = for_class, for_instance
        self.__doc__ = for_class.__doc__

    def __get__(self, instance: Any, owner: type) -> Callable[..., Any]:
        if instance is None:
            return self.for_class.__get__(owner, owner)
        return self.for_instance.__get__(instance, owner)


class Search:
    """A steppable search over ``space`` with ``strategy`` and ``evaluator``.

    ``evaluator`` is any callable ``f(arch) -> {"accuracy": float, ...}`` (accuracy in [0, 1]);
    it may raise, which records a failed trial and the search goes on. ``metric`` names the
    result the search ranks by (``accuracy`` unless, say, a zero-cost proxy scores instead). ``strategy`` is a
    BaseStrategy or a registered name. ``budget`` is a number of evaluations, a duration
    ("5min") or a Budget. With ``run_dir`` every trial is written to disk as it finishes.
    ``executor`` (a concurrent.futures Executor, e.g. a Dask client's ``get_executor()``)
    evaluates up to ``n_workers`` proposals at once; trajectories are then no longer
    reproducible step for step, since results return in completion order.
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
        metric: str = "accuracy",
        checkpoint_every: float = 2.0,
    ) -> None:
        if not isinstance(space, BaseSpace):
            raise TypeError(f"space must be a nasnb space (e.g. CellSpace()), got {type(space).__name__}")
        if not callable(evaluator):
            raise TypeError(f"evaluator must be callable as evaluator(arch), got {type(evaluator).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {seed!r}")
        self.space = space
        self.strategy = get(strategy) if isinstance(strategy, str) else strategy
        if not isinstance(self.strategy, BaseStrategy):
            raise TypeError(f"strategy must be a BaseStrategy or a name, got {type(strategy).__name__}")
        self.evaluator = evaluator
        self.budget = Budget.parse(budget)
        self.seed = seed
        self.metric = metric
        self.executor = executor
        self.n_workers = n_workers or getattr(executor, "_max_workers", None) or 2
        self.checkpoint_every = checkpoint_every
        self.run_dir = Path(run_dir) if run_dir is not None else None
        strategy_metric = getattr(self.strategy, "metric", metric)
        if isinstance(strategy_metric, str) and strategy_metric != metric:
            warnings.warn(
                f"the strategy optimises {strategy_metric!r} but the search ranks trials by {metric!r}; "
                f"pass metric={strategy_metric!r} to both unless that is what you want",
                UserWarning,
                stacklevel=2,
            )

        self.trials: list[Trial] = []
        self.callback_errors: list[str] = []
        self.strategy.setup(space, seed)
        self._listeners: dict[str, list[Callable[..., Any]]] = {e: [] for e in EVENTS}
        self._state = "idle"
        self._control = Control(on_progress=self._on_progress)
        self._step_lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._pending: Proposal | None = None
        self._looping = False
        self._current: dict[str, Any] | None = None
        self._elapsed = 0.0
        self._last_checkpoint = 0.0
        self._writer: RunWriter | None = None
        if self.run_dir is not None:
            bind_run_dir(evaluator, self.run_dir)  # e.g. a Trainer keeping weights in <run_dir>/weights
            self._writer = RunWriter(self.run_dir, self._config())

    # -- configuration ------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        import platform

        import numpy

        versions = {"nasnb": __version__, "python": platform.python_version(), "numpy": numpy.__version__}
        torch = __import__("sys").modules.get("torch")
        if torch is not None:
            versions["torch"] = torch.__version__
        return {
            "format": 1,
            "space": space_to_config(self.space),
            "strategy": {"name": self.strategy.name, "params": jsonable(self.strategy.get_params())},
            "seed": self.seed,
            "budget": self.budget.to_dict() if self.budget else None,
            "metric": self.metric,
            "evaluator": describe_evaluator(self.evaluator),
            "versions": versions,
            "created": time.time(),
        }

    # -- events -------------------------------------------------------------------------------
    def on(self, event: str, callback: Callable[..., Any]) -> Callable[[], None]:
        """Call ``callback(payload)`` on ``event``; returns a function that unsubscribes.

        Events: ``trial_started`` (dict with id, arch, decision), ``trial_progress`` (dict from
        the evaluator, e.g. epoch), ``trial_finished`` (Trial), ``state_changed`` (state name).
        Callbacks run in the searching thread; an exception in one is kept in
        ``callback_errors`` and warned about, never allowed to break the search.
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

    def _on_progress(self, info: dict[str, Any]) -> None:
        if self._current is not None:
            self._emit("trial_progress", {"id": self._current["id"], **info})

    @property
    def state(self) -> str:
        return self._state

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self._emit("state_changed", state)

    # -- results ------------------------------------------------------------------------------
    @property
    def best(self) -> Trial | None:
        """The successful trial with the highest metric so far."""
        return best_trial(self.trials, self.metric)

    @property
    def elapsed(self) -> float:
        return self._elapsed

    @property
    def done(self) -> bool:
        return self.budget is not None and self.budget.exhausted(len(self.trials), self._elapsed)

    def to_dataframe(self):
        return trials_dataframe(self.trials)

    # -- stepping -----------------------------------------------------------------------------
    def step(self) -> Trial | None:
        """Propose, evaluate and record exactly one trial; None if stopped during it or over budget."""
        with self._step_lock:
            if self.done:
                return None
            if not self._looping:  # a direct step() overrides an earlier pause() or stop()
                self._control.stop_requested.clear()
                self._control.running.set()
            t0 = time.perf_counter()
            proposal, trial_id = self._ask()
            self._current = {"id": trial_id, "arch": str(proposal.arch), "decision": proposal.decision}
            self._emit("trial_started", dict(self._current))
            started = time.time()
            try:
                with controlled(self._control):
                    outcome = _evaluate(self.evaluator, proposal, self.metric)
            except EvaluationInterrupted:
                self._elapsed += time.perf_counter() - t0
                self._current = None
                return None
            return self._record(trial_id, proposal, outcome, started, time.perf_counter() - t0)

    def _ask(self) -> tuple[Proposal, int]:
        if self._pending is None:
            proposal = self.strategy.ask()
            if not isinstance(proposal, Proposal):
                raise TypeError(f"{type(self.strategy).__name__}.ask() must return a Proposal, got {proposal!r}")
            self._pending = Proposal(self.space.validate(proposal.arch), jsonable(proposal.decision), proposal.fidelity)
        return self._pending, len(self.trials)

    def _record(
        self,
        trial_id: int,
        proposal: Proposal,
        outcome: tuple[str, dict[str, Any], str | None, float],
        started: float,
        step_seconds: float,
    ) -> Trial:
        status, metrics, error, eval_seconds = outcome
        trial = Trial(
            id=trial_id,
            step=len(self.trials),
            arch=str(proposal.arch),
            decision=proposal.decision,
            metrics=metrics,
            status=status,
            error=error,
            started=started,
            seconds=eval_seconds,
            fidelity=jsonable(proposal.fidelity) if proposal.fidelity else None,
        )
        if self._writer is not None:
            self._writer.append(trial)  # on disk before anybody hears of it
        self._pending = None
        self._current = None
        self.trials.append(trial)
        self.strategy.tell(trial)
        self._elapsed += step_seconds
        self._maybe_checkpoint()
        self._emit("trial_finished", trial)
        return trial

    def _maybe_checkpoint(self, force: bool = False) -> None:
        if self._writer is None:
            return
        now = time.monotonic()
        if force or now - self._last_checkpoint >= self.checkpoint_every:
            self._writer.save_checkpoint(
                {"n_trials": len(self.trials), "elapsed": self._elapsed, "strategy": self.strategy.state_dict()}
            )
            self._last_checkpoint = now

    # -- running ------------------------------------------------------------------------------
    def run(self, background: bool = False) -> Search:
        """Step until the budget is spent or ``stop()``; with ``background`` return at once."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("this search is already running in the background; pause(), resume() or stop() it")
        self._control.stop_requested.clear()
        if self._state != "paused":
            self._control.running.set()
        if background:
            self._thread = threading.Thread(target=self._loop, name="nasnb-search", daemon=True)
            self._set_state("running" if self._control.running.is_set() else "paused")
            self._thread.start()
            return self
        self._loop()
        return self

    def _loop(self) -> None:
        if self._state != "paused":
            self._set_state("running")
        self._looping = True
        try:
            if self.executor is not None:
                self._loop_parallel()
            else:
                while not self.done and not self._control.stop_requested.is_set():
                    if not self._wait_while_paused():
                        break
                    self.step()
        finally:
            self._looping = False
            self._maybe_checkpoint(force=True)
            self._set_state("finished" if self.done else "stopped")

    def _wait_while_paused(self) -> bool:
        while not self._control.running.wait(0.05):
            if self._control.stop_requested.is_set():
                return False
        return not self._control.stop_requested.is_set()

    def _loop_parallel(self) -> None:
        in_flight: dict[cf.Future, tuple[int, Proposal, float, float]] = {}
        next_id = len(self.trials)
        while True:
            budget_left = math.inf
            if self.budget is not None and self.budget.evaluations is not None:
                budget_left = self.budget.evaluations - len(self.trials) - len(in_flight)
            while (
                len(in_flight) < self.n_workers
                and budget_left > 0
                and not self.done
                and self._control.running.is_set()
                and not self._control.stop_requested.is_set()
            ):
                proposal = self.strategy.ask()
                proposal = Proposal(self.space.validate(proposal.arch), jsonable(proposal.decision), proposal.fidelity)
                self._emit("trial_started", {"id": next_id, "arch": str(proposal.arch), "decision": proposal.decision})
                future = self.executor.submit(_evaluate, self.evaluator, proposal, self.metric)
                in_flight[future] = (next_id, proposal, time.time(), time.perf_counter())
                next_id += 1
                budget_left -= 1
            if not in_flight:
                if self._control.stop_requested.is_set() or self.done or budget_left <= 0:
                    return
                self._wait_while_paused()
                continue
            done, _ = cf.wait(in_flight, timeout=0.1, return_when=cf.FIRST_COMPLETED)
            if self._control.stop_requested.is_set():
                for future in in_flight:
                    future.cancel()
                return
            for future in done:
                trial_id, proposal, started, t0 = in_flight.pop(future)
                try:
                    outcome = future.result()
                except Exception as err:  # the executor itself failed (e.g. a worker died)
                    outcome = (FAILED, {}, _describe_error(err), 0.0)
                with self._step_lock:
                    self._record(trial_id, proposal, outcome, started, 0.0)
                    self._elapsed += time.perf_counter() - t0

    def pause(self) -> None:
        """Hold a running search after the current batch (a running Trainer blocks until resumed).

        On a search that is not running it only marks the next ``run()`` to start paused; a
        direct ``step()`` still runs its one step.
        """
        self._control.running.clear()
        if self._state in ("running", "idle", "stopped"):
            self._set_state("paused")

    def _unpause(self) -> None:
        """Continue a paused search."""
        self._control.running.set()
        if self._state == "paused":
            self._set_state("running")

    def stop(self, wait: bool = True, timeout: float | None = 5.0) -> None:
        """Stop within about a second; the evaluation in flight is abandoned and re-proposed on resume."""
        self._control.stop_requested.set()
        self._control.running.set()
        if self._thread is not None and self._thread.is_alive():
            self._set_state("stopping")
            if wait and threading.current_thread() is not self._thread:
                self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> Search:
        """Block until a background run ends."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self

    def close(self) -> None:
        """Stop and release the run log."""
        self.stop()
        if self._writer is not None:
            self._maybe_checkpoint(force=True)
            self._writer.close()

    # -- resume -------------------------------------------------------------------------------
    @classmethod
    def _resume_run(
        cls,
        run_dir: str | os.PathLike,
        evaluator: Callable[..., Mapping[str, Any]] | None = None,
        *,
        budget: Any = None,
        executor: cf.Executor | None = None,
    ) -> Search:
        """Continue a run from its directory, e.g. after the process was killed.

        The strategy is rebuilt from the checkpoint and the log (asking and telling the logged
        trials it had not yet seen), so the continued run proposes exactly what an uninterrupted
        one would have. ``evaluator`` is needed unless the run's evaluator is a registered one
        (Trainer, TableEvaluator). ``budget`` replaces the recorded budget (e.g. to extend it).
        """
        path = Path(run_dir)
        config = read_json(path / RUN_FILE)
        space = space_from_config(config["space"])
        strategy = strategy_from_config(config)
        if evaluator is None:
            evaluator = evaluator_from_description(config["evaluator"])
        search = cls.__new__(cls)
        Search.__init__(
            search,
            space,
            strategy,
            evaluator,
            budget=budget if budget is not None else config.get("budget"),
            seed=config.get("seed", 0),
            run_dir=None,
            executor=executor,
            metric=config.get("metric", "accuracy"),
        )
        search.run_dir = path
        trials, problems, _ = read_trials(path / TRIALS_FILE)
        report(problems)
        if any(t.id != i for i, t in enumerate(trials)):
            raise RunLogError(f"{path}: trial ids are not consecutive; this run cannot be resumed exactly")
        told = 0
        checkpoint_path = path / CHECKPOINT_FILE
        if checkpoint_path.exists():
            try:
                checkpoint = read_json(checkpoint_path)
                if checkpoint["n_trials"] <= len(trials):
                    strategy.load_state_dict(checkpoint["strategy"])
                    told = checkpoint["n_trials"]
                    search._elapsed = float(checkpoint.get("elapsed", 0.0))
            except (RunLogError, KeyError, TypeError, ValueError) as err:
                warnings.warn(f"{checkpoint_path} ignored ({err}); replaying the whole log", stacklevel=2)
                strategy.setup(space, search.seed)
                told = 0
        fast_forward(strategy, space, trials[told:])
        search._elapsed += sum(t.seconds for t in trials[told:])
        search.trials = list(trials)
        search._writer = RunWriter(path, None, resume=True)
        return search

    resume = _ClassOrInstance(_resume_run, _unpause)

    def __repr__(self) -> str:
        best = self.best
        tail = f", best {best.score(self.metric):.4f}" if best is not None else ""
        return f"<Search {self.space.name}/{self.strategy.name} {self._state}: {len(self.trials)} trials{tail}>"


def _evaluate(
    evaluator: Callable[..., Any], proposal: Proposal, metric: str = "accuracy"
) -> tuple[str, dict[str, Any], str | None, float]:
    """Run the evaluator; (status, metrics, error, seconds). Interruptions propagate."""
    t0 = time.perf_counter()
    try:
        result = evaluator(proposal.arch, **(proposal.fidelity or {}))
        metrics = _check_metrics(result, metric)
        return OK, metrics, None, time.perf_counter() - t0
    except (EvaluationInterrupted, KeyboardInterrupt):
        raise
    except Exception as err:
        return FAILED, {}, _describe_error(err), time.perf_counter() - t0


def _check_metrics(result: Any, metric: str = "accuracy") -> dict[str, Any]:
    if not isinstance(result, Mapping):
        raise TypeError(f"the evaluator must return a mapping such as {{'accuracy': 0.9}}, got {type(result).__name__}")
    if metric not in result:
        what = " (validation accuracy in [0, 1])" if metric == "accuracy" else ""
        raise ValueError(f"the evaluator's result has no {metric!r}{what}; keys: {sorted(result)}")
    metrics = jsonable(dict(result))
    value = metrics[metric]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{metric} must be a finite number, got {value!r}")
    accuracy = metrics.get("accuracy", 0.0)
    if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not (0.0 <= accuracy <= 1.0):
        raise ValueError(f"accuracy must be a number in [0, 1], got {accuracy!r}")
    return metrics


def _describe_error(err: BaseException) -> str:
    head = "".join(traceback.format_exception_only(type(err), err)).strip()
    frames = traceback.extract_tb(err.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return head + where
