"""NSGA-II: evolve a whole Pareto front of accuracy against cost, not a single winner.

Deb et al. (2002). The population is ranked by non-dominated sorting (front 0 is beaten by no
one on every objective at once, front 1 only by front 0, ...) and, within a front, by crowding
distance (how far a point is from its neighbours on the front). Parents are picked by binary
tournament on (rank, crowding); children come from crossover and mutation. Once a generation
of children has been told, parents and children compete together and the best
``population_size`` by (rank, crowding) survive, which keeps the front both good and spread.

Objectives are read from each trial's metrics, e.g. ``{"accuracy": "max", "params": "min"}``,
so the evaluator must report every metric named there (``params``, ``macs``, ``latency_ms``...).

A front of small cells breeds the same few cells over and over (measured: 57 distinct cells in 100
trials, one of them 13 times); with ``dedup`` (the default) a child whose canonical key was already
evaluated is bred anew, and the decision lists what was skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..spaces import BaseSpace
from ..trial import Proposal, Trial
from ._checks import check_bool, check_float, check_int
from .base import BaseStrategy
from .objectives import SENSES, crowding_distance, non_dominated_sort


class NSGA2Strategy(BaseStrategy):
    """NSGA-II over the space's mutation and crossover.

    Parameters: ``population_size`` (parents kept, and children per generation; the first
    generation is random), ``objectives`` (metric name -> ``"max"`` or ``"min"``),
    ``crossover_rate`` (probability a child mixes two parents before being mutated), ``dedup``
    (breed again, up to ``max_retries`` times, when a child's canonical key was proposed before).
    A failed trial, or one with a non-finite objective, is ignored (it never enters the
    population); a successful trial *missing* an objective metric raises a KeyError naming it.
    """

    name = "nsga2"

    def __init__(
        self,
        *,
        population_size: int = 20,
        objectives: Mapping[str, str] | None = None,
        crossover_rate: float = 0.5,
        dedup: bool = True,
        max_retries: int = 50,
    ) -> None:
        self.population_size = population_size
        self.objectives = objectives
        self.crossover_rate = crossover_rate
        self.dedup = dedup
        self.max_retries = max_retries

    def _objectives(self) -> dict[str, str]:
        return dict(self.objectives) if self.objectives is not None else {"accuracy": "max", "params": "min"}

    def setup(self, space: BaseSpace, seed: int | None = 0) -> None:
        check_int(self, "population_size", self.population_size, low=2)
        check_float(self, "crossover_rate", self.crossover_rate, low=0.0, high=1.0)
        check_bool(self, "dedup", self.dedup)
        check_int(self, "max_retries", self.max_retries, low=0)
        objectives = self._objectives() if isinstance(self.objectives, (Mapping, type(None))) else {}
        if len(objectives) < 2 or any(sense not in SENSES for sense in objectives.values()):
            raise ValueError(
                "NSGA2Strategy parameter objectives must map at least two metric names to 'max' or 'min', e.g. "
                f"{{'accuracy': 'max', 'params': 'min'}}, got {self.objectives!r}"
            )
        super().setup(space, seed)
        self.population_: list[dict[str, Any]] = []  # survivors: {"id", "arch", "values", "rank", "crowding"}
        self.children_: list[dict[str, Any]] = []  # successful children of this generation
        self.n_generation_told_ = 0
        self.generation_ = 0

    def population_ids(self) -> list[int]:
        """Ids of the surviving parents, so explorers can highlight the current population."""
        return [m["id"] for m in self.population_]

    # -- ask ----------------------------------------------------------------------------------
    def ask(self) -> Proposal:
        self._require_setup()
        self.n_asked_ += 1
        return self._propose_new(self._breed, dedup=self.dedup, max_retries=self.max_retries)

    def _breed(self) -> Proposal:
        if self.n_asked_ <= self.population_size:
            return Proposal(self.space_.sample(self.rng_), {"kind": "init"})
        if not self.population_:
            reason = "no successful trial in the population yet"
            return Proposal(self.space_.sample(self.rng_), {"kind": "random", "reason": reason})
        first = self._tournament()
        parents = [first]
        parent = self.space_.parse(first["arch"])
        decision: dict[str, Any] = {
            "kind": "offspring",
            "generation": self.generation_,
            "front_size": sum(m["rank"] == 0 for m in self.population_),
        }
        if len(self.population_) > 1 and self.rng_.random() < self.crossover_rate:
            second = self._tournament(exclude=first["id"])
            parents.append(second)
            parent, decision["crossover"] = self.space_.crossover(parent, self.space_.parse(second["arch"]), self.rng_)
        child, decision["mutation"] = self.space_.mutate(parent, self.rng_)
        decision["parents"] = [{"id": p["id"], "rank": p["rank"], "crowding": p["crowding"]} for p in parents]
        return Proposal(child, decision)

    def _tournament(self, exclude: int | None = None) -> dict[str, Any]:
        """Binary tournament: lower rank wins, then larger crowding distance, then the earlier pick."""
        pool = [m for m in self.population_ if m["id"] != exclude] or self.population_
        picks = self.rng_.choice(len(pool), size=min(2, len(pool)), replace=False)
        members = [pool[int(i)] for i in picks]
        return min(members, key=lambda m: (m["rank"], -_crowding(m)))

    # -- tell ---------------------------------------------------------------------------------
    def tell(self, trial: Trial) -> None:
        self.n_told_ += 1
        self._remember(trial)
        self.n_generation_told_ += 1
        values = self._values(trial)
        if values is not None:
            self.children_.append({"id": trial.id, "arch": trial.arch, "values": values})
        if self.n_generation_told_ >= self.population_size:
            self._select()

    def _values(self, trial: Trial) -> list[float] | None:
        if not trial.ok:
            return None
        missing = [name for name in self._objectives() if name not in trial.metrics]
        if missing:
            raise KeyError(
                f"NSGA2Strategy needs objective metric(s) {missing} but trial {trial.id}'s evaluator returned "
                f"{sorted(trial.metrics)}; report them from the evaluator or change objectives"
            )
        values = [trial.score(name) for name in self._objectives()]
        return None if any(v is None for v in values) else values

    def _select(self) -> None:
        """Parents and this generation's children compete; the best population_size survive."""
        everyone = self.population_ + self.children_
        senses = list(self._objectives().values())
        ordered: list[int] = []
        points = np.array([m["values"] for m in everyone], dtype=float).reshape(len(everyone), len(senses))
        for front in non_dominated_sort(points, senses):
            if len(ordered) + len(front) <= self.population_size:
                ordered += front
                continue
            crowd = crowding_distance(points[front], senses)
            by_crowding = sorted(range(len(front)), key=lambda i: (-crowd[i], front[i]))
            ordered += [front[i] for i in by_crowding[: self.population_size - len(ordered)]]
            break
        survivors = [{k: everyone[i][k] for k in ("id", "arch", "values")} for i in sorted(ordered)]
        self.population_ = _ranked(survivors, senses)
        self.children_ = []
        self.n_generation_told_ = 0
        self.generation_ += 1

    def pareto_front(self) -> list[dict[str, Any]]:
        """Members of the current population on the first front: id, arch and objective values."""
        names = list(self._objectives())
        return [
            {"id": m["id"], "arch": m["arch"], **dict(zip(names, m["values"]))}
            for m in self.population_
            if m["rank"] == 0
        ]

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "population": [dict(m) for m in self.population_],
            "children": [dict(m) for m in self.children_],
            "n_generation_told": self.n_generation_told_,
            "generation": self.generation_,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.population_ = [dict(m) for m in state["population"]]
        self.children_ = [dict(m) for m in state["children"]]
        self.n_generation_told_ = state["n_generation_told"]
        self.generation_ = state["generation"]


def _ranked(members: list[dict[str, Any]], senses: list[str]) -> list[dict[str, Any]]:
    """Members with their front rank and crowding distance within that front (None = infinite)."""
    if not members:
        return []
    points = np.array([m["values"] for m in members], dtype=float)
    out = [dict(m) for m in members]
    for rank, front in enumerate(non_dominated_sort(points, senses)):
        crowd = crowding_distance(points[front], senses)
        for i, c in zip(front, crowd):
            out[i]["rank"] = rank
            out[i]["crowding"] = None if np.isinf(c) else float(c)
    return out


def _crowding(member: dict[str, Any]) -> float:
    return np.inf if member["crowding"] is None else member["crowding"]
