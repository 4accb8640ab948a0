"""Per-op importance inside one trained network: which edges (or layers) does it actually use?

Population importance says which choices *tend* to score well; this asks a single trained
network what each of its edges contributes, two ways that fail differently:

* **ablation** silences an edge (a forward hook replaces its output by zeros, or by its mean
  output) and measures how much validation accuracy drops. It is the causal answer, but blunt:
  a network can route around a missing edge, and in a chain every layer is a bottleneck.
* **attribution** (captum) multiplies each edge's output by the gradient of the correct class's
  logit with respect to it: a first-order estimate of the edge's contribution, from one
  backward pass, with no change to the network.

When both rank the edges alike (``agreement``), the explanation is worth believing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from torch import nn

METHODS = ("ablation", "attribution")
ABLATIONS = ("zero", "mean")
ATTRIBUTIONS = ("gradient_x_activation", "conductance")
COLUMNS = ["unit", "op", "live", "importance", "method"]


def edge_importance(
    model: nn.Module,
    data: Any,
    *,
    method: str = "ablation",
    cell: int | None = None,
    ablation: str = "zero",
    attribution: str = "gradient_x_activation",
    n_samples: int | None = 512,
    n_steps: int = 16,
    threads: int | None = 1,
) -> pd.DataFrame:
    """Importance of each edge (cell networks) or layer block (chain networks) of a trained model.

    ``data`` is a Split, a Dataset (its validation split is used) or a dataset name; at most
    ``n_samples`` of its samples are used (None: all). ``cell`` restricts a cell network to one
    cell (0-based); by default an edge means that edge in every cell.

    ``method="ablation"``: ``importance`` is the drop in accuracy when the unit's output is
    replaced by zeros (``ablation="zero"``) or by its average output (``"mean"``, gentler: only
    the input-dependent part is removed); ``loss_increase`` is reported too, since it still
    moves when accuracy does not. ``method="attribution"``: ``importance`` is the mean, over
    samples, of |sum of gradient × activation| of the correct class's logit over the unit's
    output (``"conductance"``: captum's LayerConductance with ``n_steps``, slower, integrates
    the gradient from a zero baseline), summed over cells; ``share`` is its fraction of the total.
    Edges that carry nothing (``none``, or cut off from input or output) never run: importance 0.
    ``threads`` limits torch's CPU threads during the call, as the Trainer does.
    """
    from ._units import as_split, limited_threads, network_units

    _check_choice("method", method, METHODS)
    _check_choice("ablation", ablation, ABLATIONS)
    _check_choice("attribution", attribution, ATTRIBUTIONS)
    if n_samples is not None and (isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1):
        raise ValueError(f"n_samples must be None or an int >= 1, got {n_samples!r}")
    split = as_split(data)
    x, y = split.x[:n_samples], split.y[:n_samples]
    units = network_units(model, cell)
    with limited_threads(threads):
        if method == "ablation":
            return _ablation(model, units, x, y, ablation)
        return _attribution(model, units, x, y, attribution, n_steps)


def _ablation(model: nn.Module, units: list, x, y, how: str) -> pd.DataFrame:
    import pandas as pd

    base_loss, base_acc = _score(model, x, y)
    means = _mean_outputs(model, units, x) if how == "mean" else {}
    rows = []
    for unit in units:
        loss, acc = base_loss, base_acc
        if unit.live:
            handles = [m.register_forward_hook(_replace(means.get(id(m)))) for m in unit.modules]
            try:
                loss, acc = _score(model, x, y)
            finally:
                for h in handles:
                    h.remove()
        rows.append(
            {
                "unit": unit.name,
                "op": unit.op,
                "live": unit.live,
                "importance": base_acc - acc,
                "method": f"ablation ({how})",
                "accuracy": acc,
                "baseline_accuracy": base_acc,
                "loss_increase": loss - base_loss,
            }
        )
    return pd.DataFrame(rows, columns=[*COLUMNS, "accuracy", "baseline_accuracy", "loss_increase"])


def _replace(mean):
    """A forward hook that returns zeros, or the unit's mean output, instead of what it computed."""

    def hook(module, inputs, output):
        return output.new_zeros(output.shape) if mean is None else mean.expand_as(output).clone()

    return hook


def _mean_outputs(model: nn.Module, units: list, x) -> dict[int, Any]:
    """Average output of every live module over ``x`` (one shared forward pass)."""
    import torch

    from ._units import eval_mode, model_device

    sums: dict[int, Any] = {}

    def record(module, inputs, output):
        sums[id(module)] = output.detach().mean(dim=0, keepdim=True)

    handles = [m.register_forward_hook(record) for u in units if u.live for m in u.modules]
    try:
        with eval_mode(model), torch.no_grad():
            model(x.to(model_device(model)))
    finally:
        for h in handles:
            h.remove()
    return sums


def _score(model: nn.Module, x, y) -> tuple[float, float]:
    import torch
    from torch.nn import functional

    from ._units import eval_mode, model_device

    with eval_mode(model), torch.no_grad():
        dev = model_device(model)
        out = model(x.to(dev))
        target = y.to(dev)
        return float(functional.cross_entropy(out, target)), float((out.argmax(1) == target).float().mean())


