"""The run log at scale: memory per loaded trial, load time, and how often resume parses the log.

Builds a realistic 100,000-trial log (evolution on the digits benchmark table: real decisions,
metrics and learning curves, repeated with fresh ids), then measures in one process:

- bytes per trial on disk, and Python memory per trial after ``load_run`` (tracemalloc);
- seconds to load it (best of 3, without tracemalloc), and to read every decision afterwards
  (decisions are kept as JSON text until read, so that cost moves to the first read);
- how many times resuming a 2,000-trial run parses each log line (``Trial.from_dict`` calls).

Run it against any checkout to compare versions side by side:

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_runlog.py [--trials 100000]
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

from nasnb import CellSpace, Search, load_run
from nasnb.evaluation.table import TableEvaluator
from nasnb.trial import Trial


def build_log(path: Path, n: int, real: int = 1000) -> None:
    """A run directory with ``n`` trials: ``real`` real ones, repeated with new ids (replayable if n == real)."""
    seed_dir = path.parent / (path.name + "-seed")
    search = Search(CellSpace(), "evolution", TableEvaluator("digits"), budget=real, seed=0, run_dir=seed_dir)
    search.run()
    search.close()
    path.mkdir()
    (path / "run.json").write_text((seed_dir / "run.json").read_text())
    lines = (seed_dir / "trials.jsonl").read_text().splitlines()
    with open(path / "trials.jsonl", "w") as f:
        for i in range(n):
            record = json.loads(lines[i % len(lines)])
            record["id"] = record["step"] = i
            f.write(json.dumps(record, separators=(",", ":")) + "\n")


def parses_per_line_on_resume(run_dir: Path) -> float:
    calls = [0]
    original = Trial.__dict__["from_dict"]

    def counting(cls, data):
        calls[0] += 1
        return original.__func__(cls, data)

    Trial.from_dict = classmethod(counting)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                from nasnb import resume_search

                search = resume_search(run_dir, budget=2000)
            except ImportError:  # versions before resume_search
                search = Search.resume(run_dir, budget=2000)
        search.close()
    finally:
        Trial.from_dict = original
    return calls[0] / 2000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        build_log(run_dir, args.trials)
        disk = (run_dir / "trials.jsonl").stat().st_size / args.trials
        times = []
        for _ in range(3):
            gc.collect()
            t0 = time.perf_counter()
            run = load_run(run_dir)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        decisions = [trial.decision for trial in run.trials]
        read_decisions = time.perf_counter() - t0
        del run, decisions
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        run = load_run(run_dir)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        memory = sum(s.size_diff for s in after.compare_to(before, "filename")) / len(run.trials)
        del run
        small = Path(tmp) / "small"
        build_log(small, 2000, real=2000)
        parses = parses_per_line_on_resume(small)
    print(f"{args.trials} trials: {disk:.0f} B/trial on disk, {memory:.0f} B/trial in memory after load_run")
    seconds = min(times)
    print(f"load_run: {seconds:.2f} s ({seconds / args.trials * 1e6:.1f} us/trial, best of 3)")
    print(f"reading every trial's decision after load: {read_decisions:.2f} s")
    print(f"resume parses each log line {parses:.1f} time(s)")


if __name__ == "__main__":
    main()
