"""Comparing strategies fairly: regret against the number of evaluations, over several seeds.

One run of one strategy says little: a lucky seed can make random search look brilliant. The
honest picture is the *regret* (optimum − best score found so far) after each evaluation,
averaged over seeds with a confidence band, for every strategy on the same objective. Following
the two-step plotting rule, ``compare_strategies`` returns plain data (a ``Comparison``) that
tests and notebooks can inspect, and ``plot_regret`` only draws it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .explain.curves import RegretCurve, best_so_far, regret_band, regret_plot_data
from .search import Search
from .spaces import BaseSpace
from .strategies import BaseStrategy, get

StrategySpec = str | BaseStrategy | tuple[str, Mapping[str, Any]] | Mapping[str, Any] | Callable[[], BaseStrategy]


@dataclass(frozen=True)
class Comparison:
    """Per strategy, a (seeds × budget) array of best-so-far regret; NaN before a run's first success.

    ``optimum_known`` is False when no optimum was given: regret is then measured from the best
    score any run found, which understates every strategy's regret by the same amount.
    """

    strategies: list[str]
    seeds: list[int]
    budget: int
    metric: str
    optimum: float
    optimum_known: bool
    regret: dict[str, np.ndarray]
    scores: dict[str, np.ndarray] = field(repr=False)

    def curves(self, level: float = 0.95, method: str = "t") -> dict[str, RegretCurve]:
        """Mean regret with a ``level`` confidence band per strategy (``method``: "t" or "bootstrap")."""
        return {name: regret_band(self.regret[name], level=level, method=method) for name in self.strategies}

    def final(self) -> dict[str, float]:
        """Mean regret after the whole budget, per strategy."""
        return {name: float(np.nanmean(self.regret[name][:, -1])) for name in self.strategies}

    def to_dataframe(self):
        """Long form: one row per (strategy, seed, evaluation) with score and best-so-far regret."""
        import pandas as pd

        rows = [
            {
                "strategy": name,
                "seed": seed,
                "evaluation": e + 1,
                "score": self.scores[name][i, e],
                "regret": self.regret[name][i, e],
            }
            for name in self.strategies
            for i, seed in enumerate(self.seeds)
            for e in range(self.budget)
        ]
        return pd.DataFrame(rows)

    def summary(self, baseline: str | None = "random"):
        """One row per strategy: final mean regret, its 95 % band, and the ratio to ``baseline``."""
        import pandas as pd

        curves = self.curves()
        ratios = regret_ratio(self, baseline) if baseline in self.strategies else {}
        return pd.DataFrame(
            [
                {
                    "strategy": name,
                    "final_regret": curves[name].mean[-1],
                    "lower": curves[name].lower[-1],
                    "upper": curves[name].upper[-1],
                    f"ratio_to_{baseline}": ratios.get(name, np.nan),
                }
                for name in self.strategies
            ]
        )


def compare_strategies(
    space: BaseSpace,
    strategies: Mapping[str, StrategySpec],
    evaluator: Callable[..., Mapping[str, Any]],
    *,
    seeds: int | Sequence[int] = 5,
    budget: int = 50,
    optimum: float | None = None,
    metric: str = "accuracy",
) -> Comparison:
    """Run every strategy with every seed for ``budget`` evaluations; return the regret curves.

    ``strategies`` maps a label to a registered name, ``(name, params)``, ``{"name", "params"}``,
    a strategy instance (cloned from its parameters for each run) or a factory returning a fresh
    strategy. ``seeds`` is a list of seeds or a count (``range(seeds)``). Each search runs in
    this process; failed trials count as evaluations that found nothing.
    """
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = list(range(seeds))
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must be a positive count or a non-empty list of seeds, got none")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a positive number of evaluations, got {budget!r}")
    if not strategies:
        raise ValueError("strategies must name at least one strategy, e.g. {'random': 'random'}")
    factories = {label: _factory(label, spec) for label, spec in strategies.items()}
    scores = {}
    for label, make in factories.items():
        rows = []
        for seed in seeds:
            search = Search(space, make(), evaluator, budget=budget, seed=seed, metric=metric).run()
            rows.append([np.nan if (s := t.score(metric)) is None else s for t in search.trials])
        scores[label] = np.array(rows, dtype=float)
    known = optimum is not None
    if optimum is None:
        optimum = float(np.nanmax([np.nanmax(v) if np.isfinite(v).any() else -np.inf for v in scores.values()]))
    best = {label: best_so_far(v, axis=1) for label, v in scores.items()}
    regret = {label: float(optimum) - b for label, b in best.items()}
    return Comparison(list(factories), seeds, budget, metric, float(optimum), known, regret, scores)


def regret_ratio(comparison: Comparison, baseline: str = "random", at: int | None = None) -> dict[str, float]:
    """Each strategy's mean regret divided by ``baseline``'s after ``at`` evaluations (default: all).

    Below 1 means better than the baseline; NaN when the baseline's regret is 0 (it found the optimum).
    """
    if baseline not in comparison.regret:
        raise ValueError(f"baseline {baseline!r} is not in this comparison; it has {comparison.strategies}")
    at = comparison.budget if at is None else at
    if not 1 <= at <= comparison.budget:
        raise ValueError(f"at must be in [1, {comparison.budget}], got {at!r}")
    base = float(np.nanmean(comparison.regret[baseline][:, at - 1]))
    return {
        name: float(np.nanmean(comparison.regret[name][:, at - 1]) / base) if base > 0 else float("nan")
        for name in comparison.strategies
    }


def plot_regret(comparison: Comparison, ax: Any = None, *, level: float = 0.95, log: bool = False) -> Any:
    """Draw mean regret and its band against evaluations with matplotlib; returns the axes."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plot_regret needs matplotlib: pip install matplotlib") from None
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    data = regret_plot_data(comparison.curves(level), log=log)
    floor = data.floor
    for name, curve in data.curves.items():
        (line,) = ax.plot(curve.evaluations, curve.mean, label=name)
        ax.fill_between(curve.evaluations, curve.lower, curve.upper, color=line.get_color(), alpha=0.2)
    what = "optimum" if comparison.optimum_known else "best found by any run"
    ax.set_ylabel(f"regret ({what} − best so far)")
    if floor is not None:
        # a log axis cannot show 0 (a run that found the optimum) or a band reaching below it:
        # both are drawn at the floor, and the label says so, instead of vanishing from the plot
        ax.set_yscale("log")
        ax.axhline(floor, color="0.6", linewidth=0.8, linestyle=":")
        ax.set_ylabel(f"regret ({what} − best so far; ≤ {floor:.2g} drawn at {floor:.2g})")
    ax.set_xlabel("evaluations")
    ax.set_title(f"{comparison.metric}: mean over {len(comparison.seeds)} seeds, {level:.0%} band")
    ax.legend()
    return ax


def _factory(label: str, spec: StrategySpec) -> Callable[[], BaseStrategy]:
    if isinstance(spec, str):
        get(spec)  # fail now on an unknown name, not after other strategies ran
        return lambda: get(spec)
    if isinstance(spec, BaseStrategy):
        return lambda: type(spec)(**spec.get_params())
    if isinstance(spec, tuple) and len(spec) == 2:
        name, params = spec
        return lambda: get(name, **dict(params))
    if isinstance(spec, Mapping) and "name" in spec:
        return lambda: get(spec["name"], **dict(spec.get("params", {})))
    if callable(spec):

        def make() -> BaseStrategy:
            strategy = spec()
            if not isinstance(strategy, BaseStrategy):
                raise TypeError(f"strategy factory {label!r} returned {type(strategy).__name__}, not a strategy")
            return strategy

        return make
    raise TypeError(
        f"strategy {label!r} must be a name, (name, params), {{'name', 'params'}}, a strategy or a factory; "
        f"got {type(spec).__name__}"
    )
