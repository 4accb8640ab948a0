"""Cost of the shipped benchmark table: load time, memory, and the price of one lookup.

A course on Binder has one CPU and a small memory limit, so the table must be cheap to open.
Each measurement runs in a fresh Python process, because a process that already imported
nasnb or read the table would report nothing:

* baseline: ``import numpy`` only (what any scientific Python process pays);
* table: ``import numpy``, then import TableEvaluator, load the table and answer one lookup.

Reported: the time from the import to the first answer, peak RSS (``ru_maxrss``) of both processes
and the difference (what the table adds), and the mean time of a lookup once loaded.
Goal: load <= 0.5 s and <= 50 MB over the numpy baseline. Median of ``--repeats`` fresh processes.

    python benchmarks/bench_table.py [--dataset digits] [--repeats 5]
    python benchmarks/bench_table.py --synthetic-seeds 3    # a full-size multi-seed table, random numbers

``--synthetic-seeds S`` measures the multi-seed format at its final size before the real table is
complete: every distinct cell, S seeds, all four per-epoch curves, filled with random accuracies
(which compress worse than real ones, so the file is a pessimistic size). It is written next to
the shipped tables as ``_synthetic-seeds.npz`` for the measurement and removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

BASELINE = """
import json, resource, time
t0 = time.perf_counter()
import numpy
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

TABLE = """
import json, resource, time
import numpy
t0 = time.perf_counter()
from nasnb.evaluation.table import TableEvaluator, cell_number, load_table
from nasnb.spaces import CellSpace
t_import = time.perf_counter()
table = load_table(DATASET)
t_load = time.perf_counter()
evaluator = TableEvaluator(DATASET)
arch = CellSpace().parse(table.best().arch)
evaluator(arch)
t_first = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
space = CellSpace()
cells = [space.sample(i) for i in range(2000)]
ok = [cell for cell in cells if table.status[table.index[cell_number(cell)]] == 0]  # trained cells only
t1 = time.perf_counter()
for cell in ok:
    evaluator(cell)
lookup = (time.perf_counter() - t1) / max(len(ok), 1)
import sys
print(json.dumps({"import": t_import - t0, "load": t_load - t_import, "first": t_first - t0, "rss_mb": rss,
                  "lookup_us": lookup * 1e6, "torch_imported": "torch" in sys.modules, "cells": len(table),
                  "trained": table.n_trained}))
"""


def run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--synthetic-seeds", type=int, default=0)
    args = parser.parse_args()
    if args.synthetic_seeds:
        path = write_synthetic(args.synthetic_seeds)
        args.dataset = path.stem
        try:
            print(f"synthetic {args.synthetic_seeds}-seed table: {path.stat().st_size / 1e6:.2f} MB on disk")
            measure(args)
        finally:
            path.unlink()
    else:
        measure(args)


def write_synthetic(seeds: int):
    """A full-size multi-seed table of random numbers, in the format make_table.py packs."""
    import numpy as np

    from nasnb.evaluation.recipes import recipe
    from nasnb.evaluation.table import TABLES_DIR, load_table

    base = load_table("digits")
    n, epochs = len(base), base.epochs
    rng = np.random.default_rng(0)
    curve = lambda: np.round(rng.uniform(0, 1, size=(n, seeds, epochs)) * 360) / 360  # noqa: E731
    path = TABLES_DIR / "_synthetic-seeds.npz"
    np.savez_compressed(
        path,
        index=base.index,
        keys=base.keys,
        seeds=np.arange(seeds),
        seed_status=np.zeros((n, seeds), dtype=np.uint8),
        params=base.params,
        macs=base.macs,
        recipe=np.array(json.dumps(recipe("digits"))),
        seed_test_accuracy=rng.uniform(size=(n, seeds)).astype(np.float32),
        seed_test_loss=rng.uniform(size=(n, seeds)).astype(np.float32),
        seed_train_seconds=rng.uniform(size=(n, seeds)).astype(np.float32),
        **{f"seed_{c}": curve().astype(np.float32) for c in ("val_accuracy", "train_accuracy")},
        **{f"seed_{c}": rng.uniform(size=(n, seeds, epochs)).astype(np.float32) for c in ("val_loss", "train_loss")},
    )
    return path


def measure(args) -> None:
    table_code = TABLE.replace("DATASET", repr(args.dataset))
    base = [run(BASELINE) for _ in range(args.repeats)]
    tab = [run(table_code) for _ in range(args.repeats)]

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    base_rss, table_rss = med(base, "rss_mb"), med(tab, "rss_mb")
    first = med(tab, "first")
    print(
        f"table {args.dataset!r}: {tab[0]['cells']} distinct cells, {tab[0]['trained']} trained; "
        f"median of {args.repeats} fresh processes"
    )
    print(f"  import nasnb table module  {med(tab, 'import') * 1e3:8.1f} ms")
    print(f"  read the npz               {med(tab, 'load') * 1e3:8.1f} ms")
    print(f"  import -> first answer     {first * 1e3:8.1f} ms   (goal <= 500 ms)")
    print(f"  one lookup, once loaded    {med(tab, 'lookup_us'):8.1f} us")
    print(
        f"  peak RSS: numpy only {base_rss:6.1f} MB | with table {table_rss:6.1f} MB | "
        f"delta {table_rss - base_rss:5.1f} MB   (goal <= 50 MB)"
    )
    print(f"  torch imported by the table path: {tab[0]['torch_imported']}")
    ok = first <= 0.5 and table_rss - base_rss <= 50
    print("goal met" if ok else "goal NOT met")


if __name__ == "__main__":
    main()
