"""The decision path of a trained model for one input: which edges carried the answer, and where it looked.

For a single image this module asks four questions and returns plain arrays and frames:

* how much each edge's output pushed the predicted class up or down (captum's gradient ×
  activation on every edge module, for this input alone);
* which route from the cell's input to its output carried the most: every path through the
  4-node DAG (``0->3``, ``0->1->3``, ``0->2->3``, ``0->1->2->3``) scored by its edges' attributions;
* which pixels mattered (integrated gradients from a blank input);
* what chosen layers "see" (their feature maps, tiled into one image per layer with torchvision's
  ``make_grid``).

Everything is measured in eval mode on a copy of the input, so the model is left as it was.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from torch import Tensor, nn

#: every input -> output route through a NAS-Bench-201 cell, as edge lists
CELL_PATHS = (("0->3",), ("0->1", "1->3"), ("0->2", "2->3"), ("0->1", "1->2", "2->3"))
COMBINE = ("product", "sum")


@dataclass(frozen=True)
class InputExplanation:
    """Everything ``explain_input`` found for one input.

    ``edges``: cell, unit, op, live, attribution (signed contribution to the target logit),
    magnitude (its absolute value over the largest in that cell). ``paths``: cell, path,
    strength, rank (1 = strongest). ``saliency``: same shape as the input. ``feature_maps``:
    layer name → 2-D grid image.
    """

    input: np.ndarray
    target: int
    prediction: int
    probabilities: np.ndarray
    label: int | None
    edges: pd.DataFrame
    paths: pd.DataFrame
    saliency: np.ndarray
    feature_maps: dict[str, np.ndarray]


def explain_input(
    model: nn.Module,
    x: Any,
    *,
    target: int | None = None,
    label: int | None = None,
    layers: list[str] | None = None,
    combine: str = "product",
    n_steps: int = 32,
    threads: int | None = 1,
) -> InputExplanation:
    """Explain the model's answer for one input ``x`` (shape ``(C, H, W)``, ``(F,)`` or with a batch of 1).

    ``target`` is the class to explain (default: the predicted one); ``label`` is only carried
    along for titles. ``layers`` names modules for feature maps (default: ``default_layers``);
    ``threads`` limits torch's CPU threads during the call, as the Trainer does.
    """
    import torch

    from ._units import eval_mode, limited_threads, model_device

    batch = _batch(x)
    with limited_threads(threads):
        with eval_mode(model), torch.no_grad():
            probabilities = torch.softmax(model(batch.to(model_device(model))), dim=1)[0].cpu().numpy()
        prediction = int(probabilities.argmax())
        target = prediction if target is None else int(target)
        edges = edge_attributions(model, batch, target=target)
        return InputExplanation(
            input=batch[0].cpu().numpy(),
            target=target,
            prediction=prediction,
            probabilities=probabilities,
            label=label,
            edges=edges,
            paths=strongest_paths(edges, combine=combine),
            saliency=saliency_map(model, batch, target=target, n_steps=n_steps),
            feature_maps=feature_maps(model, batch, layers=layers),
        )


def edge_attributions(model: nn.Module, x: Any, *, target: int | None = None) -> pd.DataFrame:
    """Signed gradient × activation of every edge (per cell) or layer block for one input."""
    import pandas as pd
    import torch

    from ._units import eval_mode, model_device, network_units
    from .in_model import module_attributions

    batch = _batch(x)
    if target is None:
        with eval_mode(model), torch.no_grad():
            target = int(model(batch.to(model_device(model))).argmax(1)[0])
    units = network_units(model)
    live = [m for u in units if u.live for m in u.modules]
    values = module_attributions(model, live, batch, torch.tensor([int(target)])) if live else {}
    rows = []
    for unit in units:
        for position, module in enumerate(unit.modules):
            cell = unit.cells[position] if unit.cells else 0
            value = float(values[id(module)][0]) if unit.live else 0.0
            rows.append({"cell": cell, "unit": unit.name, "op": unit.op, "live": unit.live, "attribution": value})
    frame = pd.DataFrame(rows, columns=["cell", "unit", "op", "live", "attribution"])
    frame = frame.sort_values("cell", kind="stable").reset_index(drop=True)
    largest = frame.assign(size=frame["attribution"].abs()).groupby("cell")["size"].transform("max")
    frame["magnitude"] = np.where(largest > 0, frame["attribution"].abs() / largest.where(largest > 0, 1.0), 0.0)
    return frame


def strongest_paths(edges: pd.DataFrame, *, combine: str = "product") -> pd.DataFrame:
    """Every input → output path of each cell, scored from its edges' magnitudes, strongest first.

    ``combine="product"``: a path is as strong as the product of its edges' magnitudes (each in
    [0, 1], the cell's strongest edge being 1), so one weak edge breaks a path and a long path
    must be strong all along. ``"sum"`` adds them, favouring long paths. Paths through an edge
    that carries nothing are left out. For a chain network the single path is all its layers.
    """
    import pandas as pd

    if combine not in COMBINE:
        raise ValueError(f"combine must be one of {list(COMBINE)}, got {combine!r}")
    rows = []
    for cell, group in edges.groupby("cell", sort=True):
        magnitude = dict(zip(group["unit"], group["magnitude"]))
        live = dict(zip(group["unit"], group["live"]))
        if "0->3" in magnitude:
            routes = [p for p in CELL_PATHS if all(live.get(e, False) for e in p)]
        else:
            routes = [tuple(group["unit"])]
        scored = []
        for route in routes:
            values = [float(magnitude[e]) for e in route]
            strength = math.prod(values) if combine == "product" else sum(values)
            scored.append((strength, route))
        scored.sort(key=lambda pair: -pair[0])
        for rank, (strength, route) in enumerate(scored, start=1):
            rows.append(
                {
                    "cell": cell,
                    "path": " > ".join(route) if "->" not in route[0] else _route_text(route),
                    "edges": route,
                    "strength": strength,
                    "rank": rank,
                }
            )
    return pd.DataFrame(rows, columns=["cell", "path", "edges", "strength", "rank"])


def _route_text(route: tuple[str, ...]) -> str:
    """``("0->1", "1->3")`` as ``0->1->3``."""
    return "->".join([route[0].split("->")[0]] + [edge.split("->")[1] for edge in route])


def saliency_map(model: nn.Module, x: Any, *, target: int | None = None, n_steps: int = 32) -> np.ndarray:
    """Integrated gradients of the target logit with respect to the input, from an all-zero baseline.

    The data are normalised, so zero is the average input: the map says which pixels made this
    input's answer differ from the average one's (positive: pushed towards the target class).
    """
    import torch
    from captum.attr import IntegratedGradients

    from ._units import eval_mode, model_device

    batch = _batch(x).to(model_device(model))
    with eval_mode(model):
        if target is None:
            with torch.no_grad():
                target = int(model(batch).argmax(1)[0])
        attribution = IntegratedGradients(model).attribute(batch, target=int(target), n_steps=n_steps)
    return attribution[0].detach().cpu().numpy()


def default_layers(model: nn.Module) -> list[str]:
    """Layers worth showing as feature maps: the stem and each cell, or each spatial chain block."""
    from torch import nn as torch_nn

    from ..nn import Cell, CellNetwork, ChainNetwork

    if isinstance(model, CellNetwork):
        return ["stem"] + [f"body.{i}" for i, m in enumerate(model.body) if isinstance(m, Cell)]
    if isinstance(model, ChainNetwork):
        return [
            f"layers.{name}"
            for name, block in model.layers.named_children()
            if any(isinstance(m, torch_nn.Conv2d) for m in block.modules())
        ]
    return []


def feature_maps(model: nn.Module, x: Any, *, layers: list[str] | None = None) -> dict[str, np.ndarray]:
    """Each chosen layer's output for one input, channels tiled into one 2-D image.

    Channels are scaled one by one to [0, 1] (``make_grid(scale_each=True)``), so a channel with
    small values is still visible; compare patterns, not brightness, across channels. The gaps
    between tiles are NaN, which matplotlib leaves blank.
    """
    import torch
    from torchvision.utils import make_grid

    from ._units import eval_mode, model_device

    names = default_layers(model) if layers is None else list(layers)
    captured: dict[str, Tensor] = {}
    handles = []
    for name in names:
        try:
            module = model.get_submodule(name)
        except AttributeError as err:
            raise ValueError(
                f"layers: {name!r} is not a module of this model; e.g. {[n for n, _ in model.named_children()]}"
            ) from err
        handles.append(
            module.register_forward_hook(lambda mod, args, out, name=name: captured.__setitem__(name, out.detach()))
        )
    try:
        with eval_mode(model), torch.no_grad():
            model(_batch(x).to(model_device(model)))
    finally:
        for h in handles:
            h.remove()
    grids = {}
    for name in names:
        act = captured[name][0].cpu()
        tiles = act[:, None] if act.dim() == 3 else act.reshape(1, 1, 1, -1)
        grid = make_grid(
            tiles,
            nrow=max(1, math.ceil(math.sqrt(len(tiles)))),
            normalize=True,
            scale_each=True,
            padding=1,
            pad_value=float("nan"),
        )
        grids[name] = grid[0].numpy()
    return grids


def _batch(x: Any) -> Tensor:
    import torch

    tensor = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float32)
    if tensor.dim() in (1, 3):
        tensor = tensor[None]
    if tensor.dim() not in (2, 4) or tensor.shape[0] != 1:
        raise ValueError(
            f"x must be one input of shape (C, H, W) or (features,), optionally with a batch of 1; "
            f"got shape {tuple(tensor.shape)}"
        )
    return tensor


def plot_cell_paths(explanation: InputExplanation, cell: int = 0, ax: Any = None):
    """The cell DAG with each edge drawn as thick as its attribution; the strongest path in red."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    from ..spaces import architecture_graph, edge_nodes
    from ..spaces.drawing import OP_COLOURS

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 2.6))
    edges = explanation.edges[explanation.edges["cell"] == cell]
    paths = explanation.paths[(explanation.paths["cell"] == cell) & (explanation.paths["rank"] == 1)]
    best = set(paths["edges"].iloc[0]) if len(paths) else set()
    if "0->3" not in set(edges["unit"]):
        ax.barh(range(len(edges))[::-1], edges["attribution"], color="tab:purple")
        ax.set_yticks(range(len(edges))[::-1], [f"{u} {o}" for u, o in zip(edges["unit"], edges["op"])])
        ax.set_xlabel("attribution to the target logit")
        return ax
    graph = architecture_graph(_cell_arch(edges), show_none=False)
    bends = {e["decision"]: e["bend"] for e in graph.edges}
    straight = 0
    for record in edges.itertuples(index=False):
        if not record.live:
            continue
        src, dst = edge_nodes(record.unit)
        hot = record.unit in best
        ax.add_patch(
            FancyArrowPatch(
                (src, 0),
                (dst, 0),
                connectionstyle=f"arc3,rad={bends.get(record.unit, 0)}",
                arrowstyle="-|>",
                mutation_scale=12,
                shrinkA=12,
                shrinkB=12,
                lw=0.8 + 6 * record.magnitude,
                color="tab:red" if hot else OP_COLOURS.get(record.op, "#555555"),
                alpha=0.9 if hot else 0.6,
            )
        )
        bend = bends.get(record.unit, 0)
        mx, my = (src + dst) / 2, -bend * (dst - src) / 2  # the middle of the drawn arc
        if bend == 0:
            # straight edges sit end to end: alternate their labels above and below the line,
            # clear of the arrow however thick its attribution makes it
            straight += 1
            y, va = (0.13, "bottom") if straight % 2 else (-0.13, "top")
        else:
            y, va = (my + 0.05, "bottom") if my > 0 else (my - 0.05, "top")
        ax.text(
            mx,
            y,
            f"{record.op} {record.attribution:+.2f}",
            ha="center",
            va=va,
            fontsize=8,
            color="tab:red" if hot else "#333333",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
            zorder=5,
        )
    for i, label in enumerate(["in", "1", "2", "out"]):
        ax.text(
            i,
            0,
            label,
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": "white", "ec": "#555555"},
        )
    ax.set_xlim(-0.5, 3.5)
    ax.set_ylim(-1.0, 1.1)
    ax.set_axis_off()
    route = paths["path"].iloc[0] if len(paths) else "none"
    ax.set_title(f"cell {cell}: strongest path {route} (red); edge width = |attribution|", fontsize=10)
    return ax


