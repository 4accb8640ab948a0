"""Best so far and regret: the curve every comparison of searches is read from.

One implementation for three pictures: the explorer's best-so-far staircase (one run, drawn with
bqplot), ``nasnb.compare``'s regret curves (many seeds, drawn with matplotlib) and the running
best the explorer keeps while a search grows (``TrialColumns``, which continues the curve from
the last value with ``initial``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def best_so_far(scores: Any, *, initial: float = np.nan, axis: int = -1) -> np.ndarray:
    """The running maximum of ``scores`` along ``axis``, ignoring NaN; NaN until the first finite score.

    ``initial`` is the best found before ``scores`` begin (NaN: none), so a curve can be extended
    chunk by chunk. Infinite scores are treated as missing.
    """
    arr = np.asarray(scores, dtype=float)
    filled = np.where(np.isfinite(arr), arr, -np.inf)
    if np.isfinite(initial) and arr.size:
        first = [slice(None)] * arr.ndim
        first[axis] = slice(0, 1)
        filled[tuple(first)] = np.maximum(filled[tuple(first)], initial)
    best = np.maximum.accumulate(filled, axis=axis) if arr.size else filled
    return np.where(np.isfinite(best), best, np.nan)


@dataclass(frozen=True)
class RegretCurve:
    """Mean best-so-far regret after each evaluation with a confidence band (NaN where no seed has a value)."""

    evaluations: np.ndarray
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def regret_band(curves: Any, level: float = 0.95, method: str = "t", n_boot: int = 2000) -> RegretCurve:
    """Mean over seeds (rows of ``curves``) and a ``level`` band: Student-t interval or percentile bootstrap."""
    curves = np.asarray(curves, dtype=float)
    if method not in ("t", "bootstrap"):
        raise ValueError(f"method must be 't' or 'bootstrap', got {method!r}")
    if curves.ndim != 2:
        raise ValueError(f"curves must be a 2-D array (one row per seed), got shape {curves.shape}")
    mean = np.full(curves.shape[1], np.nan)
    lower, upper = mean.copy(), mean.copy()
    rng = np.random.default_rng(0)  # the band of a given comparison is always the same
    for e in range(curves.shape[1]):
        values = curves[:, e][np.isfinite(curves[:, e])]
        if len(values) == 0:
            continue
        mean[e] = values.mean()
        if len(values) == 1:
            lower[e] = upper[e] = mean[e]
        elif method == "t":
            from scipy.stats import t

            half = t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
            lower[e], upper[e] = mean[e] - half, mean[e] + half
        else:
            boot = rng.choice(values, size=(n_boot, len(values))).mean(axis=1)
            lower[e], upper[e] = np.quantile(boot, [0.5 - level / 2, 0.5 + level / 2])
    return RegretCurve(np.arange(1, curves.shape[1] + 1), mean, lower, upper)


@dataclass(frozen=True)
class RegretPlot:
    """What ``plot_regret`` draws: ``curves`` per label, clipped at ``floor`` on a log axis (None: linear)."""

    curves: dict[str, RegretCurve]
    floor: float | None


def regret_plot_data(curves: dict[str, RegretCurve], *, log: bool = False) -> RegretPlot:
    """The curves as drawn: on a log axis, zero regret and bands below zero are raised to a floor
    (a tenth of the smallest positive value, 1e-4 when none is) instead of vanishing."""
    if not log:
        return RegretPlot(dict(curves), None)
    values = np.concatenate([np.concatenate([c.mean, c.lower, c.upper]) for c in curves.values()] or [np.array([])])
    positive = values[np.isfinite(values) & (values > 0)]
    floor = float(positive.min() / 10) if len(positive) else 1e-4
    clipped = {
        name: RegretCurve(c.evaluations, *(np.maximum(v, floor) for v in (c.mean, c.lower, c.upper)))
        for name, c in curves.items()
    }
    return RegretPlot(clipped, floor)


__all__ = ["RegretCurve", "RegretPlot", "best_so_far", "regret_band", "regret_plot_data"]
