"""Continuing a recorded run: ``resume_search(run_dir)``, after a stop, Ctrl-C, kill -9 or a crash.

The Search is rebuilt through its constructor from ``run.json`` (as Optuna's ``load_study``
rebuilds a study from its storage) and then brought to the point where the run left off by
``runs/restore.py``: the strategy replays the log in the order the live search asked and told,
pending proposals come back, and results that landed but were not yet told are reused. The
continued run proposes exactly what an uninterrupted one would have.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .budget import Budget
from .evaluation.registry import evaluator_from_description
from .runs.files import check_run_dir, read_config
from .runs.record import RunRecorder
from .runs.replay import strategy_from_config
from .runs.restore import restore
from .spaces import space_from_config

if TYPE_CHECKING:
    from .search import Search


def resume_search(
    run_dir: str | os.PathLike,
    evaluator: Callable[..., Mapping[str, Any]] | None = None,
    *,
    budget: Any = None,
    executor: cf.Executor | None = None,
    trial_timeout: float | None = None,
    fail_fast: int | None = 3,
    isolate: bool | None = None,
) -> Search:
    """Continue the run in ``run_dir`` exactly where it left off.

    ``evaluator`` is needed unless the run's evaluator is a registered one (Trainer,
    TableEvaluator). ``budget`` replaces the recorded budget (e.g. to extend it) and is recorded
    as the budget in force. ``executor`` may differ from the original run's; the number of
    proposals kept out at once stays the recorded one, so the trajectory does not change.
    ``trial_timeout`` and ``isolate`` default to the recorded ones.
    """
    from .search import Search

    path = Path(os.fspath(run_dir))
    check_run_dir(path)
    config = read_config(path)
    space = space_from_config(config["space"])
    strategy = strategy_from_config(config)
    if evaluator is None:
        evaluator = evaluator_from_description(config["evaluator"])
    max_pending = int(config.get("max_pending", 1))
    isolate = bool(config.get("isolate", False)) if isolate is None else isolate
    return Search(
        space,
        strategy,
        evaluator,
        budget=budget if budget is not None else config.get("budget"),
        seed=config.get("seed", 0),
        run_dir=path,
        executor=executor,
        max_pending=max_pending if executor is not None or isolate else None,
        isolate=isolate and executor is None,
        metric=config.get("metric", "accuracy"),
        trial_timeout=trial_timeout if trial_timeout is not None else config.get("trial_timeout"),
        fail_fast=fail_fast,
        continue_run=True,
    )


def restore_into(search: Search) -> None:
    """Lock ``search.run_dir``, replay its log into ``search`` and keep the budget in force on record."""
    recorder = RunRecorder.reopen(search.run_dir)
    try:
        config = recorder.config
        search.max_pending = int(config.get("max_pending", 1))
        cap = search.budget.evaluations if search.budget is not None else None
        state = restore(search.run_dir, config, search.strategy, search.space, max_pending=search.max_pending, cap=cap)
        recorder.open_log(state.good_length)
        recorder.set_config(
            budget=search.budget.to_dict() if search.budget is not None else None, trial_timeout=search.trial_timeout
        )
    except BaseException:
        recorder.close()
        raise
    search._recorder = recorder
    search.trials = list(state.trials)
    search._told, search._asked = state.told, state.asked
    search._queue = collections.deque(state.pending)
    search._results = dict(state.results)
    search._elapsed = state.elapsed
    from .runs.load import best_trial

    search._best = best_trial(search.trials, search.metric)
    if isinstance(search.budget, Budget) and search.budget.evaluations is not None:
        over = len(search.trials) - search.budget.evaluations
        if over > 0:
            recorder.close()
            raise ValueError(
                f"{search.run_dir} already has {len(search.trials)} trials, more than the budget of "
                f"{search.budget.evaluations} asked for; pass a budget of at least {len(search.trials)}"
            )
