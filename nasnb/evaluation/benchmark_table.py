"""The arrays of one benchmark table and what can be asked of them: lookups, the best cell, seed noise.

``BenchmarkTable`` takes the arrays ``load_table`` read from ``tables/<name>.npz`` (in either the
single-seed or the multi-seed format) and puts both behind one seed axis, so every question
(``lookup``, ``best``, ``repeatability``, ``compare``) is answered the same way for both.
"""

from __future__ import annotations

import functools
import json
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..spaces import Architecture
from .errors import DivergedError, EvaluationError
from .table_cells import TABLE_HINT, cell_from_number, cell_number

OK, FAILED, MISSING = 0, 1, 2  # status codes, as benchmarks/make_table.py writes them
_STATUS_NAMES = {OK: "ok", FAILED: "failed", MISSING: "missing"}


class MissingCellError(EvaluationError):
    """The cell is not in the table (yet): a partially filled table lacks it."""


@dataclass(frozen=True)
class TableEntry:
    """What the table knows about one distinct cell."""

    key: str
    arch: str
    val_accuracy: float
    test_accuracy: float
    params: int
    macs: int
    train_seconds: float
    curve: tuple[float, ...]
    status: str
    val_std: float = float("nan")  # seed-to-seed standard deviation of val_accuracy (NaN with one seed)
    seed_val_accuracy: tuple[float, ...] = ()  # per training seed, in ``table.seeds`` order


def stored_float(value: np.floating) -> float:
    """A stored float32 as the short decimal it stands for (0.975, not 0.9750000238418579)."""
    return float(str(np.float32(value)))


