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

The pieces, each in its own module and re-exported here (``from nasnb.evaluation.table import
load_table`` keeps working): cell numbering in ``table_cells``, the table and its questions in
``benchmark_table``, reading the files in ``table_files``, the evaluator in ``table_evaluator``
and regret curves in ``regret``.
"""

from __future__ import annotations

from .benchmark_table import FAILED, MISSING, OK, BenchmarkTable, MissingCellError, TableEntry
from .regret import regret_curve
from .table_cells import cell_from_number, cell_number
from .table_evaluator import TableEvaluator
from .table_files import TABLES_DIR, available_tables, load_table

__all__ = [
    "FAILED",
    "MISSING",
    "OK",
    "TABLES_DIR",
    "BenchmarkTable",
    "MissingCellError",
    "TableEntry",
    "TableEvaluator",
    "available_tables",
    "cell_from_number",
    "cell_number",
    "load_table",
    "regret_curve",
]
