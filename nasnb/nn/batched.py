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
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..spaces import EDGES, edge_nodes
from ..spaces.cell import N_NODES
from .cell import OUTPUT, Cell, CellNetwork, edge_key
from .chain import ChainNetwork
from .ops import ReLUConvBN, ResidualReduction

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
        return BatchedCell(mods, members, links, where)
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
    if kind is nn.Dropout or kind in CHANNEL_WISE:
        settings = {repr(m) for m in mods}
        if len(settings) > 1:
            raise StackError(f"{where}: the networks differ here: {sorted(settings)}")
        return _Elementwise(first, len(mods))
    raise StackError(f"{where}: no batched version of {kind.__name__}")


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


class BatchedCell(nn.Module):
    """K cells that may choose a different operation on every edge.

    For each edge the candidates are grouped by the operation they chose (dead edges count as
    ``none`` and are skipped, as in ``Cell``); each group's inputs are gathered, computed by one
    stacked module, and added into the target node of just those candidates. Nodes are summed in
    the same edge order as ``Cell.forward``, so each candidate's arithmetic is its own cell's.
    """

    def __init__(self, cells: list[Cell], members: list[int], links: list[Link], where: str) -> None:
        super().__init__()
        self.k = len(cells)
        self.ops = nn.ModuleDict()
        # plan[target] = [(source node, [(module key, whether all K candidates take part)])], one entry per edge
        self.plan: list[list[tuple[int, list[tuple[str, bool]]]]] = [[] for _ in range(N_NODES)]
        for edge in EDGES:
            src, dst = edge_nodes(edge)
            chosen: dict[str, list[int]] = {}
            for i, cell in enumerate(cells):
                op = cell.ops[edge] if edge in cell.live else "none"
                if op != "none":
                    chosen.setdefault(op, []).append(i)
            groups = []
            for op, positions in chosen.items():
                key = f"{edge_key(edge)}_{op}"
                group_members = [members[i] for i in positions]
                self.ops[key] = _stack(
                    [cells[i].edges[edge_key(edge)] for i in positions], group_members, links, f"{where}.{key}"
                )
                full = len(positions) == self.k
                if not full:  # a buffer, so .to(device) moves the gather index with the weights
                    self.register_buffer(f"index_{key}", torch.tensor(positions), persistent=False)
                groups.append((key, full))
            if groups:
                self.plan[dst].append((src, groups))

    def forward(self, x: Tensor) -> Tensor:
        b, kc, h, w = x.shape
        c = kc // self.k
        nodes: list[Tensor | None] = [x.view(b, self.k, c, h, w)]
        for target in range(1, N_NODES):
            node: Tensor | None = None
            owned = False  # whether node is a tensor of our own (in-place adds must not touch an op's output)
            for src, groups in self.plan[target]:
                inp = nodes[src]
                if inp is None:
                    continue
                indices = [None if full else getattr(self, f"index_{key}") for key, full in groups]
                partial = [i for i in indices if i is not None]
                parts = iter(_GatherGroups.apply(inp, *partial) if partial else ())
                for (key, _), index in zip(groups, indices):
                    part = inp if index is None else next(parts)
                    n = part.shape[1]
                    out = self.ops[key](part.reshape(b, n * c, h, w)).view(b, n, c, h, w)
                    if index is None:
                        node, owned = (out, False) if node is None else (node + out, True)
                    elif node is None:
                        node, owned = x.new_zeros((b, self.k, c, h, w)).index_add_(1, index, out), True
                    elif owned:
                        node.index_add_(1, index, out)
                    else:
                        node, owned = node.index_add(1, index, out), True
            nodes.append(node)
        out = nodes[OUTPUT]
        return x.new_zeros(x.shape) if out is None else out.reshape(b, kc, h, w)


class _GatherGroups(torch.autograd.Function):
    """Several ``index_select``s of one tensor along dim 1, whose backward fills one gradient.

    Separate ``index_select``s would each allocate a zero gradient of the whole input in the
    backward pass; one edge with four operation groups would pay four times for it.
    """

    @staticmethod
    def forward(ctx, x: Tensor, *indices: Tensor) -> tuple[Tensor, ...]:
        ctx.save_for_backward(*indices)
        ctx.shape = x.shape
        return tuple(x.index_select(1, index) for index in indices)

    @staticmethod
    def backward(ctx, *grads: Tensor) -> tuple[Tensor | None, ...]:
        indices = ctx.saved_tensors
        grad = grads[0].new_zeros(ctx.shape)
        for index, g in zip(indices, grads):
            if g is not None:
                grad.index_add_(1, index, g)
        return (grad, *([None] * len(indices)))