def _attribution(model: nn.Module, units: list, x, y, how: str, n_steps: int) -> pd.DataFrame:
    import pandas as pd

    live = [m for u in units if u.live for m in u.modules]
    per_module = module_attributions(model, live, x, y, how=how, n_steps=n_steps) if live else {}
    values = {u.name: float(sum(np.abs(per_module[id(m)]).mean() for m in u.modules)) if u.live else 0.0 for u in units}
    total = sum(values.values())
    rows = [
        {
            "unit": u.name,
            "op": u.op,
            "live": u.live,
            "importance": values[u.name],
            "method": f"attribution ({how})",
            "share": values[u.name] / total if total > 0 else float("nan"),
        }
        for u in units
    ]
    return pd.DataFrame(rows, columns=[*COLUMNS, "share"])


def module_attributions(
    model: nn.Module,
    modules: list,
    x,
    target,
    *,
    how: str = "gradient_x_activation",
    n_steps: int = 16,
) -> dict[int, np.ndarray]:
    """Per-sample attribution (summed over the output) of each module, keyed by ``id(module)``.

    Signed: positive means the module's output pushed the target logit up. Used both for
    population-level edge importance (averaged magnitudes) and for one input's paths.

    A ``skip_connect`` edge returns its input tensor itself, which other edges read too, so the
    gradient captum takes with respect to "its output" would be the whole node's gradient. A
    hook registered before captum's hands every module's output on as a fresh copy, so each
    edge's gradient is its own.
    """
    import torch
    from captum.attr import LayerConductance, LayerGradientXActivation

    from ._units import eval_mode, model_device

    dev = model_device(model)
    inputs, target = x.to(dev), torch.as_tensor(target).to(dev)
    out: dict[int, np.ndarray] = {}
    fresh = [m.register_forward_hook(lambda module, args, output: output.clone()) for m in modules]
    with eval_mode(model), _removing(fresh):
        if how == "gradient_x_activation":
            attributions = LayerGradientXActivation(model, list(modules)).attribute(inputs, target=target)
            for module, attr in zip(modules, attributions):
                out[id(module)] = attr.detach().flatten(1).sum(1).cpu().numpy()
        else:
            for module in modules:
                attr = LayerConductance(model, module).attribute(
                    inputs, target=target, n_steps=n_steps, internal_batch_size=len(inputs) * 4
                )
                out[id(module)] = attr.detach().flatten(1).sum(1).cpu().numpy()
    return out


@dataclass(frozen=True)
class InModelAgreement:
    """Ablation and attribution of the same model side by side, and their Spearman rank agreement.

    ``spearman`` is computed over live units only: dead edges are 0 under both methods by
    construction, and counting them would flatter the agreement.
    """

    frame: pd.DataFrame  # unit, op, live, ablation, loss_increase, attribution, share
    spearman: float
    n_live: int


def agreement(
    model: nn.Module,
    data: Any,
    *,
    cell: int | None = None,
    ablation: str = "zero",
    attribution: str = "gradient_x_activation",
    n_samples: int | None = 512,
    threads: int | None = 1,
) -> InModelAgreement:
    """Run both methods on ``model`` and report how well their rankings agree.

    Ranked by loss increase (accuracy drops tie at 0 too often on a small validation set).
    """
    from .estimator_comparison import spearman

    ab = edge_importance(
        model, data, method="ablation", cell=cell, ablation=ablation, n_samples=n_samples, threads=threads
    )
    at = edge_importance(
        model, data, method="attribution", cell=cell, attribution=attribution, n_samples=n_samples, threads=threads
    )
    frame = ab[["unit", "op", "live", "importance", "loss_increase"]].rename(columns={"importance": "ablation"})
    frame = frame.assign(attribution=at["importance"].to_numpy(), share=at["share"].to_numpy())
    live = frame[frame["live"]]
    return InModelAgreement(frame, spearman(live["loss_increase"], live["attribution"]), int(len(live)))


def plot_edge_importance(frame: pd.DataFrame, ax: Any = None, *, column: str = "importance"):
    """Bars of one importance column per unit, coloured by operation (the drawing's colours)."""
    import matplotlib.pyplot as plt

    from ..spaces.drawing import OP_COLOURS

    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.8 * len(frame) + 1), 2.8))
    colours = [OP_COLOURS.get(op, OP_COLOURS.get(str(op)[:4], "#8172b3")) for op in frame["op"]]
    ax.bar(range(len(frame)), frame[column].to_numpy(dtype=float), color=colours)
    ax.set_xticks(range(len(frame)), [f"{u}\n{op}" for u, op in zip(frame["unit"], frame["op"])], fontsize=7)
    ax.axhline(0, color="black", lw=0.6)
    method = frame["method"].iloc[0] if "method" in frame and len(frame) else column
    ax.set_ylabel(column)
    ax.set_title(str(method), fontsize=9)
    return ax


class _removing:
    """Remove hook handles when the block ends, whatever happens in it."""

    def __init__(self, handles: list) -> None:
        self.handles = handles

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        for handle in self.handles:
            handle.remove()


def _check_choice(name: str, value: Any, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")


__all__ = ["InModelAgreement", "agreement", "edge_importance", "module_attributions", "plot_edge_importance"]
