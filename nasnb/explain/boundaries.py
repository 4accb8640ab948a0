"""Decision boundaries of a population of small networks on 2-D data.

On the two moons every architecture's answer can be *seen*: colour each point of the plane by
the class the network predicts there. A width-8 tanh layer draws a gentle curve, a deep ReLU
stack a polygon, an over-regularised one a straight line. Placing a population side by side,
titled with each architecture and its accuracy, shows what the search's numbers mean.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from torch import nn

    from ..spaces import Architecture


@dataclass(frozen=True)
class DecisionBoundary:
    """One model's predictions over a grid of the plane, with the data it is judged on.

    ``xx``, ``yy``: grid coordinates (``resolution`` × ``resolution``); ``predicted``: class at
    each grid point; ``confidence``: probability of that class; ``points``/``labels``: the
    validation data (normalised coordinates, the ones the model sees).
    """

    title: str
    accuracy: float | None
    xx: np.ndarray
    yy: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    points: np.ndarray
    labels: np.ndarray
    num_classes: int


def decision_boundary(
    model: nn.Module,
    data: Any = "moons",
    *,
    resolution: int = 80,
    margin: float = 0.5,
    title: str = "",
    accuracy: float | None = None,
) -> DecisionBoundary:
    """Predict the class at every point of a grid covering the data (plus ``margin``) of a 2-D dataset.

    ``data`` is a dataset name, a Dataset (its validation split is drawn) or a Split with
    two input features.
    """
    import torch

    from ._units import as_split, eval_mode, model_device

    split = as_split(data)
    if split.x.dim() != 2 or split.x.shape[1] != 2:
        raise ValueError(
            f"decision boundaries need 2-D inputs (e.g. 'moons'), got inputs of shape {tuple(split.x.shape[1:])}"
        )
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    points = split.x.cpu().numpy()
    low, high = points.min(axis=0) - margin, points.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution))
    grid = torch.tensor(np.stack([xx.ravel(), yy.ravel()], axis=1), dtype=torch.float32)
    with eval_mode(model), torch.no_grad():
        probabilities = torch.softmax(model(grid.to(model_device(model))), dim=1).cpu().numpy()
    shape = (resolution, resolution)
    return DecisionBoundary(
        title,
        accuracy,
        xx,
        yy,
        probabilities.argmax(1).reshape(shape),
        probabilities.max(1).reshape(shape),
        points,
        split.y.cpu().numpy(),
        int(probabilities.shape[1]),
    )


def population_boundaries(
    archs: Iterable[Architecture],
    trainer: Any = None,
    *,
    resolution: int = 80,
) -> list[DecisionBoundary]:
    """Train each architecture with ``trainer`` and return its decision boundary, titled by arch and accuracy.

    ``trainer`` defaults to ``Trainer("moons", epochs=30, keep_model=True)``; any Trainer works if
    it keeps its model (``keep_model=True``) and trains on a 2-D dataset.
    """
    from ..evaluation import Trainer

    trainer = Trainer("moons", epochs=30, keep_model=True) if trainer is None else trainer
    if not getattr(trainer, "keep_model", False):
        raise ValueError("trainer must keep its trained model: pass Trainer(..., keep_model=True)")
    results = []
    for arch in archs:
        metrics = trainer(arch)
        results.append(
            decision_boundary(
                trainer.last_model_,
                trainer.dataset,
                resolution=resolution,
                title=str(arch),
                accuracy=float(metrics["accuracy"]),
            )
        )
    return results


def plot_decision_boundaries(results: list[DecisionBoundary], *, ncols: int = 3, axes: Any = None):
    """The boundaries side by side: predicted class shaded by confidence, validation points on top.

    Points are white (class 0) and black (class 1) so they stay visible on either shade.
    """
    import matplotlib.pyplot as plt

    palette = np.array(["#ffffff", "#222222", "#ffd92f", "#66c2a5", "#e78ac3", "#a6d854"])
    n = max(len(results), 1)
    if axes is None:
        cols = min(ncols, n)
        rows = math.ceil(n / cols)
        fig, grid = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.1 * rows), squeeze=False)
        axes = list(grid.flat)
    else:
        axes = list(np.ravel(axes))
        fig = axes[0].figure
    for ax in axes:
        ax.set_axis_off()
    for ax, result in zip(axes, results):
        if result.num_classes == 2:  # shade by P(class 1); the boundary is where it crosses 1/2
            shade = np.where(result.predicted == 1, result.confidence, 1.0 - result.confidence)
            ax.contourf(result.xx, result.yy, shade, levels=np.linspace(0, 1, 21), cmap="RdBu_r", alpha=0.75)
            ax.contour(result.xx, result.yy, shade, levels=[0.5], colors="black", linewidths=0.8)
        else:
            ax.contourf(
                result.xx,
                result.yy,
                result.predicted,
                levels=np.arange(result.num_classes + 1) - 0.5,
                cmap="tab10",
                alpha=0.6,
            )
        ax.scatter(
            result.points[:, 0],
            result.points[:, 1],
            c=palette[result.labels % len(palette)],
            s=8,
            edgecolors="#222222",
            linewidths=0.4,
        )
        accuracy = f"\naccuracy {result.accuracy:.3f}" if result.accuracy is not None else ""
        ax.set_title(_wrap(result.title) + accuracy, fontsize=8.5)
    fig.tight_layout()
    return fig


def _wrap(text: str, width: int = 38) -> str:
    """Break a long architecture string at its ' > ' separators so titles fit their panel."""
    lines, current = [], ""
    for part in text.split(" > "):
        candidate = f"{current} > {part}" if current else part
        if current and len(candidate) > width:
            lines.append(current)
            current = part
        else:
            current = candidate
    lines.append(current)
    return "\n".join(lines)


__all__ = ["DecisionBoundary", "decision_boundary", "plot_decision_boundaries", "population_boundaries"]
