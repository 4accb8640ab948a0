"""How well do zero-cost proxies predict trained accuracy? Measured against the benchmark table.

A proxy is only worth its milliseconds if it *ranks* architectures like training does, so the
measure is Spearman's rank correlation between proxy scores and table accuracy over a sample of
distinct cells (Abdelfattah et al. report synflow at 0.74 on NAS-Bench-201 CIFAR-10). Proxies
disagree in different places, so a rank-average *vote* of several is often steadier than any one.

As everywhere in nasnb, plotting is two steps: ``proxy_correlation_data`` computes what to draw
(tested directly), ``plot_proxy_correlation`` renders it with matplotlib, imported only there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..spaces import as_rng
from .benchmark_table import OK, BenchmarkTable
from .control import checkpoint, report_progress
from .proxies import AVAILABLE, PROXIES, build_proxy_model, check_proxies, proxy_batch, score_model

VOTE = "vote"
LEARNED = "learned (cv)"
LEARNED_CELL = "learned + cell (cv)"
_HEAVY_TAILED = ("synflow", "snip", "grad_norm", "params", "macs")


def default_vote(proxies: Sequence[str]) -> tuple[str, ...]:
    """The proxies a vote averages by default: every real proxy given (``params`` is the baseline, not a voter)."""
    return tuple(p for p in proxies if p != "params")


def score_cells(
    table: BenchmarkTable, proxies: Sequence[str] = PROXIES, *, n: int = 200, seed: int = 0, batch_size: int = 64
):
    """Proxy scores of ``n`` distinct trained cells drawn with ``seed``, next to their table accuracy.

    Returns a DataFrame: ``key``, ``arch``, ``val_accuracy``, ``test_accuracy`` and one column per
    proxy. Cells are scored on the table's own dataset and network recipe.
    """
    import pandas as pd

    names = check_proxies(proxies)
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"score_cells n must be an int >= 2 (a correlation needs pairs), got {n!r}")
    trained = np.flatnonzero(table.status == OK)
    if len(trained) < 2:
        raise ValueError(f"the {table.dataset!r} table has {len(trained)} trained cells; need at least 2")
    rows = np.sort(as_rng(seed).choice(trained, size=min(n, len(trained)), replace=False))
    x, y, data = proxy_batch(table.recipe.get("dataset", table.dataset), batch_size=batch_size, seed=seed)
    records = []
    for i, row in enumerate(rows):
        checkpoint()
        arch = table.representative(int(row))
        model = build_proxy_model(arch, data, seed=seed, network=table.recipe.get("network"))
        records.append(
            {
                "key": str(table.keys[row]),
                "arch": str(arch),
                "val_accuracy": float(table.val_accuracy[row]),
                "test_accuracy": float(table.test_accuracy[row]),
                **score_model(model, x, y, names),
            }
        )
        report_progress(scored=i + 1, cells=len(rows))
    return pd.DataFrame(records)


def vote_score(scores, proxies: Sequence[str]) -> np.ndarray:
    """Rank-average vote: each cell's mean rank (0 = worst, 1 = best) over ``proxies``."""
    from scipy.stats import rankdata

    ranks = [(rankdata(scores[p].to_numpy(), method="average") - 1) / max(len(scores) - 1, 1) for p in proxies]
    return np.mean(ranks, axis=0)


