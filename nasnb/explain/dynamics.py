"""Training dynamics: how each edge's (or layer's) weights and gradients evolve while a network learns.

The final accuracy hides how it was reached. Per-epoch curves show over- and under-fitting;
per-op weight and gradient norms show which edges actually learn (a ``conv_3x3`` whose gradient
stays tiny is being bypassed by a skip connection) and whether gradients vanish or explode in
a deep chain. ``record_dynamics`` trains one architecture with nasnb's own ``train_model`` and
records, after every epoch, the norms and histograms of every unit's parameters.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from ..spaces import Architecture

NORM_COLUMNS = ["epoch", "unit", "op", "weight_norm", "grad_norm"]
CURVE_COLUMNS = ["epoch", "train_loss", "val_loss", "val_accuracy"]


@dataclass(frozen=True)
class Histogram:
    """Histogram of one unit's weights (or last-batch gradients) after one epoch, with TensorBoard's moments."""

    epoch: int
    unit: str
    op: str
    kind: str  # "weight" or "grad"
    counts: np.ndarray
    edges: np.ndarray
    num: int
    sum: float
    sum_squares: float


@dataclass(frozen=True)
class Dynamics:
    """What ``record_dynamics`` measured.

    ``norms``: one row per (epoch, unit): the L2 norm of the unit's parameters at the end of the
    epoch (epoch 0: at initialisation) and ``grad_norm``, the root-mean-square over the epoch's
    batches of the gradient norm (NaN at epoch 0 and for parameter-free ops: skip, pooling).
    ``curves``: per-epoch losses and validation accuracy. ``histograms``: per epoch, unit, kind.
    """

    arch: str
    norms: pd.DataFrame
    curves: pd.DataFrame
    histograms: tuple[Histogram, ...]
    metrics: dict[str, Any]


def record_dynamics(
    arch: Architecture,
    dataset: Any = "digits",
    epochs: int = 5,
    *,
    bins: int = 30,
    network: dict[str, Any] | None = None,
    seed: int = 0,
    threads: int | None = 1,
    **train_options: Any,
) -> Dynamics:
    """Train ``arch`` for ``epochs`` and record per-unit weight and gradient norms and histograms.

    Units are the cell's edges (each summed over every cell) or the chain's layer blocks.
    ``network`` holds network options (``{"channels": 8}``); ``train_options`` go to
    ``train_model`` (``lr``, ``batch_size``, ``optimizer``...). Gradients are read by hooks on
    the parameters as the backward pass produces them, so the training loop is nasnb's own,
    unchanged; ``threads`` limits torch's CPU threads during the call (restored afterwards).
    """
    import torch

    from ..data import load_dataset
    from ..evaluation.trainer import train_model
    from ..nn import build_model
    from ._units import limited_threads, network_units

    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be an int >= 1, got {bins!r}")
    data = load_dataset(dataset) if isinstance(dataset, str) else dataset
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build_model(arch, data.input_shape, data.num_classes, **(network or {}))
    units = [(u, [p for m in u.modules for p in m.parameters()]) for u in network_units(model) if u.live]
    squares = {u.name: 0.0 for u, _ in units}
    batches = {u.name: 0 for u, _ in units}
    handles = []
    for unit, params in units:
        for i, param in enumerate(params):
            handles.append(param.register_hook(_grad_hook(unit.name, i == 0, squares, batches)))
    norms: list[dict[str, Any]] = []
    histograms: list[Histogram] = []
    curves: list[dict[str, Any]] = []

    def snapshot(epoch: int) -> None:
        for unit, params in units:
            weight = _norm([p.detach() for p in params])
            grad = float(np.sqrt(squares[unit.name] / batches[unit.name])) if batches[unit.name] else float("nan")
            norms.append({"epoch": epoch, "unit": unit.name, "op": unit.op, "weight_norm": weight, "grad_norm": grad})
            squares[unit.name], batches[unit.name] = 0.0, 0
            if params:
                histograms.append(_histogram(epoch, unit, "weight", [p.detach() for p in params], bins))
                grads = [p.grad for p in params if p.grad is not None]
                if grads and epoch > 0:
                    histograms.append(_histogram(epoch, unit, "grad", grads, bins))

    def on_epoch(info: dict[str, Any]) -> None:
        curves.append(
            {
                "epoch": info["epoch"],
                "train_loss": info["train_loss"],
                "val_loss": info["val_loss"],
                "val_accuracy": info["val_accuracy"],
            }
        )
        snapshot(info["epoch"])

    try:
        with limited_threads(threads):
            snapshot(0)
            metrics = train_model(model, data, epochs=epochs, seed=seed, on_epoch=on_epoch, **train_options)
    finally:
        for h in handles:
            h.remove()
    import pandas as pd

    return Dynamics(
        str(arch),
        pd.DataFrame(norms, columns=NORM_COLUMNS),
        pd.DataFrame(curves, columns=CURVE_COLUMNS),
        tuple(histograms),
        {k: v for k, v in metrics.items() if k != "curves"},
    )


def _grad_hook(name: str, counts_batch: bool, squares: dict[str, float], batches: dict[str, int]):
    """Adds the squared gradient norm of one parameter; the unit's first parameter also counts the batch."""

    def hook(grad):
        squares[name] += float(grad.detach().pow(2).sum())
        if counts_batch:
            batches[name] += 1

    return hook


