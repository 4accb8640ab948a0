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
from .control import checkpoint, report_progress
from .proxies import PROXIES, build_proxy_model, check_proxies, proxy_batch, score_model
from .table import OK, BenchmarkTable

VOTE = "vote"


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
    x, y, data = proxy_batch(table.dataset, batch_size=batch_size, seed=seed)
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
):
    """Spearman's rho (and Kendall's tau) of each proxy, and of their vote, against table accuracy.

    ``scores`` reuses a ``score_cells`` frame instead of scoring again. ``vote`` names the proxies the
    vote averages (default: all given but ``params``; an empty tuple leaves the vote out).
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
