"""Successive halving and Hyperband: spend few epochs on many architectures, many on few.

Most architectures can be told apart long before they finish training. Successive halving
(Jamieson & Talwalkar 2016) trains ``n`` random architectures for ``min_epochs``, keeps the best
1/η of them, trains those η times longer, and repeats until the survivors get ``max_epochs``.
Hyperband (Li et al. 2017) hedges against trusting short runs too much: it cycles through
brackets that start with different numbers of architectures at different budgets, from
"many, very short" to "few, trained fully" (plain random search).

The budget reaches the evaluator as ``Proposal.fidelity = {"epochs": e}``, which Search passes
on as a keyword: **the evaluator must accept it**, ``evaluator(arch, epochs=e)`` (nasnb's Trainer
does). Each proposal records its bracket, rung and epochs and, for a promoted architecture, the
score that earned the promotion.

Promotions train a known cell longer on purpose; what ``dedup`` (the default) prevents is a new
bracket starting a cell whose canonical key an earlier bracket already started: its short-run
score is known. A bracket's first rung is drawn from cells not started before, and the first
proposal of each bracket lists what was skipped.
"""

from __future__ import annotations

import abc
import copy
from typing import Any

from ..spaces import BaseSpace
from ..trial import Proposal, Trial
from ._checks import check_bool, check_int, check_metric
from .base import BaseStrategy


class _BracketStrategy(BaseStrategy):
    """Brackets of successive halving; subclasses say how each bracket is shaped (``plan``)."""

    _show_s = False
    min_epochs: int
    max_epochs: int
    eta: int
    metric: str

    def _check_params(self) -> None:
        check_int(self, "min_epochs", self.min_epochs, low=1)
        check_int(self, "max_epochs", self.max_epochs, low=self.min_epochs)
        check_int(self, "eta", self.eta, low=2)
        check_metric(self, "metric", self.metric)
        check_bool(self, "dedup", self.dedup)

    def setup(self, space: BaseSpace, seed: int | None = 0) -> None:
        self._check_params()
        super().setup(space, seed)
        self.brackets_: list[dict[str, Any]] = []  # open brackets, oldest first
        self.n_brackets_ = 0

    def budgets(self) -> list[int]:
        """Epochs of each rung of the fullest bracket: min, min·η, min·η², …, then max."""
        budgets = [self.min_epochs]
        while budgets[-1] * self.eta < self.max_epochs:
            budgets.append(budgets[-1] * self.eta)
        if budgets[-1] != self.max_epochs:  # a last rung at max, after the geometric ones
            budgets.append(self.max_epochs)
        return budgets

    @abc.abstractmethod
    def plan(self, index: int) -> dict[str, Any]:
        """``{"s", "sizes", "budgets"}`` of the ``index``-th bracket: rung sizes and epochs."""

    # -- ask / tell ---------------------------------------------------------------------------
    def ask(self) -> Proposal:
        self._require_setup()
        for bracket in self.brackets_:
            for rung, jobs in enumerate(bracket["rungs"]):
                for slot, job in enumerate(jobs):
                    if job["state"] == "queued":
                        return self._propose(bracket, rung, slot)
        bracket = self._open_bracket()
        return self._propose(bracket, 0, 0)

    def _open_bracket(self) -> dict[str, Any]:
        plan = self.plan(self.n_brackets_)
        archs, keys, skipped = [], set(), []
        started = set(self.evaluated_) if self.dedup else set()
        for _ in range(plan["sizes"][0]):
            arch = self.space_.sample(self.rng_)
            for _ in range(100):
                if arch.key not in keys and arch.key not in started:
                    break
                if arch.key in started and len(skipped) < 10:
                    skipped.append({"arch": str(arch), "reason": self._why_known(arch.key)})
                arch = self.space_.sample(self.rng_)
            keys.add(arch.key)
            self.evaluated_.setdefault(arch.key, None)
            archs.append(_job(str(arch), None))
        bracket = {"id": self.n_brackets_, **plan, "rungs": [archs], "skipped": skipped}
        self.n_brackets_ += 1
        self.brackets_.append(bracket)
        return bracket

    def _propose(self, bracket: dict[str, Any], rung: int, slot: int) -> Proposal:
        job = bracket["rungs"][rung][slot]
        job["state"] = "asked"
        self.n_asked_ += 1
        epochs = bracket["budgets"][rung]
        decision = {
            "kind": "halving",
            "bracket": bracket["id"],
            "rung": rung,
            "epochs": epochs,
            "slot": slot,
            "rung_size": bracket["sizes"][rung],
            "n_rungs": len(bracket["budgets"]),
            "promoted": job["from"] is not None,
            "promoted_from": job["from"],
        }
        if self._show_s:
            decision["s"] = bracket["s"]
        if rung == 0 and slot == 0 and bracket.get("skipped"):
            decision["skipped"] = bracket["skipped"]
        return Proposal(self.space_.parse(job["arch"]), decision, {"epochs": epochs})

    def tell(self, trial: Trial) -> None:
        self.n_told_ += 1
        self._remember(trial)
        decision = trial.decision
        bracket = next((b for b in self.brackets_ if b["id"] == decision.get("bracket")), None)
        if decision.get("kind") != "halving" or bracket is None:
            return
        if not trial.ok and "unexpected keyword argument 'epochs'" in (trial.error or ""):
            raise TypeError(
                f"{type(self).__name__} passes the training budget as evaluator(arch, epochs=e), but this "
                f"evaluator does not accept it ({trial.error}); add an `epochs=None` parameter"
            )
        rung, jobs = decision["rung"], bracket["rungs"][decision["rung"]]
        jobs[decision["slot"]].update(state="done", score=trial.score(self.metric), trial=trial.id)
        if any(job["state"] != "done" for job in jobs):
            return
        survivors = self.promotions(jobs, bracket["sizes"][rung + 1] if rung + 1 < len(bracket["sizes"]) else 0)
        if not survivors:
            self.brackets_.remove(bracket)
            return
        epochs = bracket["budgets"][rung]
        bracket["rungs"].append(
            [
                _job(
                    jobs[s]["arch"],
                    {"rung": rung, "epochs": epochs, "slot": s, "score": jobs[s]["score"], "trial": jobs[s]["trial"]},
                )
                for s in survivors
            ]
        )

    @staticmethod
    def promotions(jobs: list[dict[str, Any]], k: int) -> list[int]:
        """Slots of the ``k`` best finished jobs (ties: the earlier slot); failures never go up."""
        scored = [(s, job["score"]) for s, job in enumerate(jobs) if job["score"] is not None]
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return [s for s, _ in scored[:k]]

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "brackets": copy.deepcopy(self.brackets_), "n_brackets": self.n_brackets_}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.brackets_ = copy.deepcopy(state["brackets"])
        self.n_brackets_ = state["n_brackets"]


