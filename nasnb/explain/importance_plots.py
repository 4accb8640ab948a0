"""Matplotlib renderers for ``OpImportance``: a decision × option heatmap and a decision bar chart.

Thin by design (STYLE.md, point 6): all numbers come from the result's frames, so the explorer
can draw the same frames with bqplot and the tests check the frames, not the pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..spaces import BaseSpace
from .importance import OpImportance

MAX_ANNOTATED_CELLS = 60


@dataclass(frozen=True)
class ImportanceGrid:
    """The decision × option grid of an ``OpImportance``: ``effect[i, j]`` of option ``options[j]``
    at decision ``decisions[i]`` with its interval ``low``..``high`` and ``count`` (trials that
    chose it). NaN (count 0) where the option was never tried or is not an option there."""

    decisions: list[str]
    options: list[str]
    effect: np.ndarray
    low: np.ndarray
    high: np.ndarray
    count: np.ndarray

    def describe(self, row: int, column: int) -> str:
        """One cell in words: ``0->1 = conv_3x3: effect +0.1200 [+0.0500, +0.1900], n = 14``."""
        name = f"{self.decisions[row]} = {self.options[column]}"
        if self.count[row, column] == 0 and not np.isfinite(self.effect[row, column]):
            return f"{name}: not tried yet"
        values = (self.effect[row, column], self.low[row, column], self.high[row, column])
        effect, low, high = (f"{v:+.4f}" if np.isfinite(v) else "?" for v in values)
        return f"{name}: effect {effect} [{low}, {high}], n = {int(self.count[row, column]):,}"

    @property
    def text(self) -> list[list[str]]:
        """``describe`` of every cell, row by row (tooltips)."""
        return [[self.describe(i, j) for j in range(len(self.options))] for i in range(len(self.decisions))]


def importance_grid(result: Any, space: BaseSpace | None = None) -> ImportanceGrid:
    """The grid of ``result`` (an ``OpImportance``, or anything with its ``options`` table).

    Without ``space``: rows most important first, columns in order of first appearance (a chain
    space's widths and activations share one grid). With ``space``: rows and columns in the
    space's order, so rows stay put while a search runs instead of trading places with every
    trial; decisions or options the space does not know follow at the end.
    """
    table = result.options
    names = [str(d) for d in table["decision"]]
    labels = [str(o) for o in table["option"]]
    decisions: list[str] = []
    options: list[str] = []
    if space is not None:
        seen = set(names)
        for name, choices in space.choices.items():
            if name in seen:
                decisions.append(name)
                options += [str(o) for o in choices if str(o) not in options]
    elif hasattr(result, "decisions"):
        decisions = [str(d) for d in result.decisions["decision"]]
    for name in names:
        if name not in decisions:
            decisions.append(name)
    for label in labels:
        if label not in options:
            options.append(label)
    shape = (len(decisions), len(options))
    effect, low, high = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    count = np.zeros(shape, dtype=np.int64)
    if len(table):
        row, col = {d: i for i, d in enumerate(decisions)}, {o: j for j, o in enumerate(options)}
        i = np.array([row[d] for d in names])
        j = np.array([col[o] for o in labels])
        for target, column in ((effect, "effect"), (low, "low"), (high, "high")):
            target[i, j] = table[column].to_numpy(dtype=float)
        count[i, j] = np.nan_to_num(table["n"].to_numpy(dtype=float)).astype(np.int64)
    return ImportanceGrid(decisions, options, effect, low, high, count)


def importance_matrix(result: OpImportance) -> ImportanceGrid:
    """``importance_grid(result)``: rows most important first (kept for code written against 0.x)."""
    return importance_grid(result)


def plot_importance(result: OpImportance, ax: Any = None, *, annotate: bool | None = None):
    """Heatmap of option effects (rows: decisions, most important first; columns: options).

    Red cells help, blue cells hurt, relative to the decision's average option. Each cell is
    annotated with the effect and its interval when the grid is small enough to read
    (``annotate=None`` decides by size); an interval that straddles 0 means "can't tell yet".
    """
    import matplotlib.pyplot as plt

    grid = importance_grid(result)
    rows, columns, effect, low, high = grid.decisions, grid.options, grid.effect, grid.low, grid.high
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


__all__ = ["ImportanceGrid", "importance_grid", "importance_matrix", "plot_decision_importance", "plot_importance"]
