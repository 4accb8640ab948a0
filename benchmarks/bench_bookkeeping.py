"""Search bookkeeping per step: ask + tell + run-log append, at population 100 (goal <= 2 ms).

The evaluator returns at once, so everything measured is nasnb's own overhead. Printed side by
side in one run: in memory, with the run log (fsync per trial), and the bare strategy ask/tell
without Search, so the cost of each layer is visible.
"""

from __future__ import annotations

import statistics
import tempfile
import time

from nasnb import CellSpace, Search
from nasnb.strategies import EvolutionStrategy
from nasnb.trial import Trial

STEPS = 600
POPULATION = 100


def objective(arch):
    return {"accuracy": sum(op == "conv_3x3" for op in arch.values()) / 6, "params": 1000}


def bare_strategy() -> float:
    space = CellSpace()
    strategy = EvolutionStrategy(population_size=POPULATION, tournament_size=10)
    strategy.setup(space, 0)
    t0 = time.perf_counter()
    for i in range(STEPS):
        proposal = strategy.ask()
        strategy.tell(Trial(i, i, str(proposal.arch), proposal.decision, objective(proposal.arch)))
    return (time.perf_counter() - t0) / STEPS * 1e3


def search(run_dir: str | None) -> float:
    s = Search(
        CellSpace(),
        EvolutionStrategy(population_size=POPULATION, tournament_size=10),
        objective,
        budget=STEPS,
        seed=0,
        run_dir=run_dir,
    )
    t0 = time.perf_counter()
    s.run()
    s.close()
    return (time.perf_counter() - t0) / STEPS * 1e3


def main() -> None:
    rows = {"strategy ask+tell only": [], "Search, in memory": [], "Search + run log (fsync)": []}
    for _ in range(3):
        rows["strategy ask+tell only"].append(bare_strategy())
        rows["Search, in memory"].append(search(None))
        with tempfile.TemporaryDirectory() as tmp:
            rows["Search + run log (fsync)"].append(search(f"{tmp}/run"))
    print(f"{STEPS} steps, population {POPULATION}, median of 3 runs (ms per step):")
    base = statistics.median(rows["strategy ask+tell only"])
    for name, values in rows.items():
        m = statistics.median(values)
        print(f"  {name:28s} {m:6.3f} ms   ({m / base:4.2f}x the bare strategy)")
    logged = statistics.median(rows["Search + run log (fsync)"])
    print(f"goal: <= 2 ms per step with the run log -> {'met' if logged <= 2 else 'missed'}")


if __name__ == "__main__":
    main()
