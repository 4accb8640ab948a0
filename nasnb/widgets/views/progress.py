"""Best-so-far view: every trial's score by step, and the running best as a staircase.

The staircase is what a search is for; the cloud of points under it shows how much of the budget
went on architectures that did not help, and red marks show where trials failed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ...explain.columns import Columns, as_columns
from ...trial import Trial
from ..frame import Frame
from .common import FAILED_COLOUR, HIGHLIGHT, figure, fit_axis, floats, on_pick, xy_axes


@dataclass(frozen=True)
class ProgressData:
    """``steps``/``scores``/``ids`` of successful trials; ``best_steps``/``best`` the running best
    after each step from the first success on; ``failed_steps`` where trials failed."""

    ids: list[int]
    steps: np.ndarray
    scores: np.ndarray
    best_steps: np.ndarray
    best: np.ndarray
    failed_steps: np.ndarray


def progress_data(source: Columns | Sequence[Trial], metric: str = "accuracy") -> ProgressData:
    """Scores by step and the best-so-far curve (failed trials never raise the best).

    ``source`` is Columns (the explorer's prefix of a search; its metric is used) or Trials; the
    running best is ``nasnb.explain.best_so_far``, the same curve regret comparisons are made of.
    """
    columns = as_columns(source, metric)
    scored = np.isfinite(columns.scores)
    started = np.isfinite(columns.best)
    return ProgressData(
        columns.ids[scored].tolist(),
        floats(columns.steps[scored]),
        floats(columns.scores[scored]),
        floats(columns.steps[started]),
        floats(columns.best[started]),
        floats(columns.steps[columns.failed]),
    )


class ProgressView:
    """Renders ProgressData: marks ``points``, ``best`` (the staircase) and ``failures``."""

    def __init__(self, select: Callable[[int], object], metric: str = "accuracy") -> None:
        self.data: ProgressData | None = None
        self.x_scale, self.y_scale = x_scale, y_scale = bq.LinearScale(), bq.LinearScale()
        scales = {"x": x_scale, "y": y_scale}
        tooltip = bq.Tooltip(fields=["x", "y"], labels=["step", metric], formats=["", ".4f"])
        self.points = bq.Scatter(
            x=[], y=[], scales=scales, default_size=20, colors=["#4c72b0"], opacities=[0.6], tooltip=tooltip
        )
        self.best = bq.Lines(
            x=[], y=[], scales=scales, colors=[HIGHLIGHT], stroke_width=2.5, interpolation="step-after"
        )
        self.failures = bq.Scatter(x=[], y=[], scales=scales, marker="cross", colors=[FAILED_COLOUR], default_size=40)
        on_pick(self.points, lambda: self.data.ids if self.data else [], select)
        self.x_axis, self.y_axis = xy_axes(x_scale, y_scale, "step", metric)
        self.figure = figure("Best so far", [self.points, self.best, self.failures], [self.x_axis, self.y_axis])
        self.widget = widgets.VBox([self.figure])

    def update(self, frame: Frame) -> None:
        data = progress_data(frame.columns)
        self.data = data
        floor = float(data.scores.min()) if len(data.scores) else 0.0
        fit_axis(self.x_scale, self.x_axis, [*data.steps, *data.failed_steps, *data.best_steps], integer=True)
        fit_axis(self.y_scale, self.y_axis, [*data.scores, *data.best])
        with self.points.hold_sync():
            self.points.x, self.points.y = data.steps, data.scores
        with self.best.hold_sync():
            self.best.x, self.best.y = data.best_steps, data.best
        with self.failures.hold_sync():
            self.failures.x, self.failures.y = data.failed_steps, np.full(len(data.failed_steps), floor)
