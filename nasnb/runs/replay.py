"""Rebuilding a strategy's state from the log: the basis of resume and of step-by-step replay.

Strategies are deterministic given their seed and the order of their asks and tells, so
repeating that order lands in exactly the state the live search had. A search keeps up to
``max_pending`` proposals asked but not yet told (1 for a plain search, the worker count with an
executor) and tells results in the order they were asked. So the order is fixed by the run's
settings, never by timing: before trial ``t`` is told, the proposals ``0 .. t + max_pending - 1``
(capped by the evaluation budget) have been asked. Replay follows the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..spaces import BaseSpace
from ..strategies import BaseStrategy, get
from ..trial import Proposal, Trial, jsonable
from .files import RunLogError

if TYPE_CHECKING:
    from .load import Run


def strategy_from_config(config: dict[str, Any]) -> BaseStrategy:
    spec = config["strategy"]
    return get(spec["name"], **spec.get("params", {}))


def ask_checked(strategy: BaseStrategy, space: BaseSpace) -> Proposal:
    """The strategy's next proposal, validated against the space and made JSON-exact."""
    proposal = strategy.ask()
    if not isinstance(proposal, Proposal):
        raise TypeError(f"{type(strategy).__name__}.ask() must return a Proposal, got {proposal!r}")
    return Proposal(space.validate(proposal.arch), jsonable(proposal.decision), proposal.fidelity)


def check_matches(proposal: Proposal, trial: Trial, space: BaseSpace) -> None:
    """Raise when the strategy now proposes something else than the log recorded for this trial."""
    fidelity = jsonable(proposal.fidelity) if proposal.fidelity else None
    same_arch = str(proposal.arch) == trial.arch or proposal.arch == space.parse(trial.arch)
    if not same_arch or fidelity != (trial.fidelity or None):
        raise RunLogError(
            f"replay diverged at trial {trial.id}: the strategy now proposes {proposal.arch} "
            f"(fidelity {fidelity}) but the log has {trial.arch} (fidelity {trial.fidelity}). "
            "The strategy's parameters or code changed since the run was recorded."
        )


def schedule(
    strategy: BaseStrategy,
    space: BaseSpace,
    told: Iterable[Trial],
    *,
    asked: int,
    pending: list[tuple[int, Proposal]],
    logged: Mapping[int, Trial],
    max_pending: int,
    cap: int | None,
) -> int:
    """Ask and tell ``told`` (consecutive ids) as the live search did; returns the ask count.

    ``pending`` holds the asked-but-untold proposals (id order) and is updated in place;
    every re-asked proposal with a logged trial is checked against it.
    """
    for trial in told:
        limit = trial.id + max_pending if cap is None else min(trial.id + max_pending, cap)
        while asked < max(limit, trial.id + 1):
            proposal = ask_checked(strategy, space)
            if asked in logged:
                check_matches(proposal, logged[asked], space)
            pending.append((asked, proposal))
            asked += 1
        trial_id, _ = pending.pop(0)
        if trial_id != trial.id:
            raise RunLogError(f"replay expected trial {trial_id} next but the log continues with {trial.id}")
        strategy.tell(trial)
    return asked


def fast_forward(strategy: BaseStrategy, space: BaseSpace, trials: list[Trial]) -> None:
    """Ask and tell ``trials`` in order (a plain search), checking each proposal against the log."""
    pending: list[tuple[int, Proposal]] = []
    by_id = {t.id: t for t in trials}
    schedule(
        strategy,
        space,
        trials,
        asked=trials[0].id if trials else 0,
        pending=pending,
        logged=by_id,
        max_pending=1,
        cap=None,
    )


def told_prefix(trials: list[Trial]) -> list[Trial]:
    """The trials a search had told: ids 0, 1, 2 ... up to the first gap, in id order."""
    by_id = {t.id: t for t in trials}
    out = []
    while len(out) in by_id:
        out.append(by_id[len(out)])
    return out


def replay(run: Run, upto: int | None = None) -> BaseStrategy:
    """A fresh strategy of ``run`` that has been asked and told its first ``upto`` trials."""
    prefix = told_prefix(run.trials)
    if upto is not None:
        prefix = prefix[: max(0, int(upto))]
    if upto is not None and len(prefix) < upto and len(prefix) < len(run.trials):
        raise RunLogError(
            f"trial {len(prefix)} is missing from the log (skipped as damaged?); an exact replay needs every "
            "trial up to the step asked for"
        )
    strategy = strategy_from_config(run.config)
    space = run.space
    strategy.setup(space, run.config.get("seed", 0))
    budget = run.config.get("budget") or {}
    schedule(
        strategy,
        space,
        prefix,
        asked=0,
        pending=[],
        logged={t.id: t for t in run.trials},
        max_pending=int(run.config.get("max_pending", 1)),
        cap=budget.get("evaluations"),
    )
    return strategy
