"""A tabulated NAS benchmark: every CellSpace cell trained with a fixed recipe, looked up in microseconds.

Training is what makes NAS expensive; a course on one CPU cannot afford it for every trial. Like
NAS-Bench-201, the shipped table holds the result of training each functionally distinct cell
with one fixed recipe (``nasnb.evaluation.recipes``), so strategies can be compared over dozens
of seeds in seconds, on the *simulated* wall-clock the real training would have taken.

Two tables ship side by side: ``digits`` (one training seed per cell, the one the tutorials were
written against) and ``digits-seeds`` (three seeds per cell, per-epoch train/validation loss and
accuracy; partial while ``benchmarks/make_table.py`` fills it). Seed noise is what makes a
one-seed table muddy: ``BenchmarkTable.repeatability()`` measures it.

The file ``tables/<name>.npz`` (written by ``benchmarks/make_table.py pack``) holds one row per
distinct cell and ``index``: for each of the 5**6 cells, numbered by its operations read as a
base-5 number in ``EDGES`` order, the row of its distinct cell. Isomorphic cells share a row, so
they get identical answers by construction.
"""

from __future__ import annotations

import functools
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..spaces import EDGES, OPS, Architecture, CellSpace
from .errors import DivergedError, EvaluationError

TABLES_DIR = Path(__file__).resolve().parent / "tables"
OK, FAILED, MISSING = 0, 1, 2  # status codes, as benchmarks/make_table.py writes them
_STATUS_NAMES = {OK: "ok", FAILED: "failed", MISSING: "missing"}
_OP_INDEX = {op: i for i, op in enumerate(OPS)}
_HINT = (
    "use nasnb.evaluation.Trainer, which trains any architecture "
    "(Trainer(**nasnb.evaluation.recipes.recipe('digits')) reproduces the table's recipe)"
)


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


def _float(value: np.floating) -> float:
    """A stored float32 as the short decimal it stands for (0.975, not 0.9750000238418579)."""
    return float(str(np.float32(value)))


def available_tables() -> list[str]:
    """Datasets with a shipped table."""
    return sorted(p.stem for p in TABLES_DIR.glob("*.npz"))


def cell_number(arch: Architecture) -> int:
    """The cell's operations as a base-5 number in ``EDGES`` order (the table's ``index`` position).

    Raises TypeError for anything that is not a plain CellSpace architecture, because the table
    only knows cells trained with its fixed recipe (no hyperparameters, no chains).
    """
    if not isinstance(arch, Architecture):
        raise TypeError(f"a table lookup needs a CellSpace Architecture, got {type(arch).__name__}")
    if not isinstance(arch.space, CellSpace):
        raise TypeError(
            f"the benchmark table covers CellSpace cells trained with one fixed recipe; got an architecture "
            f"of {arch.space!r}. For other spaces (or hyperparameters) {_HINT}"
        )
    number = 0
    for edge in EDGES:
        number = number * len(OPS) + _OP_INDEX[arch[edge]]
    return number


def cell_from_number(number: int, space: CellSpace | None = None) -> Architecture:
    """Inverse of ``cell_number``."""
    digits = []
    for _ in EDGES:
        number, digit = divmod(number, len(OPS))
        digits.append(OPS[digit])
    return Architecture(space or CellSpace(), dict(zip(EDGES, reversed(digits))))


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
                f"`benchmarks/make_table.py train`, or {_HINT}"
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
            val_accuracy=_float(self.val_accuracy[row]),
            test_accuracy=_float(self.test_accuracy[row]),
            params=int(self.params[row]),
            macs=int(self.macs[row]),
            train_seconds=_float(self.train_seconds[row]),
            curve=tuple(_float(v) for v in self.curves[row]),
            status=_STATUS_NAMES[int(self.status[row])],
            val_std=_float(self.val_std[row]),
            seed_val_accuracy=tuple(_float(v) for v in self.seed_val_accuracy[row]),
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


_OLD_FORMAT = {"index", "keys", "val_accuracy", "test_accuracy", "train_seconds", "params", "macs", "curves", "status"}
_SEED_FORMAT = {
    "index",
    "keys",
    "seeds",
    "seed_status",
    "params",
    "macs",
    "seed_test_accuracy",
    "seed_train_seconds",
    "seed_val_accuracy",
}


@functools.cache
def load_table(dataset: str = "digits") -> BenchmarkTable:
    """The shipped table ``dataset`` (``"digits"``, or the multi-seed ``"digits-seeds"``), read once per process."""
    path = TABLES_DIR / f"{dataset}.npz"
    if not isinstance(dataset, str) or not path.is_file():
        raise ValueError(f"no benchmark table for dataset {dataset!r}; available tables: {available_tables()}")
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    needed = _SEED_FORMAT if "seed_status" in arrays else _OLD_FORMAT
    missing = (needed | {"recipe"}) - set(arrays)
    if missing or arrays["index"].shape != (len(OPS) ** len(EDGES),) or arrays["index"].max() >= len(arrays["keys"]):
        raise ValueError(
            f"{path} is not a nasnb table (missing {sorted(missing)} or a wrong index); "
            "rebuild it with benchmarks/make_table.py pack"
        )
    return BenchmarkTable(dataset, arrays)


