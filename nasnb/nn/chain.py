"""A ChainSpace architecture as a network: one block per layer, named like its decisions.

Block ``L2`` of the network is layer ``L2.*`` of the architecture, so an explainer that finds an
important decision (``L2.width``) can hook the module it built.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from ..spaces import Architecture, ChainSpace, network_part
from .ops import activation

FC_ONLY_HINT = "for vector data such as 'moons' search ChainSpace(layer_types=(\"fc\",))"


class ChainNetwork(nn.Module):
    """The layers of a chain, in order, then a linear classifier.

    * conv: ``Conv2d`` (``padding=k // 2``, so the size is kept) [+ BatchNorm] + activation
      [+ Dropout];
    * pool: 2x2 max or average pooling with ``ceil_mode`` (odd sizes round up). Once the feature
      map is 1x1 there is nothing left to pool, so the layer becomes an ``Identity``: this keeps
      deep chains valid on 8x8 digits instead of failing on an empty map;
    * fc: ``Linear`` [+ BatchNorm] + activation [+ Dropout]; the first one flattens the image.

    ``input_shape`` is ``(C, H, W)`` for images or ``(features,)`` for vectors; vectors only
    accept fully-connected layers. ``dropout`` is applied before the final linear layer (it is
    where a HyperSpace ``dropout`` goes).
    """

    def __init__(
        self,
        arch: Architecture,
        input_shape: Sequence[int],
        num_classes: int,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        net = network_part(arch)
        if not isinstance(net.space, ChainSpace):
            raise TypeError(f"ChainNetwork needs a ChainSpace architecture, got one of {net.space!r}")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"ChainNetwork num_classes must be an int >= 1, got {num_classes!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"ChainNetwork dropout must be in [0, 1), got {dropout!r}")
        shape = tuple(int(s) for s in input_shape)
        if len(shape) not in (1, 3) or min(shape) < 1:
            raise ValueError(f"ChainNetwork input_shape must be (channels, height, width) or (features,), got {shape}")
        blocks: OrderedDict[str, nn.Module] = OrderedDict()
        for i, layer in enumerate(net.space.layers(net), start=1):
            blocks[f"L{i}"], shape = _block(f"L{i}", layer, shape)
        self.layers = nn.Sequential(blocks)
        head: list[nn.Module] = [nn.Flatten()] if len(shape) == 3 else []
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        head.append(nn.Linear(math.prod(shape), num_classes))
        self.head = nn.Sequential(*head)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.layers(x))


def _block(name: str, layer: dict[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, tuple[int, ...]]:
    """The module for one layer and the shape it outputs."""
    kind = layer["type"]
    if kind in ("conv", "pool") and len(shape) != 3:
        reason = "the input is a vector" if name == "L1" else "an earlier fc layer flattened the features"
        raise ValueError(
            f"layer {name} is a {kind} layer, which needs an image (channels, height, width), but "
            f"{reason} (shape {shape}); {FC_ONLY_HINT}"
        )
    if kind == "conv":
        k, width = layer["kernel"], layer["width"]
        parts = [nn.Conv2d(shape[0], width, k, padding=k // 2, bias=not layer["bn"])]
        if layer["bn"]:
            parts.append(nn.BatchNorm2d(width))
        out = (width, shape[1] + 2 * (k // 2) - k + 1, shape[2] + 2 * (k // 2) - k + 1)
    elif kind == "pool":
        if shape[1] == 1 and shape[2] == 1:
            return nn.Identity(), shape
        pool = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}.get(layer["pool"])
        if pool is None:
            raise ValueError(f"layer {name}: unknown pooling {layer['pool']!r}; choose from ['max', 'avg']")
        return pool(2, stride=2, ceil_mode=True), (shape[0], -(-shape[1] // 2), -(-shape[2] // 2))
    elif kind == "fc":
        width = layer["width"]
        parts = [nn.Flatten()] if len(shape) == 3 else []
        parts.append(nn.Linear(math.prod(shape), width, bias=not layer["bn"]))
        if layer["bn"]:
            parts.append(nn.BatchNorm1d(width))
        out = (width,)
    else:
        raise ValueError(f"layer {name}: unknown layer type {kind!r}; choose from ['conv', 'pool', 'fc']")
    try:
        parts.append(activation(layer["act"]))
    except ValueError as err:
        raise ValueError(f"layer {name}: {err}") from None
    if layer["dropout"]:
        parts.append(nn.Dropout(layer["dropout"]))
    return nn.Sequential(*parts), out