def proxy_correlations(
    table: BenchmarkTable,
    proxies: Sequence[str] = PROXIES,
    *,
    n: int = 200,
    seed: int = 0,
    batch_size: int = 64,
    vote: Sequence[str] | None = None,
    metric: str = "val_accuracy",
    scores: Any = None,
    learned: bool = False,
    cell_features: bool = False,
):
    """Spearman's rho (and Kendall's tau) of each proxy, and of their vote, against table accuracy.

    ``scores`` reuses a ``score_cells`` frame instead of scoring again. ``vote`` names the proxies the
    vote averages (default: all given but ``params``; an empty tuple leaves the vote out).
    ``learned=True`` adds the row ``"learned (cv)"``: a ranking model fitted on all the proxies'
    scores, judged only on cells it was not fitted on (``learned_proxy``). ``cell_features=True`` adds
    ``"learned + cell (cv)"``, the same model also given the cell itself (``cell_features``): a
    performance predictor rather than a zero-cost proxy, since it learns from trained cells.
    Returns a DataFrame indexed by proxy, sorted by rho, with columns ``spearman``, ``kendall``, ``n``.
    """
    import pandas as pd
    from scipy.stats import kendalltau, spearmanr

    names = check_proxies(proxies)
    if scores is None:
        scores = score_cells(table, names, n=n, seed=seed, batch_size=batch_size)
    voters = default_vote(names) if vote is None else check_proxies(vote) if vote else ()
    columns = {p: scores[p].to_numpy() for p in names}
    if len(voters) > 1:
        columns[VOTE] = vote_score(scores, voters)
    if learned:
        columns[LEARNED] = learned_proxy(scores, names, metric=metric, seed=seed)
    if cell_features:
        columns[LEARNED_CELL] = learned_proxy(scores, names, metric=metric, seed=seed, cell=True)
    target = scores[metric].to_numpy()
    rows = []
    for name, values in columns.items():
        rows.append(
            {
                "proxy": name,
                "spearman": float(spearmanr(values, target).statistic),
                "kendall": float(kendalltau(values, target).statistic),
                "n": len(target),
            }
        )
    return pd.DataFrame(rows).set_index("proxy").sort_values("spearman", ascending=False)


@dataclass(frozen=True)
class CorrelationPanel:
    """One scatter panel: each cell's proxy rank (0 = lowest score, 1 = highest) against its accuracy."""

    proxy: str
    rank: np.ndarray
    accuracy: np.ndarray
    spearman: float


def proxy_correlation_data(
    scores, proxies: Sequence[str] | None = None, metric: str = "val_accuracy"
) -> list[CorrelationPanel]:
    """What ``plot_proxy_correlation`` draws, one panel per proxy (and the vote, when several voters).

    Ranks rather than raw scores go on the x axis: scores span many orders of magnitude (synflow) and
    Spearman's rho is a statement about ranks anyway.
    """
    from scipy.stats import rankdata, spearmanr

    names = check_proxies(proxies if proxies is not None else [p for p in PROXIES if p in scores])
    columns = {p: scores[p].to_numpy() for p in names}
    voters = default_vote(names)
    if len(voters) > 1:
        columns[VOTE] = vote_score(scores, voters)
    accuracy = scores[metric].to_numpy()
    scale = max(len(accuracy) - 1, 1)
    return [
        CorrelationPanel(name, (rankdata(values) - 1) / scale, accuracy, float(spearmanr(values, accuracy).statistic))
        for name, values in columns.items()
    ]


