"""From any architecture to a torch module, and what the module costs.

``build_model`` is the one place that knows which network class serves which space, so evaluators,
explainers and compression code never dispatch on space types themselves.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..spaces import Architecture, CellSpace, ChainSpace, hyperparameters, network_part
from .cell import CellNetwork
from .chain import ChainNetwork

NETWORKS: dict[type, type[nn.Module]] = {CellSpace: CellNetwork, ChainSpace: ChainNetwork}


def build_model(arch: Architecture, input_shape: Sequence[int], num_classes: int, **network_options: Any) -> nn.Module:
    """The network for ``arch`` (a cell or chain, alone or in a product with hyperparameters).

    ``network_options`` go to the network class (``channels``, ``cells_per_stage``, ``stages``,
    ``dropout`` for cells; ``dropout`` for chains). A ``dropout`` chosen by the architecture's
    hyperparameters wins over the option, because it is what the search is exploring.
    """
    network = _network_class(arch)
    options = _options(arch, network_options)
    accepted = list(inspect.signature(network).parameters)[3:]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"{network.__name__} does not take network option(s) {unknown}; it takes {accepted}")
    return network(network_part(arch), tuple(input_shape), num_classes, **options)


def network_settings(arch: Architecture, **network_options: Any) -> dict[str, Any]:
    """Every option of the network ``build_model(arch, ..., **network_options)`` builds, its defaults included.

    A run made with the default network records ``network: {}``; a model card must say which network it
    is (``{"channels": 16, "cells_per_stage": 1, ...}``) to a reader who does not know nasnb's defaults.
    """
    network = _network_class(arch)
    parameters = list(inspect.signature(network).parameters.values())[3:]
    settings = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
    return {**settings, **_options(arch, network_options)}


def _options(arch: Architecture, network_options: dict[str, Any]) -> dict[str, Any]:
    """``network_options``, with a ``dropout`` chosen by the architecture's hyperparameters winning."""
    options = dict(network_options)
    chosen = hyperparameters(arch)
    if "dropout" in chosen:
        options["dropout"] = float(chosen["dropout"])
    return options


def _network_class(arch: Architecture) -> type[nn.Module]:
    """The network class serving ``arch``'s space (TypeError when there is none)."""
    if not isinstance(arch, Architecture):
        raise TypeError(
            f"build_model needs an Architecture (from space.sample or space.parse), got {type(arch).__name__}"
        )
    net = network_part(arch)
    network = next((cls for space, cls in NETWORKS.items() if isinstance(net.space, space)), None)
    if network is None:
        raise TypeError(f"no network is known for {type(net.space).__name__}; known: {[s.__name__ for s in NETWORKS]}")
    return network


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulates of one forward pass on one sample, counted in Conv2d and Linear layers.

    Measured by running the model on a zero input with forward hooks, so it counts what actually
    executes (skipped cell edges and identity pools cost nothing). BatchNorm, activations and
    pooling are left out, as in the usual FLOP tables. Training flags are restored afterwards.
    """
    total = 0

    def conv_hook(module: nn.Conv2d, inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += output[0].numel() * (module.in_channels // module.groups) * kh * kw

    def linear_hook(module: nn.Linear, inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        total += output[0].numel() * module.in_features

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    modes = {m: m.training for m in model.modules()}
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=device))
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    return int(total)
