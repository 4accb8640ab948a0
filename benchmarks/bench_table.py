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
    args = parser.parse_args()
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
