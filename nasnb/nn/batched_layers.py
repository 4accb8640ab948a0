"""The batched layers a stacked population is built from: K convolutions, norms, linears as one.

Images are ``(B, K*C, H, W)`` (candidate ``k`` owns channels ``k*C:(k+1)*C``) and vectors
``(B, K, F)``; each builder checks that the K layers agree, copies their weights into one stacked
tensor and records a ``Link`` from its rows back to the K original tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

#: modules that act on each channel (or element) alone, so one call serves all K candidates
CHANNEL_WISE = (nn.ReLU, nn.Tanh, nn.GELU, nn.Identity, nn.AvgPool2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d)


class StackError(ValueError):
    """The networks cannot be stacked: their skeletons differ (say which, and where)."""


@dataclass
class Link:
    """One stacked tensor and the candidates (population indices) its rows belong to."""

    stacked: Tensor
    originals: list[Tensor]
    members: list[int]
    shared: bool = False  # a scalar every member shares (BatchNorm's num_batches_tracked)
    start: float = 0.0  # value a reset row gets (1 for BatchNorm's running variance)


def _link(links: list[Link], stacked: Tensor, originals: list[Tensor], members: list[int]) -> None:
    links.append(Link(stacked, originals, list(members)))


def _stack_conv(mods: list[nn.Module], members: list[int], links: list[Link], where: str) -> nn.Module:
    first: nn.Conv2d = mods[0]
    shape = (first.in_channels, first.out_channels, first.kernel_size, first.stride, first.padding, first.groups)
    for m in mods:
        if (m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.groups) != shape:
            raise StackError(f"{where}: convolutions differ ({first} vs {m})")
    k = len(mods)
    conv = nn.Conv2d(
        first.in_channels * k,
        first.out_channels * k,
        first.kernel_size,
        stride=first.stride,
        padding=first.padding,
        dilation=first.dilation,
        groups=first.groups * k,
        bias=first.bias is not None,
        device=first.weight.device,
    )
    with torch.no_grad():
        conv.weight.copy_(torch.cat([m.weight for m in mods]))
        _link(links, conv.weight, [m.weight for m in mods], members)
        if first.bias is not None:
            conv.bias.copy_(torch.cat([m.bias for m in mods]))
            _link(links, conv.bias, [m.bias for m in mods], members)
    return conv


def _stack_norm(mods: list[nn.Module], members: list[int], links: list[Link], where: str) -> nn.Module:
    first = mods[0]
    for m in mods:
        if (m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats) != (
            first.num_features,
            first.eps,
            first.momentum,
            first.affine,
            first.track_running_stats,
        ):
            raise StackError(f"{where}: BatchNorm layers differ ({first} vs {m})")
    k = len(mods)
    norm = nn.BatchNorm2d(
        first.num_features * k,
        eps=first.eps,
        momentum=first.momentum,
        affine=first.affine,
        track_running_stats=first.track_running_stats,
        device=first.weight.device if first.affine else None,
    )
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            parts = [getattr(m, name) for m in mods]
            if parts[0] is None:
                continue
            getattr(norm, name).copy_(torch.cat(parts))
            _link(links, getattr(norm, name), parts, members)
            links[-1].start = 1.0 if name == "running_var" else 0.0
        if first.track_running_stats:
            norm.num_batches_tracked.copy_(first.num_batches_tracked)
            links.append(Link(norm.num_batches_tracked, [m.num_batches_tracked for m in mods], list(members), True))
    if isinstance(first, nn.BatchNorm1d):
        return _VectorNorm(norm, k)
    return norm


class _Seq(nn.Sequential):
    """A Sequential of batched modules (its own type, so a Stacked body is recognisable)."""

    def __init__(self, modules: Sequence[nn.Module]) -> None:
        super().__init__(*modules)


class _Elementwise(nn.Module):
    """A per-channel or per-element module applied to all candidates at once.

    On vectors ``(B, K, F)`` it sees the candidates as extra rows, which is the same thing for
    activations and dropout.
    """

    def __init__(self, module: nn.Module, k: int) -> None:
        super().__init__()
        self.inner = module
        self.k = k

    def forward(self, x: Tensor) -> Tensor:
        return self.inner(x)


class _Flatten(nn.Module):
    """``(B, K*C, H, W)`` to ``(B, K, C*H*W)``: each candidate flattens its own channels."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], self.k, -1) if x.dim() == 4 else x


class _VectorNorm(nn.Module):
    """BatchNorm1d of K candidates: ``(B, K, F)`` seen as ``(B, K*F)`` features."""

    def __init__(self, norm: nn.BatchNorm2d, k: int) -> None:
        super().__init__()
        self.norm = norm
        self.k = k

    def forward(self, x: Tensor) -> Tensor:
        b = x.shape[0]
        flat = x.reshape(b, -1)
        out = F.batch_norm(
            flat,
            self.norm.running_mean,
            self.norm.running_var,
            self.norm.weight,
            self.norm.bias,
            self.training,
            self.norm.momentum,
            self.norm.eps,
        )
        if self.training:
            self.norm.num_batches_tracked.add_(1)
        return out.view(b, self.k, -1)


class _BatchedLinear(nn.Module):
    """K linear layers: ``(B, K, in)`` to ``(B, K, out)`` by one batched matmul."""

    def __init__(self, mods: list[nn.Module], members: list[int], links: list[Link], where: str) -> None:
        super().__init__()
        first: nn.Linear = mods[0]
        for m in mods:
            if (m.in_features, m.out_features, m.bias is None) != (
                first.in_features,
                first.out_features,
                first.bias is None,
            ):
                raise StackError(f"{where}: linear layers differ ({first} vs {m})")
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in mods]).clone())
        _link(links, self.weight, [m.weight for m in mods], members)
        if first.bias is not None:
            self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in mods]).clone())
            _link(links, self.bias, [m.bias for m in mods], members)
        else:
            self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        xk = x.transpose(0, 1)  # (K, B, in)
        if self.bias is None:
            out = torch.bmm(xk, self.weight.transpose(1, 2))
        else:
            out = torch.baddbmm(self.bias.unsqueeze(1), xk, self.weight.transpose(1, 2))
        return out.transpose(0, 1)


class _BatchedReduction(nn.Module):
    def __init__(self, conv_a: nn.Module, conv_b: nn.Module, shortcut: nn.Module) -> None:
        super().__init__()
        self.conv_a, self.conv_b, self.shortcut = conv_a, conv_b, shortcut

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)
