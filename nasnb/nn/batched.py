"""K networks as one module: stacked weights, one forward pass for a whole population.

Small networks spend most of a training step in per-operation overhead, so K candidates trained
as one network cost little more than one. ``stack(models)`` turns K networks of the same skeleton
into one module whose activations hold all K side by side:

* images are ``(B, K*C, H, W)``: candidate ``k`` owns channels ``k*C:(k+1)*C``, so a grouped
  convolution (``groups=K``), a BatchNorm over ``K*C`` channels, pooling and activations compute
  each candidate exactly as its own network would, and nothing mixes between candidates;
* vectors are ``(B, K, F)``: a batched matmul applies each candidate's own linear layer.

Cell networks may differ in the operation on every edge: a ``BatchedCell`` groups the candidates
by the operation they chose on each edge and computes each group once, so K cells cost at most
one grouped call per (edge, operation) instead of one call per (edge, candidate).

Every stacked tensor keeps the candidates along its first dimension (``tensor.view(n, -1)[i]`` is
the i-th candidate's tensor, flattened). ``Stacked.links`` records which candidate each row
belongs to, so trained weights can be copied back into the K ordinary networks (``export``) and
one candidate's weights can be reset without touching the others (``neutralise``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .batched_cell import BatchedCell
from .batched_layers import (
    CHANNEL_WISE,
    Link,
    StackError,
    _BatchedLinear,
    _BatchedReduction,
    _Elementwise,
    _Flatten,
    _Seq,
    _stack_conv,
    _stack_norm,
)
from .batched_pool import PoolByMatmul
from .cell import Cell, CellNetwork
from .chain import ChainNetwork
from .ops import ReLUConvBN, ResidualReduction


class Stacked(nn.Module):
    """A population of K networks as one module; ``forward`` takes ``(B, K, ...)`` inputs.

    ``forward(x)`` accepts each candidate's own batch, ``x`` of shape ``(B, K, C, H, W)`` (or
    ``(B, K, F)`` for vectors), and returns logits ``(B, K, classes)``.
    """

    def __init__(self, body: nn.Module, k: int, links: list[Link]) -> None:
        super().__init__()
        self.body = body
        self.k = k
        self.links = links

    def link(self, tensor: Tensor) -> Link:
        """How a stacked tensor's rows map to candidates and to their original tensors."""
        for link in self.links:
            if link.stacked is tensor:
                return link
        raise KeyError("not a stacked tensor of this population")

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 5:
            b, k, c, h, w = x.shape
            x = x.reshape(b, k * c, h, w)
        return self.body(x)

    @torch.no_grad()
    def export(self) -> None:
        """Copy the trained weights and BatchNorm statistics back into the K original networks."""
        for link in self.links:
            if link.shared:
                for original in link.originals:
                    original.copy_(link.stacked)
                continue
            rows = link.stacked.view(len(link.originals), -1)
            for original, row in zip(link.originals, rows):
                original.copy_(row.view_as(original))

    @torch.no_grad()
    def neutralise(self, candidate: int) -> None:
        """Set one candidate's weights to zero and its BatchNorm statistics to their start values.

        Used when that candidate diverged: a network of zeros computes zeros (never NaN), receives
        no gradient once it is left out of the loss, and so cannot disturb anything while the rest
        of the population trains on.
        """
        for link in self.links:
            if link.shared or candidate not in link.members:
                continue
            row = link.stacked.view(len(link.members), -1)[link.members.index(candidate)]
            row.fill_(link.start)


def stack(models: Sequence[nn.Module]) -> Stacked:
    """One module that trains ``models`` (K networks of one skeleton) side by side.

    Raises StackError naming the first place where the networks differ in a way stacking cannot
    serve (cell networks may differ in their edge operations; everything else must agree).
    """
    models = list(models)
    if not models:
        raise StackError("stack needs at least one network, got none")
    links: list[Link] = []
    body = _stack(models, list(range(len(models))), links, "model")
    return Stacked(body, len(models), links)


def _stack(mods: list[nn.Module], members: list[int], links: list[Link], where: str) -> nn.Module:
    first = mods[0]
    kind = type(first)
    for m in mods[1:]:
        if type(m) is not kind:
            raise StackError(f"{where}: one network has {kind.__name__}, another {type(m).__name__}")
    if kind is CellNetwork:
        return _Seq([_stack([m.stem for m in mods], members, links, f"{where}.stem"),
                     _stack([m.body for m in mods], members, links, f"{where}.body"),
                     _stack([m.head for m in mods], members, links, f"{where}.head")])  # fmt: skip
    if kind is ChainNetwork:
        return _Seq([_stack([m.layers for m in mods], members, links, f"{where}.layers"),
                     _stack([m.head for m in mods], members, links, f"{where}.head")])  # fmt: skip
    if kind is Cell:
        return BatchedCell(mods, members, links, where, _stack)
    if kind is ResidualReduction:
        return _BatchedReduction(
            _stack([m.conv_a for m in mods], members, links, f"{where}.conv_a"),
            _stack([m.conv_b for m in mods], members, links, f"{where}.conv_b"),
            _stack([m.shortcut for m in mods], members, links, f"{where}.shortcut"),
        )
    if kind in (nn.Sequential, ReLUConvBN):
        lengths = {len(m) for m in mods}
        if len(lengths) > 1:
            raise StackError(f"{where}: the networks have {sorted(lengths)} layers here")
        return _Seq([_stack([m[i] for m in mods], members, links, f"{where}[{i}]") for i in range(len(first))])
    if kind is nn.Conv2d:
        return _stack_conv(mods, members, links, where)
    if kind in (nn.BatchNorm2d, nn.BatchNorm1d):
        return _stack_norm(mods, members, links, where)
    if kind is nn.Linear:
        return _BatchedLinear(mods, members, links, where)
    if kind is nn.Flatten:
        return _Flatten(len(mods))
    if kind in (nn.AvgPool2d, nn.AdaptiveAvgPool2d):
        settings = {repr(m) for m in mods}
        if len(settings) > 1:
            raise StackError(f"{where}: the networks differ here: {sorted(settings)}")
        return PoolByMatmul(first)
    if kind is nn.Dropout or kind in CHANNEL_WISE:
        settings = {repr(m) for m in mods}
        if len(settings) > 1:
            raise StackError(f"{where}: the networks differ here: {sorted(settings)}")
        return _Elementwise(first, len(mods))
    raise StackError(f"{where}: no batched version of {kind.__name__}")


__all__ = ["BatchedCell", "Link", "StackError", "Stacked", "stack"]
