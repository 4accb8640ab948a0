"""Regret of a search run on a benchmark table: how far its incumbent is from the best cell, per evaluation.

The usual way to compare NAS strategies on a tabulated benchmark (NAS-Bench-201, NAS-Bench-101):
the optimum is known, so each run's incumbent can be scored against it after every trial.
"""

from __future__ import annotations

import numpy as np

from ..spaces import CellSpace
from .benchmark_table import BenchmarkTable, stored_float


def regret_curve(trials, table: BenchmarkTable, *, metric: str = "val_accuracy"):
    """Regret after each evaluation of a search run on ``table``: how far its incumbent is from the optimum.

    The incumbent after ``n`` trials is the successful trial with the highest ``accuracy`` so far (what
    the search itself can see); its regret is ``table.optimum(metric) - metric of the incumbent``. Using
    ``metric="test_accuracy"`` reports the held-out accuracy of the cell the search would pick.
    Returns a DataFrame with ``evaluation``, ``simulated_seconds`` (cumulative table training time),
    ``incumbent`` (arch text) and ``regret``; NaN until the first successful trial.
    """
    import pandas as pd

    optimum = table.optimum(metric)
    values = table._metric(metric)
    space = CellSpace()
    rows, best, incumbent, regret, seconds = [], -np.inf, None, float("nan"), 0.0
    for n, trial in enumerate(trials, start=1):
        score = trial.score("accuracy")
        seconds += float(trial.metrics.get("train_seconds", 0.0)) if trial.ok else 0.0
        if score is not None and score > best:
            best, incumbent = score, trial.arch
            regret = optimum - stored_float(values[table.row(space.parse(trial.arch))])
        rows.append({"evaluation": n, "simulated_seconds": seconds, "incumbent": incumbent, "regret": regret})
    return pd.DataFrame(rows, columns=["evaluation", "simulated_seconds", "incumbent", "regret"])
