"""What every view shares: a small bqplot figure, click-to-select, and empty-safe arrays."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import bqplot as bq
import numpy as np

WIDTH, HEIGHT = "380px", "270px"
MARGIN = {"top": 30, "bottom": 45, "left": 55, "right": 15}
FAILED_COLOUR = "#d62728"
HIGHLIGHT = "#ff7f0e"


def floats(values: Sequence[float]) -> np.ndarray:
    """A float array, also when empty (bqplot wants arrays, not lists of None)."""
    return np.asarray(values, dtype=float).reshape(-1)


def figure(
    title: str, marks: list[bq.Mark], axes: list[bq.Axis], *, width: str = WIDTH, height: str = HEIGHT
) -> bq.Figure:
    """A compact figure that fits beside others in the explorer's grid."""
    return bq.Figure(
        title=title,
        marks=marks,
        axes=axes,
        fig_margin=dict(MARGIN),
        animation_duration=0,
        layout={"width": width, "height": height},
        title_style={"font-size": "13px"},
    )


def xy_axes(x_scale: bq.Scale, y_scale: bq.Scale, x_label: str, y_label: str) -> list[bq.Axis]:
    return [
        bq.Axis(scale=x_scale, label=x_label, num_ticks=5),
        bq.Axis(scale=y_scale, label=y_label, side="left", num_ticks=5, label_offset="40px"),
    ]


def on_pick(mark: bq.Mark, ids: Callable[[], Sequence[int]], select: Callable[[int], Any]) -> None:
    """Clicking the mark's i-th point selects the trial ``ids()[i]`` (looked up at click time,
    since the points change with every redraw)."""

    def handler(_mark: bq.Mark, event: dict[str, Any]) -> None:
        index = (event.get("data") or {}).get("index")
        current = list(ids())
        if isinstance(index, int) and 0 <= index < len(current):
            select(int(current[index]))

    mark.on_element_click(handler)
