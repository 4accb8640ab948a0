"""Architecture drawing with bqplot, from the same ``architecture_graph`` data as the matplotlib one.

Cells are drawn as their DAG (long edges arc above or below so no two overlap), chains as a row
of layers; edges are coloured by operation, so two architectures compare at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass

import bqplot as bq
import numpy as np

from ...spaces import Architecture, architecture_graph
from ...spaces.drawing import OP_COLOURS
from .common import figure

CURVE_POINTS = 16


@dataclass(frozen=True)
class ArchitectureDrawing:
    """Edge polylines (``edge_x``/``edge_y``, one row per edge) with ``edge_colours``, edge label
    positions and texts, node positions and labels, and a ``title`` (hyperparameters, if any)."""

    edge_x: np.ndarray
    edge_y: np.ndarray
    edge_colours: list[str]
    label_x: np.ndarray
    label_y: np.ndarray
    labels: list[str]
    label_colours: list[str]
    node_x: np.ndarray
    node_y: np.ndarray
    node_labels: list[str]
    title: str


def architecture_drawing(arch: Architecture, *, show_none: bool = False) -> ArchitectureDrawing:
    """Drawable data for a cell or chain (or a product with one); TypeError for anything else."""
    graph = architecture_graph(arch, show_none=show_none)
    pos = {n["id"]: (n["x"], n["y"]) for n in graph.nodes}
    t = np.linspace(0.0, 1.0, CURVE_POINTS)[:, None]
    xs, ys, colours, lx, ly, texts, label_colours = [], [], [], [], [], [], []
    for edge in graph.edges:
        (x0, y0), (x1, y1) = pos[edge["source"]], pos[edge["target"]]
        bend = edge["bend"]
        # the quadratic Bézier matplotlib draws for connectionstyle arc3 with rad = bend
        cx, cy = (x0 + x1) / 2 + bend * (y1 - y0), (y0 + y1) / 2 - bend * (x1 - x0)
        curve = (1 - t) ** 2 * np.array([x0, y0]) + 2 * (1 - t) * t * np.array([cx, cy]) + t**2 * np.array([x1, y1])
        xs.append(curve[:, 0])
        ys.append(curve[:, 1])
        colours.append(OP_COLOURS.get(edge["kind"], "#333333"))
        if edge["label"]:
            mid = curve[CURVE_POINTS // 2]
            lx.append(mid[0])
            if bend == 0:
                # straight edges sit end to end on one line: alternate their labels above and
                # below it, or in a narrow column (the side panel) neighbours run into each other
                straight = sum(1 for e in graph.edges[: graph.edges.index(edge)] if e["bend"] == 0 and e["label"])
                ly.append(mid[1] + (0.07 if straight % 2 == 0 else -0.16))
            else:
                ly.append(mid[1] + (0.07 if bend < 0 else -0.12))
            texts.append(str(edge["label"]))
            label_colours.append(colours[-1])
    chain = len(graph.nodes) > 4
    node_y = [n["y"] + (0.25 * (-1) ** i if chain else 0.0) for i, n in enumerate(graph.nodes)]
    return ArchitectureDrawing(
        edge_x=np.array(xs).reshape(len(xs), CURVE_POINTS),
        edge_y=np.array(ys).reshape(len(ys), CURVE_POINTS),
        edge_colours=colours,
        label_x=np.array(lx, dtype=float),
        label_y=np.array(ly, dtype=float),
        labels=texts,
        label_colours=label_colours,
        node_x=np.array([n["x"] for n in graph.nodes], dtype=float),
        node_y=np.array(node_y, dtype=float),
        node_labels=[" ".join(str(n["label"]).split()) for n in graph.nodes],
        title=graph.title,
    )


class ArchitectureView:
    """Renders ArchitectureDrawing: marks ``edges``, ``nodes``, ``node_labels`` and ``edge_labels``."""

    def __init__(self) -> None:
        self.drawing: ArchitectureDrawing | None = None
        x_scale = bq.LinearScale(min=-0.5, max=3.5)
        y_scale = bq.LinearScale(min=-0.8, max=0.9)
        scales = {"x": x_scale, "y": y_scale}
        self.x_scale = x_scale
        self.edges = bq.Lines(x=[], y=[], scales=scales, colors=["#333333"], stroke_width=2.5)
        self.nodes = bq.Scatter(
            x=[],
            y=[],
            scales=scales,
            colors=["white"],
            stroke="#555555",
            default_size=500,
            marker="circle",
            display_names=False,
        )
        self.node_labels = bq.Label(
            x=[], y=[], text=[], scales=scales, align="middle", font_weight="bold", default_size=11, y_offset=4
        )
        self.edge_labels = bq.Label(x=[], y=[], text=[], scales=scales, align="middle", default_size=10)
        self.figure = figure(
            "Architecture",
            [self.edges, self.nodes, self.edge_labels, self.node_labels],
            [],
            width="420px",
            height="230px",
        )
        self.figure.fig_margin = {"top": 30, "bottom": 5, "left": 5, "right": 5}
        self.widget = self.figure

    def show(self, arch: Architecture | None) -> str:
        """Draw ``arch``; returns "" or why it cannot be drawn (e.g. a hyperparameter-only space)."""
        try:
            drawing = None if arch is None else architecture_drawing(arch)
        except TypeError as err:
            drawing, reason = None, str(err)
        else:
            reason = ""
        self.drawing = drawing
        if drawing is None:
            self.edges.x, self.edges.y = np.zeros(0), np.zeros(0)
            self.nodes.x, self.nodes.y = np.zeros(0), np.zeros(0)
            self.node_labels.x, self.node_labels.y, self.node_labels.text = [], [], []
            self.edge_labels.x, self.edge_labels.y, self.edge_labels.text = [], [], []
            self.figure.title = "Architecture"
            return reason
        self.x_scale.min, self.x_scale.max = float(drawing.node_x.min()) - 0.5, float(drawing.node_x.max()) + 0.5
        with self.edges.hold_sync():
            self.edges.x, self.edges.y = drawing.edge_x, drawing.edge_y
            self.edges.colors = drawing.edge_colours or ["#333333"]
        with self.nodes.hold_sync():
            self.nodes.x, self.nodes.y = drawing.node_x, drawing.node_y
        with self.node_labels.hold_sync():
            self.node_labels.x, self.node_labels.y = drawing.node_x, drawing.node_y
            self.node_labels.text = drawing.node_labels
        with self.edge_labels.hold_sync():
            self.edge_labels.x, self.edge_labels.y = drawing.label_x, drawing.label_y
            self.edge_labels.text = drawing.labels
            self.edge_labels.colors = drawing.label_colours or ["#333333"]
        self.figure.title = drawing.title or "Architecture"
        return ""