class TableEvaluator:
    """Evaluator that answers from a shipped table instead of training: instant and exact.

    ``TableEvaluator("digits")(arch)`` returns ``accuracy`` (validation), ``params``, ``macs``,
    ``train_seconds`` (what the recipe's training took when the table was made, so strategies can be
    compared on simulated wall-clock), ``epochs`` and ``curves`` (``{"val_accuracy": [...]}``, plus
    ``val_loss``, ``train_accuracy`` and ``train_loss`` where the table stores them); with
    ``test=True`` also ``test_accuracy``. ``epochs=e`` (the multi-fidelity keyword strategies
    such as successive halving pass) answers as if training had stopped after ``e`` of the recipe's
    epochs: the curve's value at ``e`` and ``e / epochs`` of the time. The table stores the test
    accuracy of the full training only, so ``test_accuracy`` is left out when ``e`` is smaller.

    Which training answers, as NAS-Bench-201's API offers (``seed``):

    - ``"mean"`` (default): the mean over the table's seeds, the least noisy answer;
    - an int: that training seed only (``table.seeds`` lists them), e.g. to show a student that two
      seeds disagree;
    - ``"random"``: a seed drawn per query (from ``random_state``), as a search that really trained
      each cell once would see it; the answer names the ``seed`` it used.

    With more than one seed the answer also has ``accuracy_std``, the seed-to-seed standard
    deviation of the final validation accuracy, so "is this difference real?" can be answered.

    Only CellSpace cells have entries; other architectures raise TypeError (use Trainer). A cell
    that diverged in the table raises DivergedError, so a search records a failed trial, as real
    training would have. The table is read on the first call and cached per name.
    """

    name = "table"

    def __init__(
        self, dataset: str = "digits", *, test: bool = False, seed: int | str = "mean", random_state: int = 0
    ) -> None:
        self.dataset = dataset
        self.test = test
        self.seed = seed
        self.random_state = random_state
        self._rng = np.random.default_rng(random_state if isinstance(random_state, int) else None)

    def get_config(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "test": self.test, "seed": self.seed, "random_state": self.random_state}

    def __repr__(self) -> str:
        extra = "".join(
            (
                ", test=True" if self.test else "",
                f", seed={self.seed!r}" if self.seed != "mean" else "",
                f", random_state={self.random_state!r}" if self.random_state != 0 else "",
            )
        )
        return f"TableEvaluator({self.dataset!r}{extra})"

    @property
    def table(self) -> BenchmarkTable:
        return load_table(self.dataset)

    def _column(self, table: BenchmarkTable, row: int) -> int | None:
        """Seed axis position to answer from, or None for the mean."""
        if self.seed == "mean":
            return None
        if self.seed == "random":
            usable = np.flatnonzero(table.seed_status[row] == OK)
            return int(usable[self._rng.integers(len(usable))])
        if isinstance(self.seed, str):
            raise ValueError(f"TableEvaluator seed must be 'mean', 'random' or a training seed int, got {self.seed!r}")
        column = table.seed_column(self.seed)
        if table.seed_status[row, column] != OK:
            raise DivergedError(f"seed {self.seed} of this cell diverged when the {self.dataset!r} table was made")
        return column

    def __call__(self, arch: Architecture, *, epochs: int | None = None) -> dict[str, Any]:
        table = self.table
        row = table.row(arch)
        full = table.epochs
        if epochs is None:
            epochs = full
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or not 1 <= epochs <= full:
            raise ValueError(
                f"TableEvaluator epochs must be an int in [1, {full}] (the recipe trains {full} epochs), got {epochs!r}"
            )
        epochs = int(epochs)
        column = self._column(table, row)
        if column is None:
            curves = {name: values[row, :epochs] for name, values in table.mean_curves.items()}
            accuracy, test, seconds = table.val_accuracy[row], table.test_accuracy[row], table.train_seconds[row]
        else:
            curves = {name: values[row, column, :epochs] for name, values in table.seed_curves.items()}
            accuracy = table.seed_val_accuracy[row, column]
            test, seconds = table.seed_test_accuracy[row, column], table.seed_train_seconds[row, column]
        curves = {name: [_float(v) for v in values] for name, values in curves.items()}
        result: dict[str, Any] = {
            "accuracy": _float(accuracy) if epochs == full else curves["val_accuracy"][-1],
            "params": int(table.params[row]),
            "macs": int(table.macs[row]),
            "train_seconds": _float(seconds) * epochs / full,
            "epochs": epochs,
            "curves": curves,
        }
        if len(table.seeds) > 1:
            result["seed"] = "mean" if column is None else table.seeds[column]
            result["accuracy_std"] = _float(table.val_std[row])
        if self.test and epochs == full:
            result["test_accuracy"] = _float(test)
        return result


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
            regret = optimum - _float(values[table.row(space.parse(trial.arch))])
        rows.append({"evaluation": n, "simulated_seconds": seconds, "incumbent": incumbent, "regret": regret})
    return pd.DataFrame(rows, columns=["evaluation", "simulated_seconds", "incumbent", "regret"])
