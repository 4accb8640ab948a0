"""Reading the shipped benchmark tables (``tables/<name>.npz``), once per process.

The file format is written by ``benchmarks/make_table.py pack``: one row per distinct cell plus
``index``, the row of each of the 5**6 cells. A file that lacks an array, or whose index does not
cover every cell, is refused with a message saying how to rebuild it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..spaces import EDGES, OPS
from .benchmark_table import BenchmarkTable

TABLES_DIR = Path(__file__).resolve().parent / "tables"


def available_tables() -> list[str]:
    """Datasets with a shipped table."""
    return sorted(p.stem for p in TABLES_DIR.glob("*.npz"))


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