class HalvingStrategy(_BracketStrategy):
    """Synchronous successive halving over training epochs, one bracket after another.

    Parameters: ``min_epochs`` (budget of rung 0), ``max_epochs`` (budget of the last rung),
    ``eta`` (keep the best 1/eta of a rung; budgets grow by eta), ``n`` (architectures in
    rung 0; default eta ** number of halvings, so one survives), ``metric`` (maximised),
    ``dedup`` (a new bracket never starts a cell an earlier one started; see the module docstring).
    A rung is promoted once all its trials are told; a failed trial ranks below every
    success and is never promoted. With parallel evaluation a new bracket opens while a rung
    waits, so workers never idle.
    """

    name = "halving"

    def __init__(
        self,
        *,
        min_epochs: int = 1,
        max_epochs: int = 27,
        eta: int = 3,
        n: int | None = None,
        metric: str = "accuracy",
        dedup: bool = True,
    ) -> None:
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.eta = eta
        self.n = n
        self.metric = metric
        self.dedup = dedup

    def _check_params(self) -> None:
        super()._check_params()
        if self.n is not None:
            check_int(self, "n", self.n, low=1)

    def plan(self, index: int) -> dict[str, Any]:
        budgets = self.budgets()
        n = self.n if self.n is not None else self.eta ** (len(budgets) - 1)
        return {"s": len(budgets) - 1, "sizes": _halve(n, self.eta, len(budgets)), "budgets": budgets}


class HyperbandStrategy(_BracketStrategy):
    """Hyperband: successive halving brackets s = s_max, …, 0, cycled.

    Bracket s starts ⌈(s_max+1)/(s+1)·η^s⌉ architectures at ``max_epochs·η^-s`` epochs and
    halves s times; s = 0 trains a few architectures fully (random search). Parameters as
    HalvingStrategy without ``n``, which each bracket sets itself. Decisions also record ``s``.
    """

    name = "hyperband"
    _show_s = True

    def __init__(
        self, *, min_epochs: int = 1, max_epochs: int = 27, eta: int = 3, metric: str = "accuracy", dedup: bool = True
    ) -> None:
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.eta = eta
        self.metric = metric
        self.dedup = dedup

    def plan(self, index: int) -> dict[str, Any]:
        budgets = self.budgets()
        s_max = len(budgets) - 1
        s = s_max - index % (s_max + 1)
        n = -(-(s_max + 1) * self.eta**s // (s + 1))  # ceil in integers: no float rounding
        return {"s": s, "sizes": _halve(n, self.eta, s + 1), "budgets": budgets[s_max - s :]}


def _halve(n: int, eta: int, n_rungs: int) -> list[int]:
    return [max(1, n // eta**k) for k in range(n_rungs)]


def _job(arch: str, origin: dict[str, Any] | None) -> dict[str, Any]:
    return {"arch": arch, "state": "queued", "score": None, "trial": None, "from": origin}
