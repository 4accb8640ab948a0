"""Population view: every trial as accuracy against size, coloured by age, the living population ringed.

Evolution's story is in this picture: early random points scatter, the population (ringed)
climbs as old members die and children of the winners take their place; failures sit on the
floor in red so a broken evaluator cannot hide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ...explain.columns import Columns, TrialColumns, as_columns
from ...trial import Trial
from ..frame import Frame
from .common import FAILED_COLOUR, HIGHLIGHT, figure, fit_axis, fit_colour, floats, note, on_pick, xy_axes

SIZE_METRICS = ("params", "macs", "latency_ms")


@dataclass(frozen=True)
class PopulationData:
    """Points to draw. ``ids``/``x``/``y``/``age`` for successful trials; ``current_*`` for the
    living population; ``failed_*`` for failed trials (on the floor, y = 0)."""

    x_label: str
    ids: list[int]
    x: np.ndarray
    y: np.ndarray
    age: np.ndarray
    current_ids: list[int]
    current_x: np.ndarray
    current_y: np.ndarray
    failed_ids: list[int]
    failed_x: np.ndarray
    failed_y: np.ndarray


def x_choices(source: Columns | Sequence[Trial]) -> list[str]:
    """Size metrics every successful trial reports (params, macs, latency_ms), then ``step``."""
    return [m for m in as_columns(source).cost_choices() if m in SIZE_METRICS] + ["step"]


def population_data(
    source: Columns | Sequence[Trial],
    *,
    x: str = "params",
    metric: str = "accuracy",
    population: Sequence[int] | None = None,
) -> PopulationData:
    """Scatter data for ``metric`` against ``x`` (a metric name or ``"step"``).

    ``source`` is Columns (the explorer's prefix of a search; its metric is used) or Trials. A
    successful trial without ``x`` is left out; a failed trial is drawn at its ``x`` if it
    reported one, else at the smallest ``x`` shown, so it stays visible.
    """
    columns = as_columns(source, metric)
    if x == "step":
        values = columns.steps.astype(float)
    elif x in columns.costs:
        values = columns.costs[x]
    elif isinstance(source, Columns):
        raise ValueError(f"x must be 'step' or one of the kept costs {sorted(columns.costs)}, got {x!r}")
    else:
        values = TrialColumns(columns.metric, costs=(x,)).extend(source).view().costs[x]
    good = np.isfinite(columns.scores) & np.isfinite(values)
    ids, x_arr, y_arr = columns.ids[good], values[good], columns.scores[good]
    failed = columns.failed
    failed_x = values[failed]
    floor = float(x_arr.min()) if len(x_arr) else 0.0
    failed_x = np.where(np.isfinite(failed_x), failed_x, floor)
    current = np.isin(ids, np.asarray(list(population or ()), dtype=np.int64))
    return PopulationData(
        x_label=x,
        ids=ids.tolist(),
        x=floats(x_arr),
        y=floats(y_arr),
        age=floats(columns.steps[good]),
        current_ids=ids[current].tolist(),
        current_x=floats(x_arr[current]),
        current_y=floats(y_arr[current]),
        failed_ids=columns.ids[failed].tolist(),
        failed_x=floats(failed_x),
        failed_y=np.zeros(int(failed.sum())),
    )


class PopulationView:
    """Renders PopulationData: marks ``scatter``, ``current``, ``failures``, ``selected``; the
    ``x_metric`` dropdown switches the x axis; ``population_ids`` holds the ringed trial ids."""

    def __init__(
        self, select: Callable[[int], object], metric: str = "accuracy", redraw: Callable[[], object] | None = None
    ) -> None:
        self.metric = metric
        self.redraw = redraw
        self.data: PopulationData | None = None
        self.population_ids: list[int] = []
        self.x_scale, self.y_scale = bq.LinearScale(), bq.LinearScale()
        scales = {"x": self.x_scale, "y": self.y_scale}
        self.age_scale = bq.ColorScale(scheme="viridis", min=0.0, max=1.0)
        tooltip = bq.Tooltip(fields=["x", "y", "color"], labels=["x", metric, "step"], formats=["", ".4f", ""])
        self.scatter = bq.Scatter(
            x=[],
            y=[],
            color=[],
            scales={**scales, "color": self.age_scale},
            default_size=36,
            stroke="white",
            tooltip=tooltip,
        )
        self.current = bq.Scatter(
            x=[],
            y=[],
            scales=scales,
            default_size=140,
            fill=False,
            colors=[HIGHLIGHT],
            stroke_width=2.0,
            display_legend=False,
        )
        self.failures = bq.Scatter(x=[], y=[], scales=scales, marker="cross", colors=[FAILED_COLOUR], default_size=50)
        self.selected = bq.Scatter(
            x=[], y=[], scales=scales, marker="diamond", colors=["black"], default_size=90, fill=False, stroke_width=2.0
        )
        on_pick(self.scatter, lambda: self.data.ids if self.data else [], select)
        on_pick(self.failures, lambda: self.data.failed_ids if self.data else [], select)
        self.x_axis, self.y_axis = xy_axes(self.x_scale, self.y_scale, "params", metric)
        self.figure = figure(
            "Population", [self.scatter, self.current, self.failures, self.selected], [self.x_axis, self.y_axis]
        )
        self.x_metric = widgets.Dropdown(
            options=["params", "macs", "step"],
            value="params",
            description="x axis",
            style={"description_width": "50px"},
            layout={"width": "170px"},
        )
        self.legend = note("colour: age (dark = early) · orange ring: current population · red ×: failed")
        self.widget = widgets.VBox([self.figure, self.x_metric, self.legend], layout={"max_width": "380px"})
        self._frame: Frame | None = None
        self._updating = False
        self._chosen: str | None = None  # what the user picked, kept while the data offers it
        self.x_metric.observe(self._x_changed, names="value")

    def _x_changed(self, change: dict) -> None:
        if not self._updating:
            self._chosen = change["new"]
            if self.redraw is not None:
                self.redraw()  # through the explorer, so a running search's redraws never interleave
            elif self._frame is not None:
                self.update(self._frame)

    def update(self, frame: Frame) -> None:
        self._frame = frame
        choices = x_choices(frame.columns)
        keep = self._chosen if self._chosen in choices else choices[0]
        if list(self.x_metric.options) != choices or self.x_metric.value != keep:
            self._updating = True
            try:
                self.x_metric.options = choices
                self.x_metric.value = keep
            finally:
                self._updating = False
        data = population_data(frame.columns, x=self.x_metric.value, population=frame.population)
        self.data = data
        self.population_ids = list(frame.population) if frame.population is not None else []
        # ranges first, so the marks never meet a zero-width domain (see views.common)
        fit_axis(self.x_scale, self.x_axis, [*data.x, *data.failed_x], integer=data.x_label == "step")
        fit_axis(self.y_scale, self.y_axis, [*data.y, *data.failed_y])
        fit_colour(self.age_scale, data.age)
        with self.scatter.hold_sync():
            self.scatter.x, self.scatter.y, self.scatter.color = data.x, data.y, data.age
        with self.current.hold_sync():
            self.current.x, self.current.y = data.current_x, data.current_y
        with self.failures.hold_sync():
            self.failures.x, self.failures.y = data.failed_x, data.failed_y
        self.x_axis.label = data.x_label
        self.show_selected(frame)

    def show_selected(self, frame: Frame) -> None:
        data, focus = self.data, frame.trial(frame.selected)
        if data is None or focus is None:
            xs, ys = [], []
        elif focus.id in data.ids:
            i = data.ids.index(focus.id)
            xs, ys = [data.x[i]], [data.y[i]]
        elif focus.id in data.failed_ids:
            i = data.failed_ids.index(focus.id)
            xs, ys = [data.failed_x[i]], [0.0]
        else:
            xs, ys = [], []
        with self.selected.hold_sync():
            self.selected.x, self.selected.y = floats(xs), floats(ys)
