"""Lineage view: who descended from whom, drawn as step (x) against score (y).

Laying trials out by time and score keeps the picture stable while it grows (a force layout
would reshuffle on every trial) and makes the path to the best trial read left to right, uphill.
Clicking a node selects that trial.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..frame import Frame
from .common import FAILED_COLOUR, HIGHLIGHT, figure, fit_axis, floats, note, on_pick, xy_axes

KIND_COLOURS = {
    "init": "#8c8c8c",
    "random": "#8c8c8c",
    "mutation": "#4c72b0",
    "crossover": "#8172b3",
    "offspring": "#4c72b0",
}
OTHER_COLOUR = "#55a868"


@dataclass(frozen=True)
class LineageData:
    """``nasnb.explain.lineage_layout`` with its colours: nodes (``ids``, ``x`` = step, ``y`` = score,
    failed ones on the floor, ``colours`` by kind) and edges as segment arrays of shape (n, 2):
    ``edge_x``/``edge_y``, and ``path_x``/``path_y`` for the edges on the path to the best trial."""

    ids: list[int]
    x: np.ndarray
    y: np.ndarray
    colours: list[str]
    edge_x: np.ndarray
    edge_y: np.ndarray
    path_x: np.ndarray
    path_y: np.ndarray


def lineage_data(source: Any, path: Sequence[int] | None = None) -> LineageData:
    """Drawable data from Columns (the explorer's prefix of a search: the path to the best trial
    is followed back by itself), a lineage DiGraph or Trials, with ``path`` the ids to highlight."""
    from ...explain import lineage_layout

    layout = lineage_layout(source, path)
    palette = np.array([KIND_COLOURS.get(name, OTHER_COLOUR) for name in layout.kind_names] + [FAILED_COLOUR])
    colours = palette[np.where(layout.failed, len(layout.kind_names), layout.kinds)]
    return LineageData(
        layout.ids.tolist(),
        floats(layout.x),
        floats(layout.y),
        colours.tolist() if len(layout.ids) else [],
        *layout.segments(layout.edges),
        *layout.segments(layout.path_edges),
    )


class LineageView:
    """Renders LineageData: marks ``edges``, ``path`` (to the best trial) and ``nodes``."""

    def __init__(self, select: Callable[[int], object], metric: str = "accuracy") -> None:
        self.data: LineageData | None = None
        self.x_scale, self.y_scale = x_scale, y_scale = bq.LinearScale(), bq.LinearScale()
        scales = {"x": x_scale, "y": y_scale}
        self.edges = bq.Lines(x=[], y=[], scales=scales, colors=["#c8c8c8"], stroke_width=1.0)
        self.path = bq.Lines(x=[], y=[], scales=scales, colors=[HIGHLIGHT], stroke_width=3.0)
        tooltip = bq.Tooltip(fields=["x", "y"], labels=["step", metric], formats=["", ".4f"])
        self.nodes = bq.Scatter(
            x=[],
            y=[],
            scales=scales,
            colors=["#4c72b0"],
            default_size=30,
            stroke="white",
            display_names=False,
            tooltip=tooltip,
        )
        on_pick(self.nodes, lambda: self.data.ids if self.data else [], select)
        self.x_axis, self.y_axis = xy_axes(x_scale, y_scale, "step", metric)
        self.figure = figure("Lineage (click a trial)", [self.edges, self.path, self.nodes], [self.x_axis, self.y_axis])
        self.legend = note("grey: random/initial · blue: mutation · purple: crossover · orange: path to best")
        self.widget = widgets.VBox([self.figure, self.legend])

    def update(self, frame: Frame) -> None:
        self.show(lineage_data(frame.columns))

    def show(self, data: LineageData) -> None:
        self.data = data
        fit_axis(self.x_scale, self.x_axis, data.x, integer=True)
        fit_axis(self.y_scale, self.y_axis, data.y)
        with self.edges.hold_sync():
            self.edges.x, self.edges.y = _lines(data.edge_x), _lines(data.edge_y)
        with self.path.hold_sync():
            self.path.x, self.path.y = _lines(data.path_x), _lines(data.path_y)
        with self.nodes.hold_sync():
            self.nodes.x, self.nodes.y = data.x, data.y
            self.nodes.colors = data.colours or ["#4c72b0"]


def _lines(segments: np.ndarray) -> np.ndarray:
    """bqplot draws a (n, 2) array as n separate lines; nothing at all as an empty 1-D array."""
    return segments if len(segments) else np.zeros(0)
