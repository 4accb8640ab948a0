"""`nasnb search` against the same search in Python: the CLI's progress bar must cost nothing per step.

Both record to a run directory (fsync per trial) with the benchmark table as evaluator, so what
differs is only the CLI: its progress callback and summary. Per-step cost is printed for the
first and the last thousand trials, so a callback that scans all trials (and grows with the run)
shows as a rising cost. The CLI's own summary line is printed too: it must include all the time.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_cli_progress.py [--trials 5000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

from nasnb import CellSpace, Search
from nasnb.cli import main as cli
from nasnb.evaluation.table import TableEvaluator


def api(run_dir: Path, n: int) -> float:
    t0 = time.perf_counter()
    search = Search(CellSpace(), "random", TableEvaluator("digits"), budget=n, seed=0, run_dir=run_dir)
    search.run()
    search.close()
    return time.perf_counter() - t0


def command(run_dir: Path, n: int) -> tuple[float, list[float], str]:
    stamps: list[float] = []
    argv = ["search", "--strategy", "random", "--evaluator", "table", "--budget", str(n), "--run-dir", str(run_dir)]
    import nasnb.search as search_module

    name = "_land" if hasattr(search_module.Search, "_land") else "_record"  # older versions: _record
    original = getattr(search_module.Search, name)

    def stamped(self, *args, **kwargs):
        stamps.append(time.perf_counter())
        return original(self, *args, **kwargs)

    setattr(search_module.Search, name, stamped)
    out = io.StringIO()
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            assert cli(argv) == 0
    finally:
        setattr(search_module.Search, name, original)
    return time.perf_counter() - t0, stamps, out.getvalue().splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5000)
    args = parser.parse_args()
    n = args.trials
    with tempfile.TemporaryDirectory() as tmp:
        TableEvaluator("digits")(CellSpace().sample(__import__("numpy").random.default_rng(0)))  # load the table once
        python_seconds = api(Path(tmp) / "api", n)
        cli_seconds, stamps, summary = command(Path(tmp) / "cli", n)
    first = (stamps[1000] - stamps[0]) / 1000 * 1e3
    last = (stamps[-1] - stamps[-1001]) / 1000 * 1e3
    print(f"{n} trials: Python API {python_seconds:.1f} s, nasnb search {cli_seconds:.1f} s", file=sys.stdout)
    print(f"CLI / API: {cli_seconds / python_seconds:.2f}x")
    print(f"CLI per step: first 1000 trials {first:.2f} ms, last 1000 {last:.2f} ms ({last / first:.2f}x)")
    print(f"CLI summary line: {summary}")


if __name__ == "__main__":
    main()