def _norm(tensors: list) -> float:
    if not tensors:
        return float("nan")
    return float(np.sqrt(sum(float(t.pow(2).sum()) for t in tensors)))


def _histogram(epoch: int, unit: Any, kind: str, tensors: list, bins: int) -> Histogram:
    values = np.concatenate([t.detach().cpu().numpy().ravel() for t in tensors]).astype(float)
    counts, edges = np.histogram(values, bins=bins)
    return Histogram(
        epoch,
        unit.name,
        unit.op,
        kind,
        counts,
        edges,
        int(values.size),
        float(values.sum()),
        float((values * values).sum()),
    )


def training_curves(trials: Any) -> pd.DataFrame:
    """Per-epoch curves of every trial that recorded them (``metrics["curves"]``, as the Trainer does).

    One row per (trial, epoch): ``trial``, ``arch``, ``epoch``, ``train_loss``, ``val_loss``,
    ``val_accuracy`` (NaN where a curve was not recorded: the benchmark table keeps only accuracy).
    Trials without curves (failed, or from an evaluator that keeps none) are skipped.
    """
    import pandas as pd

    from .lineage import as_trials

    rows = []
    for trial in as_trials(trials):
        curves = trial.metrics.get("curves") if trial.ok else None
        if not isinstance(curves, dict):
            continue
        length = max((len(v) for v in curves.values() if isinstance(v, list)), default=0)
        epochs = curves.get("epoch") or list(range(1, length + 1))  # a benchmark table keeps no epoch column
        for i, epoch in enumerate(epochs):
            rows.append(
                {
                    "trial": trial.id,
                    "arch": trial.arch,
                    "epoch": epoch,
                    **{k: _at(curves.get(k), i) for k in CURVE_COLUMNS[1:]},
                }
            )
    return pd.DataFrame(rows, columns=["trial", "arch", *CURVE_COLUMNS])


def _at(values: Any, i: int) -> float:
    return float(values[i]) if isinstance(values, list) and i < len(values) and values[i] is not None else float("nan")


