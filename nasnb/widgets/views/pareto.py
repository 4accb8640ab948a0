"""Pareto view: accuracy against cost, with the trials no other trial beats on both highlighted.

A network almost as accurate as the best at a tenth of its size is often the right answer; the
front makes that trade-off visible for any strategy, not only NSGA-II.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ...strategies.objectives import pareto_front
from ...trial import Trial
from ..frame import Frame
from .common import HIGHLIGHT, figure, fit_axis, floats, note, note_html, on_pick, xy_axes
from .population import x_choices


@dataclass(frozen=True)
class ParetoData:
    """All successful trials reporting ``cost`` (``ids``/``x``/``y``) and the front among them,
    sorted by cost (``front_ids``/``front_x``/``front_y``)."""

    cost: str
    ids: list[int]
    x: np.ndarray
    y: np.ndarray
    front_ids: list[int]
    front_x: np.ndarray
    front_y: np.ndarray


def pareto_data(trials: Sequence[Trial], *, cost: str = "params", metric: str = "accuracy") -> ParetoData:
    """The non-dominated trials for ``metric`` (maximised) against ``cost`` (minimised)."""
    ids, xs, ys = [], [], []
    for trial in trials:
        score, value = trial.score(metric), trial.score(cost)
        if score is not None and value is not None:
            ids.append(trial.id)
            xs.append(value)
            ys.append(score)
    front = pareto_front(np.column_stack([ys, xs]) if ids else np.zeros((0, 2)), ["max", "min"])
    front = sorted(front, key=lambda i: (xs[i], -ys[i]))
    return ParetoData(
        cost,
        ids,
        floats(xs),
        floats(ys),
        [ids[i] for i in front],
        floats([xs[i] for i in front]),
        floats([ys[i] for i in front]),
    )


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
        costs = [c for c in x_choices(frame.trials) if c != "step"]
        cost = costs[0] if costs else "params"
        data = pareto_data(frame.trials, cost=cost, metric=frame.metric)
        self.data = data
        self.x_axis.label = cost
        self.note.value = note_html("" if data.ids or not frame.trials else "the evaluator reports no params or macs")
        fit_axis(self.x_scale, self.x_axis, data.x)
        fit_axis(self.y_scale, self.y_axis, data.y)
        with self.points.hold_sync():
            self.points.x, self.points.y = data.x, data.y
        with self.front.hold_sync():
            self.front.x, self.front.y = data.front_x, data.front_y
        with self.front_line.hold_sync():
            self.front_line.x, self.front_line.y = data.front_x, data.front_y
