"""What every view shares: a small bqplot figure, click-to-select, empty-safe arrays, and axes
whose range the view sets itself.

Why explicit ranges: bqplot derives a scale's domain from the data when ``min``/``max`` are
unset, and on a zero-width domain (one trial, or many with one score) its JavaScript builds a
tick format from an undefined precision, logs ``invalid format: .undefinedg`` and stops applying
updates to that view until the page is reloaded. ``fit_axis`` therefore always gives the scale a
padded range with "nice" ends and the axis the matching ticks, so the domain never has zero width
and tick labels stay round numbers (0.5, 0.6, ... rather than 0.32, 0.41, ...).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import bqplot as bq
import ipywidgets as widgets
import numpy as np

WIDTH, HEIGHT = "380px", "270px"
# the whole column less the 2 px margin ipywidgets puts on each side of a widget (a plain 100%
# would stick out 4 px and make the side panel scroll sideways)
FULL = "calc(100% - 4px)"
MIN_WIDTH = "220px"  # the side panel opens 250 px wide: every figure shrinks to fit it
WRAPPED = "white-space:normal;overflow-wrap:anywhere;line-height:1.35;font-size:12px"
MARGIN = {"top": 30, "bottom": 45, "left": 55, "right": 22}  # right: room for half of a "3000" tick
FAILED_COLOUR = "#d62728"
HIGHLIGHT = "#ff7f0e"


def floats(values: Sequence[float]) -> np.ndarray:
    """A float array, also when empty (bqplot wants arrays, not lists of None)."""
    return np.asarray(values, dtype=float).reshape(-1)


def figure(
    title: str, marks: list[bq.Mark], axes: list[bq.Axis], *, width: str = WIDTH, height: str = HEIGHT
) -> bq.Figure:
    """A compact figure that fits beside others in the explorer's grid: ``width`` is its widest,
    and in a narrower column (the side panel) it shrinks to the column, down to MIN_WIDTH."""
    return bq.Figure(
        title=title,
        marks=marks,
        axes=axes,
        fig_margin=dict(MARGIN),
        animation_duration=0,
        layout={"width": FULL, "max_width": width, "min_width": MIN_WIDTH, "height": height, "flex": "1 1 auto"},
        title_style={"font-size": "13px"},
    )


class Ticks(NamedTuple):
    """An axis range from ``low`` to ``high`` (both on a tick) and the round ``ticks`` between them."""

    low: float
    high: float
    ticks: list[float]


def nice_ticks(
    values: Iterable[float], *, integer: bool = False, count: int = 5, empty: tuple[float, float] = (0.0, 1.0)
) -> Ticks:
    """``Ticks(low, high, ticks)`` covering the finite ``values`` with about ``count`` round ticks.

    Never a zero-width range: one distinct value ``v`` gets a band around it (±0.05 for a
    score, ±1 for an integer axis such as step, ±10 % for a size); no finite value gets ``empty``.
    """
    data = np.asarray(list(values), dtype=float).reshape(-1)
    data = data[np.isfinite(data)]
    if data.size == 0:
        low, high = empty
    else:
        low, high = float(data.min()), float(data.max())
    if high - low <= 1e-12 * max(1.0, abs(high)):
        half = 1.0 if integer else (0.05 if abs(low) <= 1.0 else 0.1 * abs(low))
        low, high = low - half, high + half
    step = _nice_step((high - low) / max(1, count - 1), integer)
    # a relative slack absorbs float noise (0.7 / 0.1 = 7.000000000000001) and nothing more: a fixed
    # 1e-9 of a step once cut off a value just above zero (3.6e-8 with a step of 50)
    lo, hi = low / step, high / step
    start = math.floor(lo + 1e-12 * abs(lo)) * step
    stop = math.ceil(hi - 1e-12 * abs(hi)) * step
    ticks = [round(start + i * step, 12) for i in range(int(round((stop - start) / step)) + 1)]
    return Ticks(ticks[0], ticks[-1], ticks)


def _nice_step(raw: float, integer: bool) -> float:
    exponent = math.floor(math.log10(raw))
    fraction = raw / 10**exponent
    nice = next(n for n in (1.0, 2.0, 2.5, 5.0, 10.0) if fraction <= n + 1e-9)
    step = nice * 10**exponent
    return max(1.0, round(step)) if integer else step


def tick_format(ticks: Sequence[float]) -> str:
    """A d3 format that shows ``ticks`` exactly and briefly: 0.25 → ".2f", 12000 → "~s" (12k)."""
    if not ticks:
        return ""
    step = min((abs(b - a) for a, b in zip(ticks, ticks[1:])), default=1.0) or 1.0
    if max(abs(t) for t in ticks) >= 10_000:
        return "~s"
    if step >= 1 and all(float(t).is_integer() for t in ticks):
        return "d"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if not all(abs(t * 10**decimals - round(t * 10**decimals)) < 1e-6 for t in ticks):
        decimals += 1  # a step of 0.25 needs two decimals
    return f".{decimals}f"


def fit_axis(scale: bq.Scale, axis: bq.Axis | None, values: Iterable[float], *, integer: bool = False) -> None:
    """Give ``scale`` a round range over ``values`` and ``axis`` its ticks (see module doc); the
    range reaches 4 % past the outer ticks so a dot on the edge is drawn whole, not cut in half."""
    low, high, ticks = nice_ticks(values, integer=integer)
    margin = 0.04 * (high - low)
    with scale.hold_sync():
        scale.min, scale.max = float(low - margin), float(high + margin)
    if axis is not None:
        with axis.hold_sync():
            axis.tick_values = np.asarray(ticks, dtype=float)
            axis.tick_format = tick_format(ticks)


def fit_colour(scale: bq.ColorScale, values: Iterable[float], *, symmetric: bool = False) -> None:
    """An explicit colour range over ``values`` (never zero-width); ``symmetric`` centres it on 0."""
    data = np.asarray(list(values), dtype=float).reshape(-1)
    data = data[np.isfinite(data)]
    if symmetric:
        reach = float(np.abs(data).max()) if data.size else 0.0
        reach = reach if reach > 1e-12 else 0.01
        low, high = -reach, reach
    else:
        low, high, _ = nice_ticks(data, integer=True)
    with scale.hold_sync():
        scale.min, scale.max = float(low), float(high)


def note(text: str = "") -> widgets.HTML:
    """A legend or note that wraps in a narrow column instead of being cut to "…" like a Label."""
    widget = widgets.HTML(note_html(text), layout={"width": FULL, "max_width": WIDTH})
    return widget


def note_html(text: str) -> str:
    return f"<div style='{WRAPPED}'>{html.escape(text)}</div>" if text else ""


def xy_axes(x_scale: bq.Scale, y_scale: bq.Scale, x_label: str, y_label: str) -> list[bq.Axis]:
    """An x and a y axis; the scales start at 0..1 so no view ever meets an unset, zero-width domain."""
    for scale in (x_scale, y_scale):
        if scale.min is None or scale.max is None:
            scale.min, scale.max = 0.0, 1.0
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
