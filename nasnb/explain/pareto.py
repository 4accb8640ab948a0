"""The Pareto front of a search: accuracy against one cost, found by sorting once and sweeping.

For two objectives the first front needs no pairwise comparison: sorted by cost (cheapest first,
the better score first among equal costs), a point is on the front exactly when its score beats
every cheaper point's, which one running maximum tells. That is O(n log n) instead of the
O(n^2) of a general non-dominated sort (``nasnb.strategies.non_dominated_sort``, which NSGA-II
needs for all its fronts), and only the first front is drawn. ``pareto_data`` is the picture's
data, drawn by ``plot_pareto`` (matplotlib) and the explorer's Pareto view (bqplot).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .columns import Columns, TrialColumns, as_columns


def pareto_front_2d(score: Any, cost: Any) -> np.ndarray:
    """Indices of the points no other point beats on both ``score`` (maximised) and ``cost``
    (minimised), sorted by cost (then by score, best first). Equal points are all kept, as none
    dominates the other; NaN points are never on the front."""
    score, cost = np.asarray(score, dtype=float).reshape(-1), np.asarray(cost, dtype=float).reshape(-1)
    if score.shape != cost.shape:
        raise ValueError(f"score and cost must have one value per point, got {score.shape} and {cost.shape}")
    finite = np.flatnonzero(np.isfinite(score) & np.isfinite(cost))
    if not len(finite):
        return np.zeros(0, dtype=np.int64)
    order = finite[np.lexsort((-score[finite], cost[finite]))]
    s, c = score[order], cost[order]
    better_before = np.r_[-np.inf, np.maximum.accumulate(s)[:-1]]  # best score among cheaper (or equal) points
    keep = s > better_before
    same = np.r_[False, (s[1:] == s[:-1]) & (c[1:] == c[:-1])]  # repeats of the point just before
    run_start = np.maximum.accumulate(np.where(same, 0, np.arange(len(s))))
    return order[keep[run_start]].astype(np.int64)


@dataclass(frozen=True)
class ParetoFront:
    """Successful trials reporting ``cost`` (``ids``/``x`` = cost/``y`` = metric) and the front
    among them, sorted by cost (``front_ids``/``front_x``/``front_y``)."""

    cost: str
    metric: str
    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    front_ids: np.ndarray
    front_x: np.ndarray
    front_y: np.ndarray


def pareto_data(source: Any, *, cost: str = "params", metric: str = "accuracy") -> ParetoFront:
    """The non-dominated trials for ``metric`` (maximised) against ``cost`` (minimised).

    ``source`` is a list of Trials, a Run, a Search, or ``Columns`` (a prefix of a search, as the
    explorer keeps it; its own metric is used). A cost the trials do not report gives no points.
    """
    columns = as_columns(source, metric)
    values = columns.costs.get(cost)
    if values is None:
        if isinstance(source, Columns):
            raise ValueError(f"cost {cost!r} is not kept in these columns; they keep {sorted(columns.costs)}")
        columns = TrialColumns(metric, costs=(cost,)).extend(getattr(source, "trials", source)).view()
        values = columns.costs[cost]
    keep = np.flatnonzero(np.isfinite(columns.scores) & np.isfinite(values))
    ids, x, y = columns.ids[keep], values[keep], columns.scores[keep]
    front = pareto_front_2d(y, x)
    return ParetoFront(cost, columns.metric, ids, x, y, ids[front], x[front], y[front])


def plot_pareto(data: ParetoFront, ax: Any = None, *, log_cost: bool = False):
    """Every trial in grey, the front as an orange staircase (matplotlib); returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    ax.scatter(data.x, data.y, s=10, c="#999999", label="trials")
    ax.step(data.front_x, data.front_y, where="post", color="tab:orange", lw=1.5)
    ax.scatter(data.front_x, data.front_y, s=24, c="tab:orange", zorder=3, label=f"front ({len(data.front_ids)})")
    if log_cost:
        ax.set_xscale("log")
    ax.set_xlabel(f"{data.cost} (lower is better)")
    ax.set_ylabel(f"{data.metric} (higher is better)")
    ax.set_title(f"Pareto front: {len(data.front_ids)} of {len(data.ids)} trials", fontsize=9)
    if len(data.ids):
        ax.legend(fontsize=8, loc="lower right")
    return ax


__all__ = ["ParetoFront", "pareto_data", "pareto_front_2d", "plot_pareto"]
