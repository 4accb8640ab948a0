"""The operation library: what each cell edge and chain layer turns into.

Cell operations follow NAS-Bench-201 (ReLU -> Conv -> BatchNorm for convolutions, average pooling
that ignores padding), so accuracies measured here can be compared with the published table's
ordering. Every operation keeps the shape of its input, which is what lets a cell sum any
combination of edges into a node.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..spaces import OPS

ACTIVATIONS = ("relu", "tanh", "gelu")


class ReLUConvBN(nn.Sequential):
    """ReLU, then a bias-free convolution, then BatchNorm (the bias would be cancelled by the norm).

    The ReLU is not in-place: the same node feeds several edges, and an in-place ReLU on one
    edge would change the input the others see.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    """The ``none`` operation: an edge that carries nothing.

    Cells never call it (they skip dead edges); it exists so every edge has a module to look up,
    and so a hook-based explainer that does call it gets the zeros the edge stands for.
    """

    def forward(self, x: Tensor) -> Tensor:
        return x.new_zeros(x.shape)


def make_op(name: str, channels: int) -> nn.Module:
    """The module for one cell operation at ``channels`` channels (shape-preserving)."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "conv_1x1":
        return ReLUConvBN(channels, channels, 1)
    if name == "conv_3x3":
        return ReLUConvBN(channels, channels, 3)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown cell operation {name!r}; choose from {list(OPS)}")


class ResidualReduction(nn.Module):
    """NAS-Bench-201's reduction between stages: halves the resolution and doubles the channels.

    Two ReLU-Conv-BN layers (the first with stride 2) plus a shortcut (2x2 average pooling, then a
    1x1 convolution). The pooling uses ``ceil_mode`` so that odd sizes (7x7 -> 4x4) agree with the
    strided convolution's output, and a 1x1 map stays 1x1: deep networks on 8x8 digits still build.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, stride=2, ceil_mode=True),
            nn.Conv2d(c_in, c_out, 1, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


def activation(name: str) -> nn.Module:
    """A fresh activation module by its chain-space name."""
    if name == "relu":
        return nn.ReLU()
    if name == "tanh":
        return nn.Tanh()
    if name == "gelu":
        return nn.GELU()
    raise ValueError(f"unknown activation {name!r}; choose from {list(ACTIVATIONS)}")
