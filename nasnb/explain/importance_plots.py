"""Matplotlib renderers for ``OpImportance``: a decision × option heatmap and a decision bar chart.

Thin by design (STYLE.md, point 6): all numbers come from the result's frames, so the explorer
can draw the same frames with bqplot and the tests check the frames, not the pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .importance import OpImportance

MAX_ANNOTATED_CELLS = 60


def importance_matrix(result: OpImportance) -> tuple[list[str], list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(row labels, column labels, effects, lows, highs) of the heatmap, rows most important first.

    Columns are every option label in order of first appearance, so a chain space's widths and
    activations share one grid; cells a decision does not have stay NaN (blank).
    """
    rows = list(result.decisions["decision"])
    columns: list[str] = []
    for option in result.options["option"]:
        if str(option) not in columns:
            columns.append(str(option))
    shape = (len(rows), len(columns))
    effect, low, high = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    position = {name: i for i, name in enumerate(rows)}
    for record in result.options.itertuples(index=False):
        i, j = position.get(record.decision), columns.index(str(record.option))
        if i is not None:
            effect[i, j], low[i, j], high[i, j] = record.effect, record.low, record.high
    return rows, columns, effect, low, high


def plot_importance(result: OpImportance, ax: Any = None, *, annotate: bool | None = None):
    """Heatmap of option effects (rows: decisions, most important first; columns: options).

    Red cells help, blue cells hurt, relative to the decision's average option. Each cell is
    annotated with the effect and its interval when the grid is small enough to read
    (``annotate=None`` decides by size); an interval that straddles 0 means "can't tell yet".
    """
    import matplotlib.pyplot as plt

    rows, columns, effect, low, high = importance_matrix(result)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.3 * max(len(columns), 3) + 1.5, 0.55 * max(len(rows), 2) + 1.2))
    if not rows:
        ax.text(0.5, 0.5, "no successful trials yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    limit = float(np.nanmax(np.abs(effect))) if np.isfinite(effect).any() else 1.0
    image = ax.imshow(np.ma.masked_invalid(effect), cmap="RdBu_r", vmin=-limit or -1, vmax=limit or 1, aspect="auto")
    importance = dict(zip(result.decisions["decision"], result.decisions["importance"]))
    ax.set_yticks(
        range(len(rows)), [f"{r}  ({importance[r]:.3f})" if np.isfinite(importance[r]) else r for r in rows], fontsize=8
    )
    ax.set_xticks(range(len(columns)), columns, rotation=30, ha="right", fontsize=8)
    if annotate is None:
        annotate = effect.size <= MAX_ANNOTATED_CELLS
    if annotate:
        for i, j in zip(*np.nonzero(np.isfinite(effect))):
            text = f"{effect[i, j]:+.3f}"
            if np.isfinite(low[i, j]):
                text += f"\n[{low[i, j]:+.3f}, {high[i, j]:+.3f}]"
            dark = abs(effect[i, j]) > 0.6 * limit
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5, color="white" if dark else "black")
    ax.figure.colorbar(image, ax=ax, label=f"effect on {result.metric}", shrink=0.8)
    ax.set_title(
        f"option effects ({result.estimator}, {result.n_trials} trials, {result.confidence:.0%} intervals)", fontsize=9
    )
    return ax


def plot_decision_importance(result: OpImportance, ax: Any = None):
    """Horizontal bars of decision importance with their intervals, most important on top."""
    import matplotlib.pyplot as plt

    frame = result.decisions
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 0.35 * max(len(frame), 2) + 1))
    if frame.empty:
        ax.text(0.5, 0.5, "no successful trials yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    values = frame["importance"].to_numpy(dtype=float)
    lows, highs = frame["low"].to_numpy(dtype=float), frame["high"].to_numpy(dtype=float)
    errors = np.vstack([np.nan_to_num(values - lows), np.nan_to_num(highs - values)]).clip(min=0)
    y = np.arange(len(frame))[::-1]
    ax.barh(y, np.nan_to_num(values), xerr=errors, color="tab:blue", alpha=0.8, capsize=2)
    ax.set_yticks(y, list(frame["decision"]), fontsize=8)
    ax.set_xlabel(f"importance (std of option effects on {result.metric})")
    ax.set_title(f"decision importance ({result.estimator})", fontsize=9)
    return ax


__all__ = ["importance_matrix", "plot_decision_importance", "plot_importance"]
