"""Drawing one input's explanation with matplotlib: the cell's edges and strongest path, saliency, feature maps.

Thin renderers over what ``explain_input`` returns (an ``InputExplanation``) and what
``feature_maps`` returns; they compute nothing the data functions do not already hold.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from .input_paths import InputExplanation


def plot_cell_paths(explanation: InputExplanation, cell: int = 0, ax: Any = None):
    """The cell DAG with each edge drawn as thick as its attribution; the strongest path in red."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    from ..spaces import architecture_graph, edge_nodes
    from ..spaces.drawing import OP_COLOURS

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 2.6))
    edges = explanation.edges[explanation.edges["cell"] == cell]
    paths = explanation.paths[(explanation.paths["cell"] == cell) & (explanation.paths["rank"] == 1)]
    best = set(paths["edges"].iloc[0]) if len(paths) else set()
    if "0->3" not in set(edges["unit"]):
        ax.barh(range(len(edges))[::-1], edges["attribution"], color="tab:purple")
        ax.set_yticks(range(len(edges))[::-1], [f"{u} {o}" for u, o in zip(edges["unit"], edges["op"])])
        ax.set_xlabel("attribution to the target logit")
        return ax
    graph = architecture_graph(_cell_arch(edges), show_none=False)
    bends = {e["decision"]: e["bend"] for e in graph.edges}
    straight = 0
    for record in edges.itertuples(index=False):
        if not record.live:
            continue
        src, dst = edge_nodes(record.unit)
        hot = record.unit in best
        ax.add_patch(
            FancyArrowPatch(
                (src, 0),
                (dst, 0),
                connectionstyle=f"arc3,rad={bends.get(record.unit, 0)}",
                arrowstyle="-|>",
                mutation_scale=12,
                shrinkA=12,
                shrinkB=12,
                lw=0.8 + 6 * record.magnitude,
                color="tab:red" if hot else OP_COLOURS.get(record.op, "#555555"),
                alpha=0.9 if hot else 0.6,
            )
        )
        bend = bends.get(record.unit, 0)
        mx, my = (src + dst) / 2, -bend * (dst - src) / 2  # the middle of the drawn arc
        if bend == 0:
            # straight edges sit end to end: alternate their labels above and below the line,
            # clear of the arrow however thick its attribution makes it
            straight += 1
            y, va = (0.13, "bottom") if straight % 2 else (-0.13, "top")
        else:
            y, va = (my + 0.05, "bottom") if my > 0 else (my - 0.05, "top")
        ax.text(
            mx,
            y,
            f"{record.op} {record.attribution:+.2f}",
            ha="center",
            va=va,
            fontsize=8,
            color="tab:red" if hot else "#333333",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
            zorder=5,
        )
    for i, label in enumerate(["in", "1", "2", "out"]):
        ax.text(
            i,
            0,
            label,
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": "white", "ec": "#555555"},
        )
    ax.set_xlim(-0.5, 3.5)
    ax.set_ylim(-1.0, 1.1)
    ax.set_axis_off()
    route = paths["path"].iloc[0] if len(paths) else "none"
    ax.set_title(f"cell {cell}: strongest path {route} (red); edge width = |attribution|", fontsize=10)
    return ax


def _cell_arch(edges: pd.DataFrame):
    from ..spaces import CellSpace

    return CellSpace().validate(dict(zip(edges["unit"], edges["op"])))


def plot_input_explanation(explanation: InputExplanation, *, cell: int = 0):
    """One figure: the input, its saliency map, and the cell's edges with the strongest path."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, 3, figsize=(12, 3.4), gridspec_kw={"width_ratios": [1, 1.25, 2.4]}, layout="constrained"
    )
    image, saliency = explanation.input, explanation.saliency
    if image.ndim == 3:
        axes[0].imshow(image.mean(axis=0), cmap="gray_r")
        summed = saliency.sum(axis=0)
        limit = float(np.abs(summed).max()) or 1.0
        shown = axes[1].imshow(summed, cmap="RdBu_r", vmin=-limit, vmax=limit)
        bar = fig.colorbar(shown, ax=axes[1], shrink=0.9)
        bar.set_label("toward (red) / against (blue) the class", fontsize=8)
    else:
        axes[0].bar(range(len(image)), image)
        axes[1].bar(range(len(saliency)), saliency, color="tab:red")
    truth = f", label {explanation.label}" if explanation.label is not None else ""
    axes[0].set_title(f"input (predicted {explanation.prediction}{truth})", fontsize=10)
    axes[1].set_title(f"integrated gradients for class {explanation.target}", fontsize=10)
    for ax in axes[:2]:
        ax.set_xticks([])
        ax.set_yticks([])
    plot_cell_paths(explanation, cell=cell, ax=axes[2])
    return fig


def layer_title(name: str) -> str:
    """A reader's name for a module path from ``default_layers``: ``body.0`` -> ``cell 1``,
    ``layers.2`` -> ``layer 3``, ``stem`` -> ``stem (first convolution)``; others unchanged."""
    match = re.fullmatch(r"(body|layers)\.(\d+)", name)
    if match:
        return f"{'cell' if match.group(1) == 'body' else 'layer'} {int(match.group(2)) + 1}"
    return "stem (first convolution)" if name == "stem" else name


def plot_feature_maps(maps: dict[str, np.ndarray], *, ncols: int = 3):
    """The feature-map grids side by side, one panel per layer, titled for a reader (``cell 1``,
    not the module path ``body.0``) and sharing one colour bar: every channel is scaled to
    [0, 1] on its own (see ``feature_maps``), so the bar reads "low" to "high" for that channel."""
    import matplotlib.pyplot as plt

    n = max(len(maps), 1)
    cols = min(ncols, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols + 1.0, 3.3 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.set_axis_off()
    image = None
    for ax, (name, grid) in zip(axes.flat, maps.items()):
        image = ax.imshow(grid, cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_title(layer_title(name), fontsize=10)
    if image is not None:
        bar = fig.colorbar(image, ax=axes, shrink=0.85, ticks=[0, 0.5, 1])
        bar.ax.set_yticklabels(["0 low", "0.5", "1 high"])
        bar.set_label("activation, scaled per channel", fontsize=9)
    fig.suptitle("what each layer saw: one tile per channel", fontsize=10)
    return fig
