"""K cells of one space that may choose a different operation on every edge, computed as one."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..spaces import EDGES, edge_nodes
from ..spaces.cell import N_NODES
from .batched_layers import Link
from .cell import OUTPUT, Cell, edge_key

#: builds one stacked module from K modules: ``(mods, members, links, where) -> module``
StackOne = Callable[[list[nn.Module], list[int], list[Link], str], nn.Module]


class BatchedCell(nn.Module):
    """K cells that may choose a different operation on every edge.

    For each edge the candidates are grouped by the operation they chose (dead edges count as
    ``none`` and are skipped, as in ``Cell``); each group's inputs are gathered, computed by one
    stacked module, and added into the target node of just those candidates. Nodes are summed in
    the same edge order as ``Cell.forward``, so each candidate's arithmetic is its own cell's.
    """

    def __init__(
        self, cells: list[Cell], members: list[int], links: list[Link], where: str, stack_one: StackOne
    ) -> None:
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
                self.ops[key] = stack_one(
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
