"""The explorer at scale: replaying 1k / 10k / 100k-trial runs, and watching a fast search live.

Goals (issue 11): open a 10,000-trial replay in <= 1 s, move its slider in <= 0.2 s, take a Play
step faster than the Play interval (0.2 s at the default 5 steps/s), and slow a 3,000-trial
table search (a near-instant evaluator) by at most 1.05x when the live explorer is attached.

What is timed is the redraw itself: the views compute their data and assign it to the real
ipywidgets/bqplot models, which serialise it for the front end (a ``DummyComm`` outside a
kernel; the bytes that would go over the wire are counted too). The redraw thread is closed in
replay measurements so each slider move is exactly one redraw, in this thread:

* ``open``: ``Explorer.from_run(dir)`` (reads the log, draws the last step);
* ``move``: the slider set to a random step, then one redraw (median and worst of ``--moves``);
* ``play``: the slider advanced by one step, then one redraw (median of ``--plays`` steps);
* ``ring``: for strategies replayed in the background, when the population ring of every step
  became available (after ``open``; nothing blocks on it);
* ``rss``: resident memory after the moves, and its growth from before the run was loaded.

Live overhead: the same 3,000-trial evolution search on the shipped table, headless and with an
``Explorer`` attached, alternated ``--repeats`` times in one process; the median wall times are
compared (the explorer's last redraw after the search ends is not counted).

Each measurement runs in its own process (so memory is per size). ``--before DIR`` runs every
measurement also against another copy of the package (e.g. ``git archive <commit> nasnb | tar -x
-C DIR``) and prints both side by side, alternating the two, so the ratio is fair under load.

    python benchmarks/bench_explorer.py [--sizes 1000 10000 100000] [--before DIR] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = Path(os.environ.get("NASNB_BENCH_CACHE", Path(tempfile.gettempdir()) / "nasnb-bench-explorer"))
STRATEGY = {"population_size": 20, "tournament_size": 5, "dedup": False}  # a long search revisits cells
MOVES, PLAYS = 12, 20
LIVE_TRIALS = 3000


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_dir(n: int) -> Path:
    """A recorded evolution run of ``n`` trials on the shipped table (made once, then cached)."""
    path = CACHE / f"evolution-{n}"
    if not (path / "trials.jsonl").exists() or sum(1 for _ in open(path / "trials.jsonl", "rb")) < n or stale(path):
        import shutil

        from nasnb import CellSpace, Search
        from nasnb.evaluation.table import TableEvaluator
        from nasnb.strategies import get

        shutil.rmtree(path, ignore_errors=True)
        t0 = time.perf_counter()
        Search(
            CellSpace(), get("evolution", **STRATEGY), TableEvaluator("digits"), budget=n, seed=0, run_dir=path
        ).run()
        print(f"(recorded {n} trials to {path} in {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return path


def stale(path: Path) -> bool:
    """A run recorded by code whose strategy proposes differently now (it would not replay)."""
    from nasnb import load_run

    try:
        load_run(path).strategy_at(300)
        return False
    except Exception:
        return True


# -- measurements, each in a child process --------------------------------------------------------
class CountingComm:
    """Stands in for the kernel's comm: counts the bytes each widget update would send."""

    def __init__(self) -> None:
        self.bytes = 0
        self.messages = 0

    def install(self) -> None:
        from ipywidgets import Widget

        counter = self
        original = Widget._send

        def send(widget, msg, buffers=None):
            counter.messages += 1
            counter.bytes += len(json.dumps(msg, default=str)) + sum(memoryview(b).nbytes for b in buffers or [])
            return original(widget, msg, buffers)

        Widget._send = send


