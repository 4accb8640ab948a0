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
The edges and routes are computed here; saliency and feature maps in ``input_maps``; the
matplotlib pictures in ``input_plots`` (all re-exported from this module).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .input_maps import default_layers, feature_maps, one_input, saliency_map
from .input_plots import layer_title, plot_cell_paths, plot_feature_maps, plot_input_explanation

if TYPE_CHECKING:
    import pandas as pd
    from torch import nn

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

    batch = one_input(x)
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

    batch = one_input(x)
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
