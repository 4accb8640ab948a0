"""Reading a run back to the exact point where its search left off.

The log is the source of truth; the checkpoint only saves replay time. A checkpoint is used
when it belongs to this run (its ``run_id``), was taken under the same pending-proposal rule
and budget cap, and is not ahead of the log; anything else is ignored with a warning and the
whole log is replayed. Trials that landed but were not yet told (a parallel run stopped while
an earlier trial was still out) are kept as results, so no finished evaluation is run again.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..spaces import BaseSpace
from ..strategies import BaseStrategy
from ..trial import Proposal, Trial
from .files import CHECKPOINT_FILE, TRIALS_FILE, RunLogError, read_json, read_trials, report
from .replay import check_matches, schedule, told_prefix


@dataclass(frozen=True)
class Restored:
    """Where a run stands: what the resumed Search starts from."""

    trials: list[Trial]  # in log order
    told: int
    asked: int
    pending: list[tuple[int, Proposal]]
    results: dict[int, Trial]  # landed, not yet told
    elapsed: float
    good_length: int
    problems: list[str] = field(default_factory=list)


def restore(
    path: Path,
    config: dict[str, Any],
    strategy: BaseStrategy,
    space: BaseSpace,
    *,
    max_pending: int,
    cap: int | None,
) -> Restored:
    """Bring a set-up ``strategy`` to the state of the run in ``path``."""
    log = read_trials(path / TRIALS_FILE)
    trials = log.trials
    report(log.problems)
    by_id: dict[int, Trial] = {}
    for t in trials:
        if t.id in by_id:
            raise RunLogError(
                f"{path / TRIALS_FILE} holds trial {t.id} twice (two processes wrote to this run at once?); "
                "it cannot be resumed exactly. Keep one copy of each id, or start a new run"
            )
        by_id[t.id] = t
    prefix = told_prefix(trials)
    told, asked, pending, elapsed = 0, 0, [], 0.0
    checkpoint = _usable_checkpoint(path, config, max_pending=max_pending, cap=cap, n_logged=len(prefix))
    if checkpoint is not None:
        try:
            strategy.load_state_dict(checkpoint["strategy"])
            pending = [(int(p["id"]), _proposal(p, space)) for p in checkpoint["pending"]]
            told, asked, elapsed = int(checkpoint["n_told"]), int(checkpoint["n_asked"]), float(checkpoint["elapsed"])
            for trial_id, proposal in pending:
                if trial_id in by_id:
                    check_matches(proposal, by_id[trial_id], space)
        except (KeyError, TypeError, ValueError, RunLogError) as err:
            warnings.warn(f"{path / CHECKPOINT_FILE} ignored ({str(err)[:200]}); replaying the whole log", stacklevel=3)
            strategy.setup(space, config.get("seed", 0))
            told, asked, pending, elapsed = 0, 0, [], 0.0
    asked = schedule(
        strategy,
        space,
        prefix[told:],
        asked=asked,
        pending=pending,
        logged=by_id,
        max_pending=max_pending,
        cap=cap,
    )
    elapsed += sum(t.seconds for t in prefix[told:])
    results = {i: t for i, t in by_id.items() if i >= len(prefix)}
    return Restored(trials, len(prefix), asked, pending, results, elapsed, log.good_length, log.problems)


def _usable_checkpoint(
    path: Path, config: dict[str, Any], *, max_pending: int, cap: int | None, n_logged: int
) -> dict[str, Any] | None:
    file = path / CHECKPOINT_FILE
    if not file.exists():
        return None
    try:
        state = read_json(file)
    except RunLogError as err:
        warnings.warn(f"{file} ignored ({err}); replaying the whole log", stacklevel=4)
        return None
    reason = None
    if not isinstance(state, dict) or not {"n_told", "n_asked", "strategy", "pending"} <= set(state):
        reason = "it is not a nasnb checkpoint of this version"
    elif state.get("run_id") != config.get("run_id"):
        reason = f"it belongs to another run (run id {str(state.get('run_id'))[:12]}, this run {config.get('run_id')})"
    elif state.get("max_pending", 1) != max_pending:
        reason = "it was taken with another number of pending proposals"
    elif not isinstance(state["n_told"], int) or state["n_told"] > n_logged:
        reason = f"it is ahead of the log ({state['n_told']} trials told, {n_logged} in the log)"
    elif state.get("cap") != cap and not _same_order(state, cap, max_pending):
        reason = "the budget changed where it decides how far the search had asked ahead"
    if reason is not None:
        warnings.warn(f"{file} ignored: {reason}; replaying the whole log", stacklevel=4)
        return None
    return state


def _same_order(state: dict[str, Any], cap: int | None, max_pending: int) -> bool:
    """Whether both caps let the search ask the same proposals before each told trial."""
    inf = float("inf")
    reach = state["n_told"] - 1 + max_pending  # the most asks made before the last tell
    return reach <= min(state.get("cap") or inf, cap or inf) and state["n_asked"] <= (cap or inf)


def _proposal(record: dict[str, Any], space: BaseSpace) -> Proposal:
    return Proposal(space.parse(record["arch"]), record.get("decision") or {}, record.get("fidelity"))