def plot_proxy_correlation(scores, proxies: Sequence[str] | None = None, *, metric: str = "val_accuracy"):
    """Scatter of proxy rank against table accuracy, one panel per proxy; returns the matplotlib Figure."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError("plot_proxy_correlation needs matplotlib: pip install matplotlib") from err
    panels = proxy_correlation_data(scores, proxies, metric)
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.8), sharey=True, squeeze=False)
    for ax, panel in zip(axes[0], panels):
        ax.scatter(panel.rank, panel.accuracy, s=6, alpha=0.5)
        ax.set_title(f"{panel.proxy}\nρ = {panel.spearman:.2f}", fontsize=10)
        ax.set_xlabel("proxy rank")
    axes[0][0].set_ylabel(metric.replace("_", " "))
    fig.tight_layout()
    return fig


def proxy_features(scores, proxies: Sequence[str]) -> np.ndarray:
    """Proxy scores as model features: heavy-tailed ones on a signed log scale, ``-inf`` below every finite value."""
    columns = []
    for name in proxies:
        values = scores[name].to_numpy(dtype=float).copy()
        finite = np.isfinite(values)
        floor = values[finite].min() - 1.0 if finite.any() else 0.0
        values[~finite] = floor
        if name in _HEAVY_TAILED:
            values = np.sign(values) * np.log1p(np.abs(values))
        columns.append(values)
    return np.stack(columns, axis=1)


def cell_features(archs: Sequence[str], space: Any = None) -> np.ndarray:
    """The cells themselves as model features: each edge's operation one-hot, then each operation's count.

    ``archs`` are cell strings (a ``score_cells`` frame's ``arch`` column) parsed with ``space``
    (default ``CellSpace()``). The counts repeat what the one-hot columns hold, summed, so that a
    shallow tree can split on "how many convolutions" in one step instead of six.
    """
    from ..spaces import CellSpace

    space = CellSpace() if space is None else space
    one_hot = np.stack([space.encode(space.parse(str(text))) for text in archs]).astype(float)
    ops = space.choices[next(iter(space.choices))]
    counts = one_hot.reshape(len(one_hot), -1, len(ops)).sum(axis=1)
    return np.hstack([one_hot, counts])


def ranking_model(*, cell: bool = False, seed: int = 0):
    """The unfitted tree ensemble ``learned_proxy`` fits per fold (larger when it also sees the cell)."""
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(
        n_estimators=500 if cell else 150,
        max_depth=3 if cell else 2,
        learning_rate=0.03 if cell else 0.05,
        subsample=0.8,
        random_state=seed,
    )


def learned_proxy(
    scores,
    proxies: Sequence[str] | None = None,
    *,
    metric: str = "val_accuracy",
    folds: int = 5,
    seed: int = 0,
    cell: bool = False,
) -> np.ndarray:
    """Out-of-fold predictions of a model that learns to combine proxies: each cell scored by a model not fitted on it.

    Proxies fail in different places (synflow misses what naswot sees), so a model fitted on all of
    them can rank better than any one. Fitting it needs trained accuracies, so it is only honest
    when judged on cells it never saw: ``folds``-fold cross-validation (shuffled with ``seed``)
    fits a gradient-boosted tree ensemble on the other folds' cells for each fold and predicts that
    fold. ``cell=True`` also gives the model the cell's operations (``cell_features``): the proxies
    then only have to explain what the operations alone do not (a performance predictor: its
    quality depends on how many trained cells it learns from). The returned array (one prediction
    per row of ``scores``) is what ``proxy_correlations`` correlates with the table. In a search,
    fit it on the cells already trained and rank new ones.
    """
    from sklearn.model_selection import KFold

    names = check_proxies(proxies if proxies is not None else [p for p in AVAILABLE if p in scores])
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"learned_proxy folds must be an int >= 2, got {folds!r}")
    if len(scores) < 2 * folds:
        raise ValueError(f"learned_proxy needs at least {2 * folds} scored cells for {folds} folds, got {len(scores)}")
    x = proxy_features(scores, names)
    if cell:
        x = np.hstack([x, cell_features(scores["arch"])])
    y = scores[metric].to_numpy(dtype=float)
    predictions = np.empty(len(y))
    for train, test in KFold(folds, shuffle=True, random_state=seed).split(x):
        model = ranking_model(cell=cell, seed=seed)
        model.fit(x[train], y[train])
        predictions[test] = model.predict(x[test])
    return predictions


def proxy_ceiling(table: BenchmarkTable, single_seed_rho: float | None = None) -> dict[str, float]:
    """The best rank correlation any proxy can expect against ``table``: its own repeatability.

    A table built from ``S`` seeds whose seed-to-seed rank correlation is ``r`` has reliability
    ``S r / (1 + (S - 1) r)`` (Spearman-Brown) for its seed mean, and a predictor that knew each
    cell's true quality exactly would correlate with that mean at about the square root of it. So
    ``ceiling`` is the rho beyond which a proxy would be fitting training noise. ``r`` comes from
    the table's own seeds (``table.repeatability()``) or, for a one-seed table, from a retraining
    measurement passed as ``single_seed_rho`` (``benchmarks/bench_table_noise.py``). Spearman-Brown
    is exact for Pearson correlations of normal noise; for ranks it is an approximation.
    """
    seeds = len(table.seeds)
    r = table.repeatability()["rho"] if single_seed_rho is None else float(single_seed_rho)
    if not np.isfinite(r):
        raise ValueError(
            f"the {table.dataset!r} table has one seed, so it cannot measure its own repeatability; pass "
            "single_seed_rho (benchmarks/bench_table_noise.py measures it by retraining a sample)"
        )
    reliability = seeds * r / (1 + (seeds - 1) * r) if r > 0 else 0.0
    return {"seed_rho": float(r), "seeds": seeds, "reliability": float(reliability), "ceiling": float(reliability**0.5)}
