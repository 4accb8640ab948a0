"""The explorer's views: each one a pure function computing plot data and a thin bqplot renderer.

``Views`` lays them out (wrapping, so the same box fits a notebook cell and the side panel) and
updates them from one Frame, one view at a time, so a view that fails cannot blank the others.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets

from ..frame import Frame
from .architecture import ArchitectureDrawing, ArchitectureView, architecture_drawing
from .common import FULL
from .detail import DetailView, LearningCurve, MetricRow, learning_curve, metric_rows
from .importance import ImportanceData, ImportanceView, importance_data
from .lineage import LineageData, LineageView, lineage_data
from .pareto import ParetoData, ParetoView, pareto_data
from .population import PopulationData, PopulationView, population_data, x_choices
from .progress import ProgressData, ProgressView, progress_data

__all__ = [
    "ArchitectureDrawing",
    "ArchitectureView",
    "DetailView",
    "ImportanceData",
    "ImportanceView",
    "LearningCurve",
    "LineageData",
    "LineageView",
    "MetricRow",
    "ParetoData",
    "ParetoView",
    "PopulationData",
    "PopulationView",
    "ProgressData",
    "ProgressView",
    "Views",
    "architecture_drawing",
    "importance_data",
    "learning_curve",
    "lineage_data",
    "metric_rows",
    "pareto_data",
    "population_data",
    "progress_data",
    "x_choices",
]

WRAP = {"flex_flow": "row wrap", "align_items": "flex-start", "width": FULL}
# each view takes 300 px when there is room (three abreast in a notebook cell) and shrinks to a
# narrow column (the side panel opens 250 px wide) instead of being cut off
CELL = {"flex": "1 1 300px", "min_width": "0", "max_width": "440px"}


class Views:
    """``population``, ``progress``, ``pareto``, ``importance``, ``lineage`` and ``detail``;
    clicking a trial in any of them calls ``select(trial_id)``; a view's own setting (the
    population's x axis) asks for a ``redraw()``."""

    def __init__(
        self, select: Callable[[int], object], metric: str = "accuracy", redraw: Callable[[], object] | None = None
    ) -> None:
        self.population = PopulationView(select, metric, redraw=redraw)
        self.progress = ProgressView(select, metric)
        self.pareto = ParetoView(select, metric)
        self.importance = ImportanceView()
        self.lineage = LineageView(select, metric)
        self.detail = DetailView()
        for view in (self.population, self.progress, self.pareto, self.importance, self.lineage):
            view.widget.layout.flex, view.widget.layout.min_width = CELL["flex"], CELL["min_width"]
            view.widget.layout.max_width = CELL["max_width"]
        self.widget = widgets.VBox(
            [
                widgets.Box([self.population.widget, self.progress.widget, self.pareto.widget], layout=WRAP),
                widgets.Box([self.importance.widget, self.lineage.widget], layout=WRAP),
                self.detail.widget,
            ]
        )

    def update(self, frame: Frame) -> list[str]:
        """Redraw every view from ``frame``; returns the errors of views that failed."""
        errors = []
        for name in ("population", "progress", "pareto", "importance", "lineage", "detail"):
            try:
                getattr(self, name).update(frame)
            except Exception as err:  # shown in the status area by the explorer
                errors.append(f"{name} view: {type(err).__name__}: {err}")
        return errors

    def show_selection(self, frame: Frame) -> None:
        """Move the selection marks and the detail pane only (a click must feel instant)."""
        self.population.show_selected(frame)
        self.detail.update(frame)