class BenchmarkTable:
    """The arrays of one table plus lookups; get one with ``load_table(name)``.

    ``len(table)`` is the number of distinct cells; ``recipe`` the training settings that produced
    it; ``epochs`` the length of each curve; ``seeds`` the training seeds (one for the original
    ``digits`` table, three for ``digits-seeds``). Per distinct cell, ``val_accuracy``,
    ``test_accuracy``, ``train_seconds`` and ``curves`` (validation accuracy per epoch) are the
    **means over seeds**; ``val_std`` is the seed-to-seed standard deviation of the validation
    accuracy (NaN with one seed), the yardstick for "is this difference real?". Per seed, the
    ``seed_*`` arrays have a seed axis: ``seed_val_accuracy[row, j]`` is seed ``seeds[j]``, and
    ``seed_curves[name][row, j, e]`` holds every stored curve (``val_accuracy``, and for tables
    made by the multi-seed generator also ``val_loss``, ``train_accuracy`` and ``train_loss``).

    Rows of cells not trained yet (a partial table) have status ``missing``; a cell whose every
    seed diverged has status ``failed``. A cell with some diverged seeds averages the others.
    """

    def __init__(self, dataset: str, arrays: dict[str, np.ndarray]) -> None:
        self.dataset = dataset
        self.index = arrays["index"]
        self.keys = arrays["keys"]
        self.params = arrays["params"]
        self.macs = arrays["macs"]
        self.recipe: dict[str, Any] = json.loads(str(arrays["recipe"]))
        if "seed_status" in arrays:  # the multi-seed format of make_table.py
            self.seeds = tuple(int(x) for x in arrays["seeds"])
            self.seed_status = arrays["seed_status"]
            self.seed_curves = {
                name[5:]: arrays[name]
                for name in arrays
                if name.startswith("seed_") and getattr(arrays[name], "ndim", 0) == 3
            }
            final = self.seed_curves["val_accuracy"][:, :, -1].astype(np.float64)
            self.seed_val_accuracy = np.where(self.seed_status == OK, final, np.nan)
            self.seed_test_accuracy = arrays["seed_test_accuracy"].astype(np.float64)
            self.seed_train_seconds = arrays["seed_train_seconds"]
        else:  # the original single-seed format: one seed axis of length 1
            self.seeds = (int(self.recipe.get("seed", 0)),)
            self.seed_status = arrays["status"][:, None]
            self.seed_curves = {"val_accuracy": arrays["curves"][:, None, :]}
            self.seed_val_accuracy = arrays["val_accuracy"][:, None]
            self.seed_test_accuracy = arrays["test_accuracy"][:, None]
            self.seed_train_seconds = arrays["train_seconds"][:, None]
        ok = self.seed_status == OK
        self.status = np.where(
            np.any(self.seed_status == MISSING, axis=1), MISSING, np.where(np.any(ok, axis=1), OK, FAILED)
        ).astype(np.uint8)
        done = (self.status == OK)[:, None] & ok
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows (missing cells) stay NaN
            self.val_accuracy = _mean(self.seed_val_accuracy, done)
            self.test_accuracy = _mean(self.seed_test_accuracy, done)
            self.train_seconds = _mean(self.seed_train_seconds, done)
            self.curves = np.nanmean(np.where(done[:, :, None], self.seed_curves["val_accuracy"], np.nan), axis=1)
            self.val_std = (
                np.nanstd(np.where(done, self.seed_val_accuracy, np.nan), axis=1, ddof=1)
                if len(self.seeds) > 1
                else np.full(len(self.keys), np.nan)
            )

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        seeds = f", {len(self.seeds)} seeds" if len(self.seeds) > 1 else ""
        return f"<BenchmarkTable {self.dataset!r}: {len(self)} distinct cells, {self.n_trained} trained{seeds}>"

    @property
    def epochs(self) -> int:
        return int(self.curves.shape[1])

    @property
    def n_trained(self) -> int:
        return int(np.sum(self.status == OK))

    @property
    def complete(self) -> bool:
        """True when no cell is missing (diverged cells count as done: divergence is a result)."""
        return not bool(np.any(self.status == MISSING))

    def row(self, arch: Architecture) -> int:
        """Row of ``arch``'s distinct cell; raises for a missing cell or one that diverged."""
        row = int(self.index[cell_number(arch)])
        status = int(self.status[row])
        if status == MISSING:
            raise MissingCellError(
                f"cell {arch} (key {str(self.keys[row])!r}) is not in the {self.dataset!r} table yet: the table is "
                f"partial ({self.n_trained} of {len(self)} distinct cells trained). Finish it with "
                f"`benchmarks/make_table.py train`, or {TABLE_HINT}"
            )
        if status == FAILED:
            raise DivergedError(
                f"cell {arch} diverged when the {self.dataset!r} table was made (non-finite loss with "
                f"lr={self.recipe.get('lr')}); a search records it as a failed trial"
            )
        return row

    def seed_column(self, seed: int) -> int:
        """Position of training seed ``seed`` on the seed axis; a clear error for a seed not in the table."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) not in self.seeds:
            raise ValueError(f"the {self.dataset!r} table has training seeds {list(self.seeds)}, got seed={seed!r}")
        return self.seeds.index(int(seed))

    def lookup(self, arch: Architecture) -> TableEntry:
        """Everything the table has on ``arch`` (raises like ``row``)."""
        return self.entry(self.row(arch))

    def entry(self, row: int) -> TableEntry:
        return TableEntry(
            key=str(self.keys[row]),
            arch=str(self.representative(row)),
            val_accuracy=stored_float(self.val_accuracy[row]),
            test_accuracy=stored_float(self.test_accuracy[row]),
            params=int(self.params[row]),
            macs=int(self.macs[row]),
            train_seconds=stored_float(self.train_seconds[row]),
            curve=tuple(stored_float(v) for v in self.curves[row]),
            status=_STATUS_NAMES[int(self.status[row])],
            val_std=stored_float(self.val_std[row]),
            seed_val_accuracy=tuple(stored_float(v) for v in self.seed_val_accuracy[row]),
        )

    @functools.cached_property
    def mean_curves(self) -> dict[str, np.ndarray]:
        """Every stored curve averaged over the seeds that trained (cell x epoch), computed once."""
        done = ((self.status == OK)[:, None] & (self.seed_status == OK))[:, :, None]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # missing cells stay NaN
            return {name: np.nanmean(np.where(done, v, np.nan), axis=1) for name, v in self.seed_curves.items()}

    def representative(self, row: int) -> Architecture:
        """The first cell (in CellSpace iteration order) whose distinct cell is ``row``."""
        return cell_from_number(int(self.first_numbers[row]))

    @functools.cached_property
    def counts(self) -> np.ndarray:
        """How many of the 15,625 cells share each row (isomorphic copies)."""
        return np.bincount(self.index, minlength=len(self))

    @functools.cached_property
    def first_numbers(self) -> np.ndarray:
        """Per row, the ``cell_number`` of its first cell in CellSpace order (the one the table trained)."""
        rows, first = np.unique(self.index, return_index=True)
        numbers = np.full(len(self), -1, dtype=np.int64)
        numbers[rows] = first
        return numbers

    def _metric(self, metric: str) -> np.ndarray:
        if metric not in ("val_accuracy", "test_accuracy"):
            raise ValueError(f"metric must be 'val_accuracy' or 'test_accuracy', got {metric!r}")
        return getattr(self, metric)

    def best(self, metric: str = "val_accuracy") -> TableEntry:
        """The trained cell with the highest seed-mean ``metric`` (first row among equals)."""
        values = np.where(self.status == OK, self._metric(metric), -np.inf)
        if not np.isfinite(values).any():
            raise MissingCellError(f"the {self.dataset!r} table has no trained cell yet")
        return self.entry(int(np.argmax(values)))

    def optimum(self, metric: str = "val_accuracy") -> float:
        """The best seed-mean ``metric`` in the table: the target regret is measured against."""
        return getattr(self.best(metric), metric)

    def repeatability(self) -> dict[str, float]:
        """How well one training seed's ranking predicts another's: the ceiling for any proxy or search.

        Spearman's rho between each pair of seeds over the cells every seed trained (mean over
        pairs), over all of them and over the better half by seed-mean accuracy, plus the mean
        seed-to-seed standard deviation. NaN with a single seed.
        """
        from itertools import combinations

        from scipy.stats import spearmanr

        done = np.all(self.seed_status == OK, axis=1)
        if len(self.seeds) < 2 or done.sum() < 3:
            return {"rho": float("nan"), "rho_top_half": float("nan"), "mean_std": float("nan"), "cells": 0}
        acc = self.seed_val_accuracy[done]
        top = acc.mean(axis=1) >= np.median(acc.mean(axis=1))
        pairs = list(combinations(range(len(self.seeds)), 2))
        rho = np.mean([spearmanr(acc[:, i], acc[:, j])[0] for i, j in pairs])
        rho_top = np.mean([spearmanr(acc[top, i], acc[top, j])[0] for i, j in pairs])
        return {
            "rho": float(rho),
            "rho_top_half": float(rho_top),
            "mean_std": float(np.nanmean(self.val_std[done])),
            "cells": int(done.sum()),
        }

    def compare(self, a: Architecture, b: Architecture) -> dict[str, Any]:
        """Is ``a`` really better than ``b``, or is the difference training noise? Answered with the seeds.

        Returns both cells' per-seed validation accuracies, their means and seed-to-seed standard
        deviations, the difference of the means, and Welch's t-test p-value (two-sided) over the
        seeds: with three seeds a difference of one or two standard deviations is not yet evidence.
        With a one-seed table there is no spread to judge by: ``p_value`` is NaN.
        """
        from scipy.stats import ttest_ind

        rows = self.row(a), self.row(b)
        values = [self.seed_val_accuracy[r][self.seed_status[r] == OK].astype(float) for r in rows]
        p = float("nan")
        if min(len(v) for v in values) > 1 and not (np.ptp(values[0]) == 0 and np.ptp(values[1]) == 0):
            with warnings.catch_warnings():  # a cell whose seeds agree exactly has zero variance: fine here
                warnings.simplefilter("ignore", RuntimeWarning)
                p = float(ttest_ind(values[0], values[1], equal_var=False).pvalue)
        means = [float(v.mean()) for v in values]
        stds = [float(v.std(ddof=1)) if len(v) > 1 else float("nan") for v in values]
        return {
            "a": values[0].tolist(),
            "b": values[1].tolist(),
            "mean_a": means[0],
            "mean_b": means[1],
            "std_a": stds[0],
            "std_b": stds[1],
            "difference": means[0] - means[1],
            "p_value": p,
        }

    def frame(self):
        """One row per distinct cell as a pandas DataFrame (imported here: pandas is heavy)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "key": self.keys.astype(str),
                "arch": [str(cell_from_number(int(n))) for n in self.first_numbers],
                "val_accuracy": self.val_accuracy,
                "val_std": self.val_std,
                "test_accuracy": self.test_accuracy,
                "params": self.params,
                "macs": self.macs,
                "train_seconds": self.train_seconds,
                "status": [_STATUS_NAMES[int(s)] for s in self.status],
                "n_cells": self.counts,
            }
        )


def _mean(values: np.ndarray, done: np.ndarray) -> np.ndarray:
    return np.nanmean(np.where(done, values, np.nan), axis=1)
