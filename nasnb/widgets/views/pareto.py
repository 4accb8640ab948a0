"""Pareto view: accuracy against cost, with the trials no other trial beats on both highlighted.

A network almost as accurate as the best at a tenth of its size is often the right answer; the
front makes that trade-off visible for any strategy, not only NSGA-II.
"""

from __future__ import annotations

from collections.abc import Callable

import bqplot as bq
import ipywidgets as widgets

from ...explain.pareto import ParetoFront, pareto_data
from ..frame import Frame
from .common import HIGHLIGHT, figure, fit_axis, note, note_html, on_pick, xy_axes
from .population import x_choices

ParetoData = ParetoFront  # the view draws nasnb.explain's Pareto data, as plot_pareto does


class ParetoView:
    """Renders ParetoData: marks ``points``, ``front`` and ``front_line``; ``note`` explains an
    empty plot (the evaluator reports no cost)."""

    def __init__(self, select: Callable[[int], object], metric: str = "accuracy") -> None:
        self.data: ParetoData | None = None
        self.x_scale, self.y_scale = x_scale, y_scale = bq.LinearScale(), bq.LinearScale()
        scales = {"x": x_scale, "y": y_scale}
        tooltip = bq.Tooltip(fields=["x", "y"], labels=["cost", metric], formats=["", ".4f"])
        self.points = bq.Scatter(x=[], y=[], scales=scales, default_size=20, colors=["#999999"], tooltip=tooltip)
        self.front_line = bq.Lines(x=[], y=[], scales=scales, colors=[HIGHLIGHT], interpolation="step-after")
        self.front = bq.Scatter(x=[], y=[], scales=scales, default_size=50, colors=[HIGHLIGHT], tooltip=tooltip)
        on_pick(self.points, lambda: self.data.ids if self.data else [], select)
        on_pick(self.front, lambda: self.data.front_ids if self.data else [], select)
        self.x_axis, self.y_axis = xy_axes(x_scale, y_scale, "params", metric)
        self.figure = figure("Pareto front", [self.points, self.front_line, self.front], [self.x_axis, self.y_axis])
        self.note = note()
        self.widget = widgets.VBox([self.figure, self.note])

    def update(self, frame: Frame) -> None:
        costs = [c for c in x_choices(frame.columns) if c != "step"]
        cost = costs[0] if costs else "params"
        data = pareto_data(frame.columns, cost=cost)
        self.data = data
        self.x_axis.label = cost
        self.note.value = note_html(
            "" if len(data.ids) or not frame.trials else "the evaluator reports no params or macs"
        )
        fit_axis(self.x_scale, self.x_axis, data.x)
        fit_axis(self.y_scale, self.y_axis, data.y)
        with self.points.hold_sync():
            self.points.x, self.points.y = data.x, data.y
        with self.front.hold_sync():
            self.front.x, self.front.y = data.front_x, data.front_y
        with self.front_line.hold_sync():
            self.front_line.x, self.front_line.y = data.front_x, data.front_y
