"""Per-op importance view: decision × option, coloured by how much choosing that option moved the score.

It answers the question students ask first ("does conv_3x3 on this edge matter?") while the
search runs; the interval under the pointer says how sure that answer is after so few trials.
"""

from __future__ import annotations

from typing import Any

import bqplot as bq
import ipywidgets as widgets
import numpy as np
from bqplot.traits import array_dimension_bounds, array_from_json, array_squeeze
from traitlets import Unicode
from traittypes import Array

from ...explain.importance_plots import ImportanceGrid, importance_grid
from ..frame import Frame
from .common import figure, fit_colour, note, note_html

UNTRIED_COLOUR = "#a6a6a6"  # mid grey: not on the blue-white-red effect scale, so never read as an effect
EFFECT_COLOURS = ["#2166ac", "#f7f7f7", "#b2182b"]  # hurts, no effect, helps: as nasnb.explain.plot_importance


def colour_bar_html(reach: float) -> str:
    """The colour key as HTML: a gradient bar from -reach (hurts) to +reach (helps), and the
    grey of untried options. bqplot's ColorAxis reserves 100 px at each end of its bar, so in a
    figure this small it is drawn 0 px long with its labels on top of each other; an HTML bar
    takes the width it is given and its labels never collide."""
    gradient = ", ".join(EFFECT_COLOURS)
    low, high = f"{-reach:+.3g}", f"{reach:+.3g}"
    return (
        "<div class='nasnb-colourbar' style='max-width:320px;font-size:11px;line-height:1.3'>"
        f"<div class='nasnb-colourbar-bar' style='height:12px;background:linear-gradient(to right, {gradient});"
        "border:1px solid #bbbbbb'></div>"
        "<div style='display:flex;justify-content:space-between'>"
        f"<span class='nasnb-colourbar-label'>{low} hurts</span>"
        "<span class='nasnb-colourbar-label'>0</span>"
        f"<span class='nasnb-colourbar-label'>helps {high}</span></div>"
        f"<div><span style='display:inline-block;width:10px;height:10px;background:{UNTRIED_COLOUR};"
        "vertical-align:middle;border:1px solid #bbbbbb'></span> not tried yet · effect on the score of "
        "choosing that option</div></div>"
    )


def _nan_as_null(array: np.ndarray | None, _widget: Any = None) -> list | None:
    """Rows of numbers with every NaN sent as JSON ``null``.

    bqplot's GridHeatMap paints a cell in ``null_color`` only when its value is a JavaScript
    ``null``; a NaN inside bqplot's binary float array reaches the browser as NaN and is painted
    black, which on this red/white/blue scale reads as the strongest effect. A nested list of
    floats and ``None`` goes as plain JSON, which bqplot's deserialiser passes through as is.
    """
    if array is None:
        return None
    grid = np.atleast_2d(np.asarray(array, dtype=float))
    return [[float(v) if np.isfinite(v) else None for v in row] for row in grid]


class UntriedAwareHeatMap(bq.GridHeatMap):
    """A GridHeatMap whose NaN cells (untried options) are drawn in ``null_color``."""

    color = (
        Array(None, allow_none=True)
        .tag(
            sync=True,
            scaled=True,
            rtype="Color",
            atype="bqplot.ColorAxis",
            to_json=_nan_as_null,
            from_json=array_from_json,
        )
        .valid(array_squeeze, array_dimension_bounds(1, 2))
    )
    _view_name = Unicode("GridHeatMap").tag(sync=True)
    _model_name = Unicode("GridHeatMapModel").tag(sync=True)


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
        self.color_scale = bq.ColorScale(colors=EFFECT_COLOURS, mid=0.0, min=-0.01, max=0.01)
        row_scale, column_scale = bq.OrdinalScale(reverse=True), bq.OrdinalScale()
        self.tooltip = widgets.Label("")
        self.heatmap = UntriedAwareHeatMap(
            row=["", " "],
            column=["", " "],
            color=np.full((2, 2), np.nan),
            null_color=UNTRIED_COLOUR,
            stroke="white",
            scales={"row": row_scale, "column": column_scale, "color": self.color_scale},
            tooltip=self.tooltip,
            visible=False,
        )
        self.heatmap.on_hover(self._hovered)
        self.heatmap.on_element_click(self._clicked)
        # option names hang down-left from their column (anchored at their end) so no label is
        # hidden behind the cells or cut by the figure's edge
        tick = {"font-size": "10px"}
        axes = [
            bq.Axis(scale=column_scale, tick_style={**tick, "text-anchor": "end"}, tick_rotate=-35),
            bq.Axis(scale=row_scale, side="left", tick_style=tick),
        ]
        self.figure = figure("Per-op importance", [self.heatmap], axes, width="420px", height="300px")
        # bqplot applies fig_margin only when it first draws, so the margins fit the longest names
        # of the spaces nasnb ships (avg_pool_3x3 below, L1.kernel on the left) from the start
        self.figure.fig_margin = {"top": 30, "bottom": 88, "left": 72, "right": 12}
        self.colour_bar = widgets.HTML(colour_bar_html(0.01))
        self.detail = note()
        self.note = note("importance appears once a few trials have succeeded")
        self.widget = widgets.VBox([self.figure, self.colour_bar, self.note, self.detail])

    def update(self, frame: Frame) -> None:
        if frame.importance is None:
            self.data = None
            self.heatmap.visible = False
            self.note.value = note_html(frame.importance_note or "importance appears once a few trials have succeeded")
            return
        data = importance_grid(frame.importance, frame.space)
        self.data = data
        if not data.decisions:
            self.heatmap.visible = False
            self.note.value = note_html("no successful trials yet")
            return
        fit_colour(self.color_scale, data.effect, symmetric=True)
        self.colour_bar.value = colour_bar_html(float(self.color_scale.max))
        with self.heatmap.hold_sync():
            self.heatmap.color = data.effect
            self.heatmap.row = data.decisions
            self.heatmap.column = data.options
            self.heatmap.visible = True
        # a chain space has dozens of decisions: grow rather than squash the cells
        self.figure.layout.height = f"{max(290, 20 * len(data.decisions) + 125)}px"
        self.figure.layout.min_width = f"{min(420, 24 * len(data.options) + 90)}px"
        self.note.value = note_html(frame.importance_note)

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
        self.detail.value = note_html(self.text_at(*self._cell(event)))
