"""Drawing an architecture: first its graph as plain data, then a thin matplotlib renderer.

The explorer draws the same ``ArchitectureGraph`` with bqplot, so what a notebook shows and what
the side panel shows cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .architecture import Architecture

OP_COLOURS = {
    "none": "#d0d0d0",
    "skip_connect": "#4c72b0",
    "conv_1x1": "#dd8452",
    "conv_3x3": "#c44e52",
    "avg_pool_3x3": "#55a868",
    "conv": "#c44e52",
    "pool": "#55a868",
    "fc": "#8172b3",
    "hyper": "#937860",
}


@dataclass(frozen=True)
class ArchitectureGraph:
    """Nodes with positions and labels, edges with labels: everything a renderer needs."""

    nodes: list[dict[str, Any]]  # {"id", "label", "x", "y"}
    edges: list[dict[str, Any]]  # {"source", "target", "label", "kind", "decision", "bend"}
    title: str


def architecture_graph(arch: Architecture, *, show_none: bool = True) -> ArchitectureGraph:
    """The drawable graph of a cell (a DAG of nodes) or a chain (a row of layers)."""
    from .cell import CellSpace, edge_nodes
    from .chain import ChainSpace
    from .product import ProductSpace, hyperparameters, network_part

    title = ""
    if isinstance(arch.space, ProductSpace):
        title = ", ".join(f"{k}={v}" for k, v in hyperparameters(arch).items())
        arch = network_part(arch)
    if isinstance(arch.space, CellSpace):
        nodes = [{"id": i, "label": ["in", "1", "2", "out"][i], "x": float(i), "y": 0.0} for i in range(4)]
        edges = []
        for name, op in arch.items():
            if op == "none" and not show_none:
                continue
            src, dst = edge_nodes(name)
            # neighbours are joined straight; longer edges arc above (0->2, 0->3) or below (1->3)
            bend = {2: -0.5 if src == 0 else 0.5, 3: -0.45}.get(dst - src, 0.0)
            edges.append({"source": src, "target": dst, "label": op, "kind": op, "decision": name, "bend": bend})
        return ArchitectureGraph(nodes, edges, title)
    if isinstance(arch.space, ChainSpace):
        layers = arch.space.layers(arch)
        labels = ["input"] + [_layer_label(layer) for layer in layers] + ["classifier"]
        nodes = [{"id": i, "label": label, "x": float(i), "y": 0.0} for i, label in enumerate(labels)]
        edges = [
            {
                "source": i,
                "target": i + 1,
                "label": "",
                "kind": layers[i]["type"] if i < len(layers) else "fc",
                "decision": f"L{i + 1}.type" if i < len(layers) else "",
                "bend": 0.0,
            }
            for i in range(len(labels) - 1)
        ]
        return ArchitectureGraph(nodes, edges, title)
    raise TypeError(f"cannot draw a {arch.space.name} architecture; draw a cell or chain (or a product with one)")


def _layer_label(layer: dict[str, Any]) -> str:
    if layer["type"] == "pool":
        return f"{layer['pool']}pool"
    kind = f"conv{layer['kernel']}x{layer['kernel']}" if layer["type"] == "conv" else "fc"
    head = f"{kind}\n{layer['width']}"
    extras = [layer["act"]] + (["bn"] if layer["bn"] else [])
    if layer["dropout"]:
        extras.append(f"drop {layer['dropout']}")
    return head + "\n" + " ".join(extras)


def plot_architecture(arch: Architecture, ax: Any = None, *, show_none: bool = False):
    """Draw ``arch`` with matplotlib; returns the axes."""
    import matplotlib.pyplot as plt

    graph = architecture_graph(arch, show_none=show_none)
    if ax is None:
        width = 6 if len(graph.nodes) <= 4 else 1.6 * len(graph.nodes)
        _, ax = plt.subplots(figsize=(width, 3))
    return draw_graph(graph, ax)


def draw_graph(
    graph: ArchitectureGraph,
    ax: Any,
    *,
    edge_width: Callable[[dict[str, Any]], float] | None = None,
    halo: float | None = None,
):
    """Draw an ``ArchitectureGraph`` (or one derived from it) on ``ax``: coloured arrows, labels, nodes.

    ``edge_width(edge)`` sets each arrow's line width (default 2); ``halo`` draws a grey arrow of that
    width under each one, so a thinner arrow shows how much of the edge is left (compression uses
    both to draw what pruning removed). Multi-line edge labels get room below the curve.
    """
    from matplotlib.patches import FancyArrowPatch

    pos = {n["id"]: (n["x"], n["y"]) for n in graph.nodes}
    lines = 1
    for edge in graph.edges:
        (x0, y0), (x1, y1) = pos[edge["source"]], pos[edge["target"]]
        bend, colour = edge["bend"], OP_COLOURS.get(edge["kind"], "#333333")
        strokes = [(halo, "#c8c8c8")] if halo else []
        strokes.append((edge_width(edge) if edge_width else 2, colour))
        for width, stroke in strokes:
            ax.add_patch(
                FancyArrowPatch(
                    (x0, y0),
                    (x1, y1),
                    connectionstyle=f"arc3,rad={bend}",
                    arrowstyle="-|>",
                    mutation_scale=14,
                    lw=width,
                    color=stroke,
                    shrinkA=12,
                    shrinkB=12,
                )
            )
        if edge["label"]:  # the midpoint of matplotlib's arc3 curve
            extra = edge["label"].count("\n")
            lines = max(lines, extra + 1)
            mx, my = (x0 + x1) / 2 + bend * (y1 - y0) / 2, (y0 + y1) / 2 - bend * (x1 - x0) / 2
            dy = 0.08 if bend <= 0 else -0.12 - 0.08 * extra
            # on a white ground above the arrows, so an arc or arrowhead passing behind never crosses it
            ax.text(
                mx,
                my + dy,
                edge["label"],
                ha="center",
                fontsize=8,
                color=colour,
                zorder=4,
                bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.9},
            )
    for node in graph.nodes:
        ax.text(
            node["x"],
            node["y"],
            node["label"],
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": "white", "ec": "#555555"},
            zorder=5,
        )
    xs = [n["x"] for n in graph.nodes]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    # room for the highest arc's label above and the lowest one's below (arc3's apex is bend * length / 2)
    apex = [-e["bend"] * (pos[e["target"]][0] - pos[e["source"]][0]) / 2 for e in graph.edges] or [0.0]
    ax.set_ylim(min(-0.75, min(apex) - 0.3) - 0.1 * (lines - 1), max(0.95, max(apex) + 0.28))
    ax.set_axis_off()
    if graph.title:
        ax.set_title(graph.title, fontsize=9)
    return ax
