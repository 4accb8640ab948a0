"""What watching costs: the same search headless and with the explorer attached (goal <= 1.05x).

200 trials of evolution on the cell space; the evaluator is a planted objective that sleeps
10 ms to stand in for work (as training or a remote evaluation would, it releases the GIL). The
explorer redraws all its views from its own thread while the search runs. Both variants run in
one process, alternated, and the median wall time of each is compared. Also printed: how often
the views were redrawn, how much time redrawing took, and how long the explorer's callbacks held
the search thread (mean and worst).
"""

from __future__ import annotations

import statistics
import time

from nasnb import CellSpace, Search
from nasnb.strategies import EvolutionStrategy

TRIALS = 200
SLEEP = 0.010
REPEATS = 5
OPS = {"conv_3x3": 1.0, "conv_1x1": 0.6, "skip_connect": 0.3}


def objective(arch):
    time.sleep(SLEEP)
    score = sum(OPS.get(op, 0.0) for op in arch.values())
    return {
        "accuracy": score / 6.0,
        "params": 1000 + int(300 * score),
        "macs": 20_000 + int(9000 * score),
        "curves": {"val_accuracy": [score / 12.0, score / 6.0]},
    }


def new_search() -> Search:
    return Search(
        CellSpace(), EvolutionStrategy(population_size=20, tournament_size=5), objective, budget=TRIALS, seed=0
    )


def headless() -> tuple[float, dict]:
    search = new_search()
    t0 = time.perf_counter()
    search.run()
    return time.perf_counter() - t0, {}


def with_explorer() -> tuple[float, dict]:
    from nasnb.widgets import Explorer

    search = new_search()
    explorer = Explorer(search)
    t0 = time.perf_counter()
    explorer.start()
    search.wait()  # the search thread's end; the explorer's last redraw follows, untimed
    seconds = time.perf_counter() - t0
    explorer.wait()
    driver = explorer._driver
    stats = {
        "redraws": explorer.throttle.calls,
        "requests": explorer.throttle.requests,
        "redraw_s": explorer.throttle.busy_seconds,
        "cb_mean_us": driver.callback_mean_seconds * 1e6,
        "cb_max_ms": driver.callback_max_seconds * 1e3,
        "errors": explorer.error_text,
    }
    explorer.close()
    assert len(search.trials) == TRIALS and not stats["errors"], stats["errors"]
    return seconds, stats


def main() -> None:
    import nasnb.widgets  # noqa: F401  (import cost is not part of the measurement)

    with_explorer()  # warm-up: first redraws build every figure
    times: dict[str, list[float]] = {"headless": [], "explorer": []}
    stats: list[dict] = []
    for _ in range(REPEATS):
        times["headless"].append(headless()[0])
        seconds, info = with_explorer()
        times["explorer"].append(seconds)
        stats.append(info)
    base, watched = statistics.median(times["headless"]), statistics.median(times["explorer"])
    print(f"{TRIALS} trials, evaluator sleeps {SLEEP * 1e3:.0f} ms; median of {REPEATS} alternated runs:")
    print(f"  headless            {base:6.3f} s   {', '.join(f'{t:.3f}' for t in times['headless'])}")
    print(f"  explorer attached   {watched:6.3f} s   {', '.join(f'{t:.3f}' for t in times['explorer'])}")
    ratio = watched / base
    print(f"  ratio               {ratio:6.3f}x  (goal <= 1.05x: {'met' if ratio <= 1.05 else 'missed'})")
    s = stats[len(stats) // 2]
    print(
        f"  redraws per run     {statistics.median(x['redraws'] for x in stats):.0f} "
        f"for {s['requests']} requests, {statistics.median(x['redraw_s'] for x in stats) * 1e3:.0f} ms redrawing"
    )
    print(
        f"  search-thread callbacks: mean {statistics.median(x['cb_mean_us'] for x in stats):.0f} us, "
        f"worst {max(x['cb_max_ms'] for x in stats):.2f} ms"
    )


if __name__ == "__main__":
    main()
