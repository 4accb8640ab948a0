"""Per-op importance view: decision × option, coloured by how much choosing that option moved the score.

It answers the question students ask first ("does conv_3x3 on this edge matter?") while the
search runs; the interval under the pointer says how sure that answer is after so few trials.
"""

from __future__ import annotations

from typing import Any

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ...explain.importance_plots import ImportanceGrid, importance_grid
from ..frame import Frame
from .common import figure

# the grid nasnb.explain.plot_importance draws, in the space's order (rows that stay put while a
# search runs are easier to watch than rows that trade places with every trial)
ImportanceData = ImportanceGrid
importance_data = importance_grid


class ImportanceView:
    """Renders ImportanceData as the GridHeatMap ``heatmap`` (colour = effect, grey = untried or
    not an option of that decision);
    hovering updates the ``tooltip`` label, clicking a cell shows its text in ``detail``."""

    def __init__(self) -> None:
        self.data: ImportanceData | None = None
        # red helps, blue hurts, white is "no effect": the colours of nasnb.explain.plot_importance
        self.color_scale = bq.ColorScale(colors=["#2166ac", "#f7f7f7", "#b2182b"], mid=0.0)
        row_scale, column_scale = bq.OrdinalScale(reverse=True), bq.OrdinalScale()
        self.tooltip = widgets.Label("")
        self.heatmap = bq.GridHeatMap(
            row=["", " "],
            column=["", " "],
            color=np.full((2, 2), np.nan),
            null_color="#eeeeee",
            stroke="white",
            scales={"row": row_scale, "column": column_scale, "color": self.color_scale},
            tooltip=self.tooltip,
            visible=False,
        )
        self.heatmap.on_hover(self._hovered)
        self.heatmap.on_element_click(self._clicked)
        axes = [
            bq.Axis(scale=column_scale, tick_style={"font-size": "10px"}, tick_rotate=-30),
            bq.Axis(scale=row_scale, side="left", tick_style={"font-size": "10px"}),
            bq.ColorAxis(scale=self.color_scale, side="right", label="effect"),
        ]
        self.figure = figure("Per-op importance", [self.heatmap], axes, width="420px", height="300px")
        self.figure.fig_margin = {"top": 30, "bottom": 70, "left": 60, "right": 60}
        self.detail = widgets.Label("")
        self.note = widgets.Label("importance appears once a few trials have succeeded")
        self.widget = widgets.VBox([self.figure, self.note, self.detail])

    def update(self, frame: Frame) -> None:
        if frame.importance is None:
            self.data = None
            self.heatmap.visible = False
            self.note.value = frame.importance_note or "importance appears once a few trials have succeeded"
            return
        data = importance_grid(frame.importance, frame.space)
        self.data = data
        if not data.decisions:
            self.heatmap.visible = False
            self.note.value = "no successful trials yet"
            return
        with self.heatmap.hold_sync():
            self.heatmap.color = data.effect
            self.heatmap.row = data.decisions
            self.heatmap.column = data.options
            self.heatmap.visible = True
        # a chain space has dozens of decisions: grow rather than squash the cells
        self.figure.layout.height = f"{max(300, 16 * len(data.decisions) + 110)}px"
        self.figure.layout.width = f"{max(420, 34 * len(data.options) + 150)}px"
        self.note.value = frame.importance_note

    def text_at(self, row: int, column: int) -> str:
        """The description of one cell (what the tooltip and the click show)."""
        if self.data is None or not (0 <= row < len(self.data.decisions) and 0 <= column < len(self.data.options)):
            return ""
        return self.data.describe(row, column)

    def _cell(self, event: dict[str, Any]) -> tuple[int, int]:
        data = event.get("data") or {}
        return int(data.get("rowNum", data.get("row_num", -1))), int(data.get("columnNum", data.get("column_num", -1)))

    def _hovered(self, _mark: Any, event: dict[str, Any]) -> None:
        self.tooltip.value = self.text_at(*self._cell(event))

    def _clicked(self, _mark: Any, event: dict[str, Any]) -> None:
        self.detail.value = self.text_at(*self._cell(event))
