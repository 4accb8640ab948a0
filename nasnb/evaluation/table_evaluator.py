"""The table as an evaluator: a search asks it instead of training, and gets the recipe's answer.

What a ``Trainer`` would have returned for a CellSpace cell trained with the table's recipe, read
from the table in microseconds, including the time that training took, so strategies can be
compared on simulated wall-clock. Which training seed answers is the evaluator's ``seed``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spaces import Architecture
from .benchmark_table import OK, BenchmarkTable, stored_float
from .errors import DivergedError
from .table_files import load_table


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
        curves = {name: [stored_float(v) for v in values] for name, values in curves.items()}
        result: dict[str, Any] = {
            "accuracy": stored_float(accuracy) if epochs == full else curves["val_accuracy"][-1],
            "params": int(table.params[row]),
            "macs": int(table.macs[row]),
            "train_seconds": stored_float(seconds) * epochs / full,
            "epochs": epochs,
            "curves": curves,
        }
        if len(table.seeds) > 1:
            result["seed"] = "mean" if column is None else table.seeds[column]
            result["accuracy_std"] = stored_float(table.val_std[row])
        if self.test and epochs == full:
            result["test_accuracy"] = stored_float(test)
        return result