def _cell_arch(edges: pd.DataFrame):
    from ..spaces import CellSpace

    return CellSpace().validate(dict(zip(edges["unit"], edges["op"])))


def plot_input_explanation(explanation: InputExplanation, *, cell: int = 0):
    """One figure: the input, its saliency map, and the cell's edges with the strongest path."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, 3, figsize=(12, 3.4), gridspec_kw={"width_ratios": [1, 1.25, 2.4]}, layout="constrained"
    )
    image, saliency = explanation.input, explanation.saliency
    if image.ndim == 3:
        axes[0].imshow(image.mean(axis=0), cmap="gray_r")
        summed = saliency.sum(axis=0)
        limit = float(np.abs(summed).max()) or 1.0
        shown = axes[1].imshow(summed, cmap="RdBu_r", vmin=-limit, vmax=limit)
        bar = fig.colorbar(shown, ax=axes[1], shrink=0.9)
        bar.set_label("toward (red) / against (blue) the class", fontsize=8)
    else:
        axes[0].bar(range(len(image)), image)
        axes[1].bar(range(len(saliency)), saliency, color="tab:red")
    truth = f", label {explanation.label}" if explanation.label is not None else ""
    axes[0].set_title(f"input (predicted {explanation.prediction}{truth})", fontsize=10)
    axes[1].set_title(f"integrated gradients for class {explanation.target}", fontsize=10)
    for ax in axes[:2]:
        ax.set_xticks([])
        ax.set_yticks([])
    plot_cell_paths(explanation, cell=cell, ax=axes[2])
    return fig


def layer_title(name: str) -> str:
    """A reader's name for a module path from ``default_layers``: ``body.0`` -> ``cell 1``,
    ``layers.2`` -> ``layer 3``, ``stem`` -> ``stem (first convolution)``; others unchanged."""
    match = re.fullmatch(r"(body|layers)\.(\d+)", name)
    if match:
        return f"{'cell' if match.group(1) == 'body' else 'layer'} {int(match.group(2)) + 1}"
    return "stem (first convolution)" if name == "stem" else name


def plot_feature_maps(maps: dict[str, np.ndarray], *, ncols: int = 3):
    """The feature-map grids side by side, one panel per layer, titled for a reader (``cell 1``,
    not the module path ``body.0``) and sharing one colour bar: every channel is scaled to
    [0, 1] on its own (see ``feature_maps``), so the bar reads "low" to "high" for that channel."""
    import matplotlib.pyplot as plt

    n = max(len(maps), 1)
    cols = min(ncols, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols + 1.0, 3.3 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.set_axis_off()
    image = None
    for ax, (name, grid) in zip(axes.flat, maps.items()):
        image = ax.imshow(grid, cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_title(layer_title(name), fontsize=10)
    if image is not None:
        bar = fig.colorbar(image, ax=axes, shrink=0.85, ticks=[0, 0.5, 1])
        bar.ax.set_yticklabels(["0 low", "0.5", "1 high"])
        bar.set_label("activation, scaled per channel", fontsize=9)
    fig.suptitle("what each layer saw: one tile per channel", fontsize=10)
    return fig


__all__ = [
    "CELL_PATHS",
    "InputExplanation",
    "default_layers",
    "layer_title",
    "edge_attributions",
    "explain_input",
    "feature_maps",
    "plot_cell_paths",
    "plot_feature_maps",
    "plot_input_explanation",
    "saliency_map",
    "strongest_paths",
]