def measure_replay(n: int, moves: int = MOVES, plays: int = PLAYS) -> dict:
    import nasnb.widgets  # noqa: F401  (import cost is not part of the measurement)
    from nasnb.widgets import Explorer

    path = run_dir(n)
    comm = CountingComm()
    comm.install()
    rss0 = rss_mb()
    t0 = time.perf_counter()
    ex = Explorer.from_run(path)
    opened = time.perf_counter() - t0
    ex.throttle.close()  # from here on, every redraw is the one this thread times
    slider = ex.replay.slider
    rng = random.Random(0)
    times, sent = [], []
    for _ in range(moves):
        sent0 = comm.bytes
        t0 = time.perf_counter()
        slider.value = rng.randrange(1, n)
        ex.refresh()
        times.append(time.perf_counter() - t0)
        sent.append(comm.bytes - sent0)
    steps = []
    slider.value = n // 2
    ex.refresh()
    for _ in range(plays):
        t0 = time.perf_counter()
        slider.value += 1
        ex.refresh()
        steps.append(time.perf_counter() - t0)
    ring = wait_for_ring(ex)
    errors = ex.error_text
    out = {
        "open": opened,
        "move": statistics.median(times),
        "move_max": max(times),
        "play": statistics.median(steps),
        "ring": ring,
        "sent_kb": statistics.median(sent) / 1024,
        "rss": rss_mb(),
        "growth": rss_mb() - rss0,
        "peak": peak_mb(),
        "errors": errors,
    }
    ex.close()
    return out


def wait_for_ring(ex, timeout: float = 600.0) -> float | None:
    """Seconds until populations of every step are known, for explorers that replay in the background."""
    # the replay's cursor: on the explorer itself in older versions, on its ReplaySource since the split
    cursor = getattr(ex, "_cursor", None) or getattr(getattr(ex, "_source", None), "cursor", None)
    ready = getattr(cursor, "ready_seconds", None)
    if not callable(ready):
        return None  # the explorer replays populations on demand, inside the moves
    deadline = time.monotonic() + timeout
    while ready() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return ready()


def measure_live(trials: int, repeats: int) -> dict:
    import nasnb.widgets  # noqa: F401
    from nasnb import CellSpace, Search
    from nasnb.evaluation.table import TableEvaluator
    from nasnb.strategies import get
    from nasnb.widgets import Explorer

    evaluator = TableEvaluator("digits")

    def new_search() -> Search:
        return Search(CellSpace(), get("evolution", **STRATEGY), evaluator, budget=trials, seed=0)

    def headless() -> float:
        search = new_search()
        t0 = time.perf_counter()
        search.run()
        return time.perf_counter() - t0

    def watched() -> tuple[float, dict]:
        search = new_search()
        explorer = Explorer(search)
        t0 = time.perf_counter()
        explorer.start()
        search.wait()  # the search's end; the explorer's last redraw follows, untimed
        seconds = time.perf_counter() - t0
        explorer.wait()
        shown = len(explorer.views.progress.points.x)
        info = {
            "redraws": explorer.throttle.calls,
            "redraw_s": explorer.throttle.busy_seconds,
            "shown": shown,
            "errors": explorer.error_text,
        }
        explorer.close()
        return seconds, info

    watched()  # warm-up: the first redraws build every figure
    base, seen, infos = [], [], []
    for _ in range(repeats):
        base.append(headless())
        seconds, info = watched()
        seen.append(seconds)
        infos.append(info)
    return {
        "headless": statistics.median(base),
        "explorer": statistics.median(seen),
        "ratio": statistics.median(seen) / statistics.median(base),
        "redraws": statistics.median(i["redraws"] for i in infos),
        "redraw_s": statistics.median(i["redraw_s"] for i in infos),
        "shown": min(i["shown"] for i in infos),
        "errors": "; ".join(i["errors"] for i in infos if i["errors"]),
        "peak": peak_mb(),
    }


