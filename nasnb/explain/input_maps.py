"""Where a trained model looked for one input, and what its layers saw: saliency and feature maps.

Two of ``explain_input``'s four questions, answered for the input as a whole rather than per
edge: integrated gradients over the pixels (captum), and chosen layers' outputs tiled into one
image each (torchvision's ``make_grid``). Both run in eval mode and leave the model as it was.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from torch import Tensor, nn


def saliency_map(model: nn.Module, x: Any, *, target: int | None = None, n_steps: int = 32) -> np.ndarray:
    """Integrated gradients of the target logit with respect to the input, from an all-zero baseline.

    The data are normalised, so zero is the average input: the map says which pixels made this
    input's answer differ from the average one's (positive: pushed towards the target class).
    """
    import torch
    from captum.attr import IntegratedGradients

    from ._units import eval_mode, model_device

    batch = one_input(x).to(model_device(model))
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
            model(one_input(x).to(model_device(model)))
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


def one_input(x: Any) -> Tensor:
    """``x`` as a float batch of one: ``(C, H, W)`` or ``(features,)``, with or without the batch axis."""
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
