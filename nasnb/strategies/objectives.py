"""Several objectives at once: Pareto fronts, crowding, and the scalar trade-off T = acc − λ·cost.

A small network that is almost as accurate as a big one is often the better answer, and there
are two ways to say so. The Pareto view keeps every architecture no other one beats on all
objectives at once (NSGA-II searches for that whole front); the scalar view fixes the exchange
rate λ between accuracy and cost and lets any single-objective strategy optimise
``metric="objective"`` through ``ScalarizedEvaluator``. The helpers here are plain functions
on points so a notebook can draw a front without running a search.

``points`` are sequences of objective vectors (one row per architecture). ``senses`` says per
column whether larger (``"max"``) or smaller (``"min"``) is better; by default all are maximised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

SENSES = ("max", "min")


def _oriented(points: Any, senses: Sequence[str] | None) -> np.ndarray:
    """Points as a float array in which larger is better in every column."""
    arr = np.asarray(points, dtype=float)
    if arr.ndim != 2:
        if arr.size == 0:
            return arr.reshape(0, len(senses) if senses else 0)
        raise ValueError(f"points must be a 2-D array (one row per architecture), got shape {arr.shape}")
    if senses is None:
        return arr
    senses = list(senses)
    if len(senses) != arr.shape[1] or any(s not in SENSES for s in senses):
        raise ValueError(f"senses must list 'max' or 'min' for each of the {arr.shape[1]} objectives, got {senses}")
    sign = np.array([1.0 if s == "max" else -1.0 for s in senses])
    return arr * sign


def dominates(a: Sequence[float], b: Sequence[float], senses: Sequence[str] | None = None) -> bool:
    """True when ``a`` is at least as good as ``b`` everywhere and strictly better somewhere."""
    pair = _oriented([a, b], senses)
    return bool(np.all(pair[0] >= pair[1]) and np.any(pair[0] > pair[1]))


def non_dominated_sort(points: Any, senses: Sequence[str] | None = None) -> list[list[int]]:
    """Indices of the points grouped into fronts: front 0 is the Pareto front, front 1 what is
    non-dominated once front 0 is removed, and so on (Deb et al. 2002's fast sort)."""
    arr = _oriented(points, senses)
    n = len(arr)
    if n == 0:
        return []
    ge = np.all(arr[:, None, :] >= arr[None, :, :], axis=2)
    gt = np.any(arr[:, None, :] > arr[None, :, :], axis=2)
    beats = ge & gt  # beats[i, j]: i dominates j
    dominated_by = beats.sum(axis=0)
    fronts: list[list[int]] = []
    current = [i for i in range(n) if dominated_by[i] == 0]
    while current:
        fronts.append(current)
        nxt = []
        for i in current:
            for j in np.flatnonzero(beats[i]):
                dominated_by[j] -= 1
                if dominated_by[j] == 0:
                    nxt.append(int(j))
        current = sorted(nxt)
    return fronts


def pareto_front(points: Any, senses: Sequence[str] | None = None) -> list[int]:
    """Indices of the non-dominated points, in input order."""
    fronts = non_dominated_sort(points, senses)
    return fronts[0] if fronts else []


def crowding_distance(points: Any, senses: Sequence[str] | None = None) -> np.ndarray:
    """NSGA-II's crowding distance of each point within its set (usually one front).

    Per objective, each point gets the normalised gap between its two neighbours; boundary
    points get infinity so the extremes of a front always survive. Larger means lonelier, and
    lonelier points are preferred to keep the front spread out.
    """
    arr = _oriented(points, senses)
    n = len(arr)
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for col in range(arr.shape[1]):
        order = np.argsort(arr[:, col], kind="stable")
        values = arr[order, col]
        span = values[-1] - values[0]
        distance[order[0]] = distance[order[-1]] = np.inf
        if span > 0:
            distance[order[1:-1]] += (values[2:] - values[:-2]) / span
    return distance


def scalarized(
    metrics: Mapping[str, Any],
    lam: float,
    complexity: str = "params",
    normalize: float | None = None,
    metric: str = "accuracy",
) -> float:
    """T = metrics[metric] − λ · metrics[complexity] / normalize.

    ``normalize`` puts the cost on a readable scale (e.g. ``1e6`` makes λ the accuracy one
    would give up per million parameters); None uses the raw value.
    """
    for key in (metric, complexity):
        if key not in metrics:
            raise KeyError(f"scalarized needs metric {key!r}; the evaluator returned {sorted(metrics)}")
    cost = float(metrics[complexity])
    if normalize is not None:
        if not normalize > 0:
            raise ValueError(f"normalize must be a positive number, got {normalize!r}")
        cost /= float(normalize)
    return float(metrics[metric]) - float(lam) * cost


class ScalarizedEvaluator:
    """Wraps an evaluator and adds ``metrics[output] = scalarized(...)``; search with ``metric=output``.

    Keyword arguments (e.g. ``epochs`` from a multi-fidelity strategy) pass through unchanged.
    """

    def __init__(
        self,
        evaluator: Callable[..., Mapping[str, Any]],
        lam: float,
        complexity: str = "params",
        *,
        normalize: float | None = None,
        metric: str = "accuracy",
        output: str = "objective",
    ) -> None:
        if not callable(evaluator):
            raise TypeError(f"evaluator must be callable, got {type(evaluator).__name__}")
        self.evaluator = evaluator
        self.lam = lam
        self.complexity = complexity
        self.normalize = normalize
        self.metric = metric
        self.output = output

    def __call__(self, arch: Any, **kwargs: Any) -> dict[str, Any]:
        metrics = dict(self.evaluator(arch, **kwargs))
        metrics[self.output] = scalarized(metrics, self.lam, self.complexity, self.normalize, self.metric)
        return metrics

    def __repr__(self) -> str:
        return f"ScalarizedEvaluator({self.evaluator!r}, lam={self.lam!r}, complexity={self.complexity!r})"