# -- orchestration --------------------------------------------------------------------------------
def child(kind: str, arg: int, package: Path | None, args: argparse.Namespace) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(package or ROOT))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--arg", str(arg)]
    cmd += ["--repeats", str(args.repeats), "--moves", str(args.moves), "--plays", str(args.plays)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} {arg} with {package or ROOT} failed:\n{done.stderr[-3000:]}")
    sys.stderr.write(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    return f"{value:.0f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--live-trials", type=int, default=LIVE_TRIALS)
    parser.add_argument("--repeats", type=int, default=5, help="alternated live runs per variant")
    parser.add_argument("--before", type=Path, help="another copy of the package to compare with (its parent dir)")
    parser.add_argument(
        "--before-sizes",
        type=int,
        nargs="+",
        default=[1000, 10_000],
        help="sizes measured with --before too (its O(n^2) Pareto sort needs ~20 GB at 100k)",
    )
    parser.add_argument("--before-moves", type=int, default=3, help="slider moves and Play steps timed with --before")
    parser.add_argument("--moves", type=int, default=MOVES, help="slider moves timed per size")
    parser.add_argument("--plays", type=int, default=PLAYS, help="Play steps timed per size")
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--arg", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "replay":
        print(json.dumps(measure_replay(args.arg, args.moves, args.plays)))
        return
    if args.child == "live":
        print(json.dumps(measure_live(args.arg, args.repeats)))
        return

    for n in args.sizes:  # record the runs first, with this tree, so neither variant pays for it
        run_dir(n)
    variants = {"after": None} if args.before is None else {"before": args.before.resolve(), "after": None}
    print(f"nasnb explorer at scale ({os.cpu_count()} CPUs; evolution {STRATEGY} on the digits table)")
    rows = [("open", "open", "s"), ("move", "slider move (median)", "s"), ("move_max", "slider move (worst)", "s")]
    rows += [("play", "Play step (median)", "s"), ("ring", "population ring ready", "s")]
    rows += [("sent_kb", "sent per move (median)", "KB"), ("rss", "RSS after moves", "MB")]
    rows += [("growth", "RSS growth", "MB"), ("peak", "peak RSS", "MB")]
    for n in args.sizes:
        results = {}
        for name, package in variants.items():
            if name == "before" and n not in args.before_sizes:
                continue
            few = argparse.Namespace(**{**vars(args), "moves": args.before_moves, "plays": args.before_moves})
            results[name] = child("replay", n, package, few if name == "before" else args)
        print(f"\nreplay of {n:,} trials" + ("   (before → after, ratio after/before)" if len(variants) > 1 else ""))
        for key, label, unit in rows:
            values = [results[name][key] if name in results else None for name in variants]
            line = f"  {label:26s}" + "".join(f"{fmt(v, unit):>12s}" for v in values)
            if len(values) == 2 and values[0] and values[1] is not None:
                line += f"   {values[1] / values[0]:6.3f}x"
            print(line)
        for name in results:
            if results[name]["errors"]:
                print(f"  {name} showed errors: {results[name]['errors'][:300]}")
        if 10_000 <= n:
            after = results["after"]
            print(
                f"  goals: open <= 1 s at 10k: {after['open']:.3f} s; move <= 0.2 s: {after['move_max']:.3f} s worst;"
                f" Play step < 0.2 s: {after['play']:.3f} s"
            )
    if not args.skip_live:
        print(f"\nlive: {args.live_trials:,}-trial table search, headless vs explorer attached, {args.repeats} runs")
        for name, package in variants.items():
            r = child("live", args.live_trials, package, args)
            verdict = "met" if r["ratio"] <= 1.05 else "missed"
            print(
                f"  {name:7s} headless {r['headless']:.3f} s, attached {r['explorer']:.3f} s: "
                f"ratio {r['ratio']:.3f}x (goal <= 1.05x: {verdict}); {r['redraws']:.0f} redraws, "
                f"{r['redraw_s'] * 1e3:.0f} ms redrawing; final redraw shows {r['shown']} trials; "
                f"peak RSS {r['peak']:.0f} MB" + (f"; errors: {r['errors'][:200]}" if r["errors"] else "")
            )


if __name__ == "__main__":
    main()
