"""What compression removed and what it cost, as data first and thin matplotlib renderers second.

* ``pruned_cell_graph``: the cell drawing (``spaces.drawing``) with each edge labelled by what
  pruning left of it (channels before -> after, or the share of zero weights);
* ``edge_sensitivity``: which cell edges and operations the accuracy depends on (from ``sensitivity``);
* ``tradeoff_points``: accuracy against size and against latency, every technique on one chart;
* ``distillation_table``: per class, teacher, lone student and distilled student, and where the
  distilled student still disagrees with its teacher.

The data functions are tested directly; the renderers only draw what they return (STYLE.md, point 6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..spaces import Architecture
from ..spaces.drawing import OP_COLOURS, ArchitectureGraph, architecture_graph, draw_graph
from .record import CompressionResult


def pruned_cell_graph(arch: Architecture, result: CompressionResult, cell: int = 0) -> ArchitectureGraph:
    """The cell of ``arch`` with each edge's ``kept`` share (1.0 = untouched) and a label saying what went.

    Works for structured results (``channels_before``/``channels_after`` per conv layer) and
    unstructured ones (``sparsity`` per layer). Edges without weights (skip, pooling) keep 1.0:
    in structured pruning they still carry fewer channels, which the title states for the cell.
    """
    per_edge: dict[str, dict[str, Any]] = {}
    widths: list[tuple[int, int]] = []
    for row in result.layers:
        parts = row["layer"].split(".")
        if len(parts) < 4 or parts[0] != "body" or parts[2] != "edges":
            continue
        if int(parts[1]) != _body_index(result, cell):
            continue
        src, dst = parts[3].split("_")
        per_edge[f"{int(src)}->{int(dst)}"] = row
        if "channels_after" in row:
            widths.append((row["channels_before"], row["channels_after"]))
    graph = architecture_graph(arch, show_none=False)
    edges = []
    for edge in graph.edges:
        row = per_edge.get(edge["decision"])
        kept, label = 1.0, edge["label"]
        if row is not None and "channels_after" in row:
            kept = row["channels_after"] / row["channels_before"]
            label = f"{label}\n{row['channels_before']}->{row['channels_after']} ch"
        elif row is not None and "sparsity" in row:
            kept = 1.0 - row["sparsity"]
            label = f"{label}\n{row['sparsity']:.0%} zero"
        edges.append({**edge, "label": label, "kept": kept})
    title = f"cell {cell} after {result.method}"
    if widths:
        title += f": {widths[0][0]} -> {widths[0][1]} channels"
    return replace(graph, edges=edges, title=title)


def _body_index(result: CompressionResult, cell: int) -> int:
    """Position in ``model.body`` of the ``cell``-th cell (reductions sit between stages)."""
    from ..nn.cell import Cell

    positions = [i for i, m in enumerate(result.model.body) if isinstance(m, Cell)]
    if not 0 <= cell < len(positions):
        raise ValueError(f"cell must be in 0..{len(positions) - 1}, got {cell!r}")
    return positions[cell]


def edge_sensitivity(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Edge rows of ``sensitivity`` sorted by accuracy drop (largest first): what the accuracy depends on."""
    edges = [dict(r) for r in rows if r.get("kind") == "edge"]
    return sorted(edges, key=lambda r: (-r["drop"], r["cell"], r["edge"]))


def tradeoff_points(baseline: CompressionResult, results: Sequence[CompressionResult]) -> list[dict[str, Any]]:
    """One point per model: method, file and tensor bytes, latency at batch 1 and 64, test accuracy, params."""
    keys = ("method", "size_bytes", "tensor_bytes", "latency_ms_b1", "latency_ms_b64", "test_accuracy", "params")
    points = []
    for r in [baseline, *results]:
        point = {k: getattr(r, k) for k in keys}
        point["setting"] = next((f"{k}={v}" for k, v in r.settings.items() if k in _SETTING_KEYS), "")
        points.append(point)
    return points


_SETTING_KEYS = ("rank_ratio", "ratio", "amount", "engine")


def distillation_table(result) -> list[dict[str, Any]]:
    """Per-class rows of a ``DistillationResult``, largest gain of distillation first."""
    return sorted((dict(r) for r in result.per_class), key=lambda r: -r["gain"])


# -- renderers --------------------------------------------------------------------------------------


def plot_pruned_cell(graph: ArchitectureGraph, ax: Any = None):
    """Draw ``pruned_cell_graph``: line width is the share kept, the grey halo what was removed."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.2))
    return draw_graph(graph, ax, edge_width=lambda edge: 0.6 + 4.4 * edge["kept"], halo=5.0)


def plot_edge_sensitivity(rows: Sequence[dict[str, Any]], ax: Any = None):
    """Bars: validation accuracy lost when each live cell edge is removed, largest on top."""
    import matplotlib.pyplot as plt

    edges = edge_sensitivity(rows)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 0.3 * max(len(edges), 3) + 1))
    labels = [f"cell {r['cell']}  {r['edge']}  {r['op']}" for r in edges][::-1]
    drops = [100 * r["drop"] for r in edges][::-1]
    colours = [OP_COLOURS.get(r["op"], "#333333") for r in edges][::-1]
    ax.barh(range(len(edges)), drops, color=colours)
    ax.set_yticks(range(len(edges)), labels, fontsize=8)
    ax.set_xlabel("validation accuracy lost when the edge is removed (points)")
    ax.set_title("which edges the accuracy depends on", fontsize=9)
    return ax


def plot_tradeoff(points: Sequence[dict[str, Any]], axes: Any = None):
    """Accuracy against file size and against latency at batch 64, one marker per technique."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    methods = list(dict.fromkeys(p["method"] for p in points))
    cmap = plt.get_cmap("tab10")
    for i, method in enumerate(methods):
        mine = [p for p in points if p["method"] == method]
        for ax, key in zip(axes, ("size_bytes", "latency_ms_b64")):
            xs, ys = [p[key] for p in mine], [100 * p["test_accuracy"] for p in mine]
            ax.plot(xs, ys, "o-" if len(mine) > 1 else "o", color=cmap(i), label=method, ms=7)
            for p, x, y in zip(mine, xs, ys):
                if p["setting"]:
                    ax.annotate(p["setting"], (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points")
    axes[0].set_xlabel("size as saved (bytes)")
    axes[1].set_xlabel("CPU latency at batch 64 (ms)")
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].legend(fontsize=8)
    axes[0].figure.suptitle("what each technique costs: up and to the left is better", fontsize=10)
    return axes


def plot_distillation(result, ax: Any = None):
    """Per-class test accuracy of the teacher, the student alone and the distilled student."""
    import matplotlib.pyplot as plt
    import numpy as np

    rows = list(result.per_class)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2))
    x = np.arange(len(rows))
    for offset, key, colour in (
        (-0.27, "alone", "#999999"),
        (0.0, "distilled", "tab:orange"),
        (0.27, "teacher", "tab:blue"),
    ):
        ax.bar(x + offset, [100 * r[key] for r in rows], width=0.27, label=key, color=colour)
    ax.set_xticks(x, [str(r["class"]) for r in rows])
    ax.set_ylabel("test accuracy (%)")
    low = min(100 * min(r["alone"], r["distilled"], r["teacher"]) for r in rows)
    ax.set_ylim(max(0, low - 10), 101)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(
        f"per class: distilled {result.gain_points:+.1f} points over alone\n"
        f"agrees with the teacher on {result.agreement:.0%} of test images (alone: {result.agreement_alone:.0%})",
        fontsize=9,
    )
    return ax
