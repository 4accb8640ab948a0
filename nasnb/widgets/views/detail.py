"""Detail pane: one trial up close — its drawing, metrics, learning curve, and why it was proposed.

Everything here comes from the run log (architecture text, error messages, the strategy's
decision), so it is shown as escaped text; a hostile string stays a string.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, NamedTuple

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ...spaces import BaseSpace
from ...trial import Trial
from ..frame import Frame
from ..text import escaped, number
from .architecture import ArchitectureView
from .common import figure, fit_axis, floats, xy_axes

WRAP = "white-space:pre-line;overflow-wrap:anywhere;line-height:1.4"  # prose wraps to the column it is in


class MetricRow(NamedTuple):
    """One line of the detail pane's table: a metric's ``name`` and its ``text`` as shown."""

    name: str
    text: str


def metric_rows(trial: Trial, metric: str = "accuracy") -> list[MetricRow]:
    """``MetricRow(name, text)`` rows of the trial's scalar metrics, ``metric`` first, then timing."""
    scalars = {k: v for k, v in trial.metrics.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
    order = [metric] + sorted(k for k in scalars if k != metric)
    rows = [MetricRow(name, number(scalars[name])) for name in order if name in scalars]
    rows.append(MetricRow("seconds", number(round(trial.seconds, 3))))
    if trial.fidelity:
        rows.append(MetricRow("fidelity", ", ".join(f"{k}={v}" for k, v in trial.fidelity.items())))
    return rows


class LearningCurve(NamedTuple):
    """One recorded curve: ``epochs`` 1, 2, ... and the ``values`` (NaN where one was not a number)."""

    epochs: np.ndarray
    values: np.ndarray


def learning_curve(trial: Trial, key: str = "val_accuracy") -> LearningCurve | None:
    """``LearningCurve(epochs, values)`` of ``metrics["curves"][key]`` when the evaluator recorded it, else None."""
    curves = trial.metrics.get("curves")
    values = curves.get(key) if isinstance(curves, dict) else None
    if not isinstance(values, list) or not values:
        return None
    clean = [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in values]
    return LearningCurve(np.arange(1, len(clean) + 1, dtype=float), floats(clean))


def reason_text(frame: Frame, trial: Trial) -> str:
    """Why the strategy proposed ``trial``, in plain language (from ``nasnb.explain``).

    The frame stands in for the run: its trials, metric and strategy (name and parameters,
    which the explanation quotes, e.g. the tournament size).
    """
    from ...explain import explain_trial

    source = SimpleNamespace(
        trials=list(frame.trials), metric=frame.metric, config={"strategy": frame.strategy} if frame.strategy else {}
    )
    return explain_trial(source, trial.id, metric=frame.metric)


class DetailView:
    """The selected trial: ``title``, ``arch`` text, ``architecture`` drawing, ``metrics`` table,
    learning ``curve`` (mark of ``curve_figure``) and the plain-language ``reason``."""

    def __init__(self) -> None:
        self.trial: Trial | None = None
        self._shown: tuple | None = None
        self.title = widgets.HTML("")
        self.arch = widgets.HTML("")
        self.architecture = ArchitectureView()
        self.metrics = widgets.HTML("")
        self.x_scale, self.y_scale = x_scale, y_scale = bq.LinearScale(), bq.LinearScale()
        self.curve = bq.Lines(
            x=[], y=[], scales={"x": x_scale, "y": y_scale}, colors=["#4c72b0"], marker="circle", marker_size=16
        )
        self.curve_axes = xy_axes(x_scale, y_scale, "epoch", "val accuracy")
        self.curve_figure = figure(
            "Learning curve",
            [self.curve],
            self.curve_axes,
            width="300px",
            height="220px",
        )
        self.reason = widgets.HTML("")
        # the learning curve joins only when the trial recorded one (a figure hidden with
        # display:none makes bqplot draw negative sizes and log errors)
        self.pictures = widgets.Box([self.architecture.widget], layout={"flex_flow": "row wrap"})
        self.widget = widgets.VBox(
            [
                self.title,
                self.arch,
                self.pictures,
                self.metrics,
                self.reason,
            ]
        )
        self.widget.add_class("nasnb-detail")

    def update(self, frame: Frame) -> None:
        trial = frame.focus()
        if trial is None:
            self.trial, self._shown = None, None
            self.title.value = escaped("No trial yet: press Step or Start.", tone="muted")
            self.arch.value = self.metrics.value = self.reason.value = ""
            self.architecture.show(None)
            self.curve.x, self.curve.y = np.zeros(0), np.zeros(0)
            self.pictures.children = (self.architecture.widget,)
            return
        which = "selected" if frame.selected is not None else "best so far"
        key = (trial.id, trial.arch, trial.status, which)
        if key == self._shown:
            return  # a finished trial does not change: skip the redraw and the explanation
        self._shown = key
        self.trial = trial
        score = trial.score(frame.metric)
        head = f"Trial #{trial.id} ({which}) · {trial.status}"
        head += f" · {frame.metric} {number(score)}" if score is not None else ""
        self.title.value = escaped(head, bold=True, tone=None if trial.ok else "error")
        self.arch.value = escaped(trial.arch, pre=True)
        why_not = self.architecture.show(_parse(frame.space, trial.arch))
        rows = metric_rows(trial, frame.metric) if trial.ok else [MetricRow("error", trial.error or "")]
        self.metrics.value = _table(rows) + (escaped(why_not, tone="muted") if why_not else "")
        curve = learning_curve(trial)
        epochs, values = curve if curve is not None else (np.zeros(0), np.zeros(0))
        pictures = (self.architecture.widget, self.curve_figure) if len(epochs) else (self.architecture.widget,)
        if self.pictures.children != pictures:
            self.pictures.children = pictures
        fit_axis(self.x_scale, self.curve_axes[0], epochs, integer=True)
        fit_axis(self.y_scale, self.curve_axes[1], values)
        with self.curve.hold_sync():
            self.curve.x, self.curve.y = epochs, values
        try:
            reason = reason_text(frame, trial)
        except Exception as err:  # an explanation that fails must not hide the rest of the pane
            reason = f"(no explanation: {type(err).__name__}: {err})"
        self.reason.value = f"<div style='{WRAP}'><b>Why this trial:</b> {escaped(reason)}</div>"


def _parse(space: BaseSpace, text: str) -> Any:
    try:
        return space.parse(text)
    except Exception:  # a run from an older space version: show the text, skip the drawing
        return None


def _table(rows: list[MetricRow]) -> str:
    cells = "".join(f"<tr><td>{escaped(k)}</td><td style='text-align:right'>{escaped(v)}</td></tr>" for k, v in rows)
    return f"<table style='font-size:90%'>{cells}</table>"
