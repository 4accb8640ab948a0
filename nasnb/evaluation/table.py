"""A tabulated NAS benchmark: every CellSpace cell trained once, looked up in microseconds.

Training is what makes NAS expensive; a course on one CPU cannot afford it for every trial. Like
NAS-Bench-201, the shipped table holds the result of training each functionally distinct cell
with one fixed recipe (``nasnb.evaluation.recipes``), so strategies can be compared over dozens
of seeds in seconds, on the *simulated* wall-clock the real training would have taken.

The file ``tables/<dataset>.npz`` (written by ``benchmarks/make_table.py pack``) holds one row per
distinct cell and ``index``: for each of the 5**6 cells, numbered by its operations read as a
base-5 number in ``EDGES`` order, the row of its distinct cell. Isomorphic cells share a row, so
they get identical answers by construction.
"""

from __future__ import annotations

import functools
import json
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
    """The arrays of one table plus lookups; get one with ``load_table(dataset)``.

    ``len(table)`` is the number of distinct cells; ``recipe`` the Trainer arguments that produced
    it; ``epochs`` the length of each validation curve. Rows of cells not trained yet (a partial
    table) or diverged while training have status ``missing`` / ``failed`` and NaN metrics.
    """

    def __init__(self, dataset: str, arrays: dict[str, np.ndarray]) -> None:
        self.dataset = dataset
        self.index = arrays["index"]
        self.keys = arrays["keys"]
        self.val_accuracy = arrays["val_accuracy"]
        self.test_accuracy = arrays["test_accuracy"]
        self.train_seconds = arrays["train_seconds"]
        self.params = arrays["params"]
        self.macs = arrays["macs"]
        self.curves = arrays["curves"]
        self.status = arrays["status"]
        self.recipe: dict[str, Any] = json.loads(str(arrays["recipe"]))

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"<BenchmarkTable {self.dataset!r}: {len(self)} distinct cells, {self.n_trained} trained>"

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
        )

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
        """The trained cell with the highest ``metric`` (first row among equals)."""
        values = np.where(self.status == OK, self._metric(metric), -np.inf)
        if not np.isfinite(values).any():
            raise MissingCellError(f"the {self.dataset!r} table has no trained cell yet")
        return self.entry(int(np.argmax(values)))

    def optimum(self, metric: str = "val_accuracy") -> float:
        """The best ``metric`` in the table: the target regret is measured against."""
        return getattr(self.best(metric), metric)

    def frame(self):
        """One row per distinct cell as a pandas DataFrame (imported here: pandas is heavy)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "key": self.keys.astype(str),
                "arch": [str(cell_from_number(int(n))) for n in self.first_numbers],
                "val_accuracy": self.val_accuracy,
                "test_accuracy": self.test_accuracy,
                "params": self.params,
                "macs": self.macs,
                "train_seconds": self.train_seconds,
                "status": [_STATUS_NAMES[int(s)] for s in self.status],
                "n_cells": self.counts,
            }
        )


@functools.cache
def load_table(dataset: str = "digits") -> BenchmarkTable:
    """The shipped table of ``dataset``, read once per process (about 3 MB in memory)."""
    path = TABLES_DIR / f"{dataset}.npz"
    if not isinstance(dataset, str) or not path.is_file():
        raise ValueError(f"no benchmark table for dataset {dataset!r}; available tables: {available_tables()}")
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    missing = {
        "index",
        "keys",
        "val_accuracy",
        "test_accuracy",
        "train_seconds",
        "params",
        "macs",
        "curves",
        "status",
        "recipe",
    } - set(arrays)
    if missing or arrays["index"].shape != (len(OPS) ** len(EDGES),) or arrays["index"].max() >= len(arrays["keys"]):
        raise ValueError(
            f"{path} is not a nasnb table (missing {sorted(missing)} or a wrong index); "
            "rebuild it with benchmarks/make_table.py pack"
        )
    return BenchmarkTable(dataset, arrays)


class TableEvaluator:
    """Evaluator that answers from the shipped table instead of training: instant and exact.

    ``TableEvaluator("digits")(arch)`` returns ``accuracy`` (validation), ``params``, ``macs``,
    ``train_seconds`` (what the recipe's training took when the table was made, so strategies can be
    compared on simulated wall-clock), ``epochs`` and ``curves`` (``{"val_accuracy": [...]}``);
    with ``test=True`` also ``test_accuracy``. ``epochs=e`` (the multi-fidelity keyword strategies
    such as successive halving pass) answers as if training had stopped after ``e`` of the recipe's
    epochs: the curve's value at ``e`` and ``e / epochs`` of the time. The table stores the test
    accuracy of the full training only, so ``test_accuracy`` is left out when ``e`` is smaller.

    Only CellSpace cells have entries; other architectures raise TypeError (use Trainer). A cell
    that diverged in the table raises DivergedError, so a search records a failed trial, as real
    training would have. The table is read on the first call and cached per dataset.
    """

    name = "table"

    def __init__(self, dataset: str = "digits", *, test: bool = False) -> None:
        self.dataset = dataset
        self.test = test

    def get_config(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "test": self.test}

    def __repr__(self) -> str:
        return f"TableEvaluator({self.dataset!r}{', test=True' if self.test else ''})"

    @property
    def table(self) -> BenchmarkTable:
        return load_table(self.dataset)

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
        curve = [_float(v) for v in table.curves[row, :epochs]]
        result: dict[str, Any] = {
            "accuracy": _float(table.val_accuracy[row]) if epochs == full else curve[-1],
            "params": int(table.params[row]),
            "macs": int(table.macs[row]),
            "train_seconds": _float(table.train_seconds[row]) * epochs / full,
            "epochs": epochs,
            "curves": {"val_accuracy": curve},
        }
        if self.test and epochs == full:
            result["test_accuracy"] = _float(table.test_accuracy[row])
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
