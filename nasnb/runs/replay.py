"""Rebuilding a strategy's state from the log: the basis of resume and of step-by-step replay.

Strategies are deterministic given their seed and what they were told, so asking and telling
the logged trials again, in order, lands in exactly the state the live search had.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..spaces import BaseSpace
from ..strategies import BaseStrategy, get
from ..trial import Trial, jsonable
from .files import RunLogError

if TYPE_CHECKING:
    from .load import Run


def strategy_from_config(config: dict[str, Any]) -> BaseStrategy:
    spec = config["strategy"]
    return get(spec["name"], **spec.get("params", {}))


def fast_forward(strategy: BaseStrategy, space: BaseSpace, trials: list[Trial]) -> None:
    """Ask and tell ``trials`` in order, checking the strategy proposes what the log says."""
    for trial in trials:
        proposal = strategy.ask()
        fidelity = jsonable(proposal.fidelity) if proposal.fidelity else None
        if (str(proposal.arch) != trial.arch and proposal.arch != space.parse(trial.arch)) or fidelity != (
            trial.fidelity or None
        ):
            raise RunLogError(
                f"replay diverged at trial {trial.id}: the strategy now proposes {proposal.arch} "
                f"(fidelity {fidelity}) but the log has {trial.arch} (fidelity {trial.fidelity}). "
                "The strategy's parameters or code changed since the run was recorded."
            )
        strategy.tell(trial)


def replay(run: Run, upto: int | None = None) -> BaseStrategy:
    """A fresh strategy of ``run`` that has been asked and told its first ``upto`` trials."""
    trials = run.trials if upto is None else run.trials[: max(0, int(upto))]
    if trials and any(t.id != i for i, t in enumerate(trials)):
        raise RunLogError(
            "trials are missing or out of order in the log (a parallel run, or skipped damaged lines); "
            "an exact replay needs every trial in ask order"
        )
    strategy = strategy_from_config(run.config)
    space = run.space
    strategy.setup(space, run.config.get("seed", 0))
    fast_forward(strategy, space, trials)
    return strategy
