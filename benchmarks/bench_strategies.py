"""Every strategy against random search: mean regret after a fixed number of evaluations.

Three objectives, all on the NAS-Bench-201-style CellSpace:

1. *planted*: accuracy is a sum of per-edge per-operation effects plus one interaction (a
   conv_3x3 path through node 1), scaled so the optimum is exactly 1. Regret = 1 − best so far.
2. *multi-fidelity*: the planted accuracy times (1 − exp(−epochs/4)), so short training
   underestimates. Successive halving and Hyperband are compared with random search at an equal
   budget of *epochs*; regret is measured on the best architecture trained for ``max_epochs``.
3. *table*: ``TableEvaluator("digits")``, real validation accuracies of trained cells, when the
   table ships with nasnb (cells missing from a partial table count as failed evaluations).

For each, the mean regret over seeds, a 95 % t-interval and the ratio to random search's mean
regret (below 1 = better than random) are printed.

    python benchmarks/bench_strategies.py [--seeds 10] [--budget 100]
"""

from __future__ import annotations

import argparse
import itertools
import math
import time

import numpy as np

from nasnb import CellSpace, Search
from nasnb.compare import compare_strategies, regret_ratio
from nasnb.spaces import EDGES, OPS
from nasnb.strategies import get

STRATEGIES = {
    "random": "random",
    "evolution": ("evolution", {"population_size": 10, "tournament_size": 3}),
    "bo": "bo",
    "reinforce": "reinforce",
    "qlearning": "qlearning",
    "qlearning-prefix": ("qlearning", {"state": "prefix"}),
    "nsga2 (acc vs params)": ("nsga2", {"population_size": 10}),
}


class PlantedCell:
    """Per-edge per-op effects plus a conv_3x3 path bonus, scaled into [0, 1] with the optimum at 1."""

    def __init__(self, seed: int = 0, interaction: float = 0.5) -> None:
        rng = np.random.default_rng(seed)
        self.effects = rng.normal(size=(len(EDGES), len(OPS))) * rng.uniform(0.2, 1.0, size=(len(EDGES), 1))
        self.interaction = interaction
        raw = self._raw(np.array(list(itertools.product(range(len(OPS)), repeat=len(EDGES)))))
        self.low, self.high = raw.min(), raw.max()

    def _raw(self, idx: np.ndarray) -> np.ndarray:
        c3 = OPS.index("conv_3x3")
        bonus = (idx[..., EDGES.index("0->1")] == c3) & (idx[..., EDGES.index("1->3")] == c3)
        return self.effects[np.arange(len(EDGES)), idx].sum(axis=-1) + self.interaction * bonus

    def __call__(self, arch, epochs: int | None = None) -> dict[str, float]:
        idx = np.array([OPS.index(arch[e]) for e in EDGES])
        accuracy = float((self._raw(idx) - self.low) / (self.high - self.low))
        if epochs is not None:
            accuracy *= 1.0 - math.exp(-epochs / 4.0)
        return {"accuracy": accuracy, "params": float(sum(arch[e].startswith("conv") for e in EDGES))}


def report(title: str, comparison) -> None:
    curves = comparison.curves()
    ratios = regret_ratio(comparison, "random")
    half = regret_ratio(comparison, "random", at=comparison.budget // 2)
    print(f"\n{title}: mean regret over {len(comparison.seeds)} seeds, optimum {comparison.optimum:.4f}")
    print(
        f"{'strategy':24s} {'@' + str(comparison.budget // 2):>8s} {'@' + str(comparison.budget):>8s}"
        f" {'95% band':>19s} {'ratio':>7s} {'ratio@half':>10s}"
    )
    for name in comparison.strategies:
        c, mid = curves[name], comparison.regret[name][:, comparison.budget // 2 - 1]
        print(
            f"{name:24s} {np.nanmean(mid):8.4f} {c.mean[-1]:8.4f} [{c.lower[-1]:7.4f}, {c.upper[-1]:7.4f}]"
            f" {ratios[name]:7.3f} {half[name]:10.3f}"
        )


def multi_fidelity(seeds: list[int], full_trainings: int, max_epochs: int = 27) -> None:
    """Random search at max_epochs against halving/Hyperband, all given the same number of epochs."""
    objective, budget = PlantedCell(0), full_trainings * max_epochs
    specs = {
        "random (full epochs)": ("random", {}),
        "halving": ("halving", {"min_epochs": 1, "max_epochs": max_epochs, "eta": 3}),
        "hyperband": ("hyperband", {"min_epochs": 1, "max_epochs": max_epochs, "eta": 3}),
    }
    print(
        f"\nmulti-fidelity: {budget} epochs each (= {full_trainings} full trainings), {len(seeds)} seeds; "
        "regret of the best architecture trained for max_epochs"
    )
    means = {}
    for label, (name, params) in specs.items():
        regrets, evaluations = [], []
        for seed in seeds:
            search = Search(CellSpace(), get(name, **params), objective, seed=seed)
            spent, best = 0, -np.inf
            while spent < budget:
                trial = search.step()
                epochs = (trial.fidelity or {}).get("epochs", max_epochs)
                spent += epochs
                if epochs == max_epochs and trial.ok:
                    best = max(best, objective(CellSpace().parse(trial.arch))["accuracy"])
            regrets.append(1.0 - best if np.isfinite(best) else np.nan)
            evaluations.append(len(search.trials))
        means[label] = float(np.nanmean(regrets))
        print(f"{label:24s} regret {means[label]:.4f}  ({np.mean(evaluations):.0f} evaluations on average)")
    base = means["random (full epochs)"]
    print("ratio to random: " + ", ".join(f"{k} {v / base:.3f}" for k, v in means.items()))


def table_section(seeds: list[int], budget: int) -> None:
    try:
        from nasnb.evaluation.table import TableEvaluator, load_table
    except ImportError:
        print("\ntable: nasnb.evaluation.table is not available; skipped")
        return
    try:
        table = load_table("digits")
    except ValueError as err:
        print(f"\ntable: {err}; skipped")
        return
    state = "complete" if table.complete else f"PARTIAL: {table.n_trained} of {len(table)} distinct cells trained"
    strategies = {k: v for k, v in STRATEGIES.items() if not k.startswith("nsga2")}
    comparison = compare_strategies(
        CellSpace(), strategies, TableEvaluator("digits"), seeds=seeds, budget=budget, optimum=table.optimum()
    )
    report(f"table 'digits' ({state})", comparison)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--skip-table", action="store_true")
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    t0 = time.perf_counter()
    comparison = compare_strategies(
        CellSpace(), STRATEGIES, PlantedCell(0), seeds=seeds, budget=args.budget, optimum=1.0
    )
    report("planted cell objective", comparison)
    multi_fidelity(seeds, full_trainings=args.budget // 5)
    if not args.skip_table:
        table_section(seeds, args.budget)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