def plot_training_curves(
    curves: pd.DataFrame, ax: Any = None, *, column: str = "val_accuracy", highlight: Iterable[int] = ()
):
    """One line per trial of ``column`` against epoch; ``highlight`` trial ids in colour, the rest grey."""
    import matplotlib.pyplot as plt

    if column not in CURVE_COLUMNS[1:]:
        raise ValueError(f"column must be one of {CURVE_COLUMNS[1:]}, got {column!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    chosen = set(highlight)
    for trial, group in curves.groupby("trial", sort=True):
        hot = trial in chosen
        ax.plot(
            group["epoch"],
            group[column],
            color=None if hot else "#b0b0b0",
            lw=1.6 if hot else 0.7,
            label=f"trial {trial}" if hot else None,
            zorder=2 if hot else 1,
        )
    if chosen:
        ax.legend(fontsize=8)
    ax.set_xlabel("epoch")
    ax.set_ylabel(column.replace("_", " "))
    return ax


def plot_dynamics(dynamics: Dynamics, axes: Any = None):
    """Three panels: loss and accuracy curves, weight norms per unit, gradient norms per unit.

    Laid out with matplotlib's constrained layout so the accuracy axis on the right of the first
    panel keeps its own room instead of running into the next panel; one legend per panel at a
    readable size, epochs as whole numbers.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained")
        fig.get_layout_engine().set(wspace=0.12)  # room between the accuracy axis and the next panel
    else:
        fig = axes[0].figure
    curves = dynamics.curves
    lines = axes[0].plot(curves["epoch"], curves["train_loss"], label="train loss")
    lines += axes[0].plot(curves["epoch"], curves["val_loss"], label="val loss")
    axes[0].set_ylabel("loss")
    twin = axes[0].twinx()
    lines += twin.plot(curves["epoch"], curves["val_accuracy"], color="black", ls=":", label="val accuracy")
    twin.set_ylabel("val accuracy")
    axes[0].legend(lines, [line.get_label() for line in lines], fontsize=8, loc="center right")
    axes[0].set_title("loss (left) and accuracy (right)", fontsize=10)
    labels = {"weight_norm": "weight norm", "grad_norm": "gradient norm (log scale)"}
    for ax, column in zip(axes[1:], ("weight_norm", "grad_norm")):
        for (unit, op), group in dynamics.norms.groupby(["unit", "op"], sort=False):
            if group[column].notna().any():
                ax.plot(group["epoch"], group[column], marker="o", ms=3, label=f"{unit} {op}")
        ax.set_ylabel(labels[column])
        ax.set_title(column.replace("_", " ").replace("grad", "gradient") + " per unit", fontsize=10)
        ax.legend(fontsize=8)
    axes[2].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not fig.get_constrained_layout():
        fig.tight_layout()
    return fig


def plot_histograms(dynamics: Dynamics, unit: str, *, kind: str = "weight", ax: Any = None):
    """One unit's weight (or gradient) histograms, one outline per epoch from light to dark."""
    import matplotlib.pyplot as plt

    chosen = [h for h in dynamics.histograms if h.unit == unit and h.kind == kind]
    if not chosen:
        units = sorted({h.unit for h in dynamics.histograms})
        raise ValueError(f"no {kind} histograms for unit {unit!r}; units with parameters: {units}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    last = max(h.epoch for h in chosen) or 1
    for h in chosen:
        ax.stairs(h.counts, h.edges, color=plt.cm.viridis(h.epoch / last), label=f"epoch {h.epoch}")
    ax.set_title(f"{unit} ({chosen[0].op}) {kind}s", fontsize=10)
    ax.set_xlabel(f"{kind} value")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    return ax


def export_tensorboard(dynamics: Dynamics, logdir: str | os.PathLike) -> Path:
    """Write the norms, curves and histograms as TensorBoard events under ``logdir``; returns it.

    Needs the optional ``tensorboard`` package (``pip install tensorboard``); then run
    ``tensorboard --logdir <logdir>`` to browse them.
    """
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ImportError(
            "export_tensorboard needs TensorBoard, which is not installed: pip install tensorboard"
        ) from err
    path = Path(logdir)
    writer = SummaryWriter(log_dir=str(path))
    try:
        for row in dynamics.curves.itertuples(index=False):
            for name in CURVE_COLUMNS[1:]:
                writer.add_scalar(f"curves/{name}", float(getattr(row, name)), int(row.epoch))
        for row in dynamics.norms.itertuples(index=False):
            for name in ("weight_norm", "grad_norm"):
                value = float(getattr(row, name))
                if np.isfinite(value):
                    writer.add_scalar(f"{name}/{row.unit} {row.op}", value, int(row.epoch))
        for h in dynamics.histograms:
            writer.add_histogram_raw(
                f"{h.kind}/{h.unit} {h.op}",
                min=float(h.edges[0]),
                max=float(h.edges[-1]),
                num=h.num,
                sum=h.sum,
                sum_squares=h.sum_squares,
                bucket_limits=h.edges[1:].tolist(),
                bucket_counts=h.counts.tolist(),
                global_step=h.epoch,
            )
    finally:
        writer.close()
    return path


__all__ = [
    "Dynamics",
    "Histogram",
    "export_tensorboard",
    "plot_dynamics",
    "plot_histograms",
    "plot_training_curves",
    "record_dynamics",
    "training_curves",
]
