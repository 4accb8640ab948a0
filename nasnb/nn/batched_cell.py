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
        self._rows: dict[tuple[str, int, torch.device], Tensor] = {}  # see rows()
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

    def rows(self, name: str, b: int) -> Tensor:
        """Rows of a ``(b*K, C*H*W)`` view that buffer ``name``'s candidates own, batch-major.

        Gathering and scattering whole rows along dim 0 of a contiguous matrix is a memory copy
        per row; the same selection along dim 1 of ``(b, K, C, H, W)`` is ATen's generic indexing
        kernel, measured 10x slower.
        """
        index = getattr(self, name)
        key = (name, b, index.device)
        rows = self._rows.get(key)
        if rows is None:
            base = torch.arange(b, device=index.device).mul_(self.k).view(b, 1)
            rows = self._rows[key] = (base + index.view(1, -1)).reshape(-1)
        return rows

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        nodes: list[Tensor | None] = [x]
        for target in range(1, N_NODES):
            outs: list[Tensor] = []
            rows: list[Tensor | None] = []  # None: the output holds all K candidates
            for src, groups in self.plan[target]:
                inp = nodes[src]
                if inp is None:
                    continue
                if groups[0][1]:  # all K candidates chose one operation: no gathering
                    outs.append(self.ops[groups[0][0]](inp))
                    rows.append(None)
                    continue
                picked = [self.rows(f"index_{key}", b) for key, _ in groups]
                parts = _GatherRows.apply(inp, self.k, *picked)
                for (key, _), part, r in zip(groups, parts, picked):
                    outs.append(self.ops[key](part.view(b, -1, h, w)))
                    rows.append(r)
            if not outs:
                nodes.append(None)
            elif len(outs) == 1 and rows[0] is None:
                nodes.append(outs[0])
            else:
                nodes.append(_SumRows.apply(x.shape, self.k, rows, *outs))
        out = nodes[OUTPUT]
        return x.new_zeros(x.shape) if out is None else out


class _GatherRows(torch.autograd.Function):
    """Rows ``rows[g]`` of ``x`` seen as ``(B*K, C*H*W)``, one tensor per group; one gradient back.

    Separate ``index_select``s would each allocate a zero gradient of the whole input in the
    backward pass; here all groups add into one.
    """

    @staticmethod
    def forward(ctx, x: Tensor, k: int, *rows: Tensor) -> tuple[Tensor, ...]:
        flat = x.reshape(x.shape[0] * k, -1)
        ctx.rows, ctx.shape, ctx.flat = rows, x.shape, flat.shape
        return tuple(flat.index_select(0, r) for r in rows)

    @staticmethod
    def backward(ctx, *grads: Tensor) -> tuple[Tensor | None, ...]:
        grad = grads[0].new_zeros(ctx.flat)
        for r, g in zip(ctx.rows, grads):
            if g is not None:
                grad.index_add_(0, r, g.reshape(len(r), -1))
        return (grad.view(ctx.shape), None, *([None] * len(ctx.rows)))


class _SumRows(torch.autograd.Function):
    """A node ``(B, K*C, H, W)``: the sum of its edges' outputs in the cell's edge order.

    Each output covers all K candidates (its rows are None) or the candidates that own ``rows``
    of the node seen as ``(B*K, C*H*W)``. Adding in edge order keeps each candidate's sum the one
    its own ``Cell`` computes; candidates that no edge reaches get zeros.
    """

    @staticmethod
    def forward(ctx, shape: torch.Size, k: int, rows: list[Tensor | None], *outs: Tensor) -> Tensor:
        ctx.rows, ctx.k, ctx.shapes = rows, k, [o.shape for o in outs]
        node = outs[0].clone(memory_format=torch.contiguous_format) if rows[0] is None else outs[0].new_zeros(shape)
        flat = node.view(shape[0] * k, -1)
        for i, (out, r) in enumerate(zip(outs, rows)):
            if r is None:
                if i:
                    node.add_(out)
            else:
                flat.index_add_(0, r, out.reshape(len(r), -1))
        return node

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        flat = grad.reshape(grad.shape[0] * ctx.k, -1)
        grads = [grad if r is None else flat.index_select(0, r).view(s) for r, s in zip(ctx.rows, ctx.shapes)]
        return (None, None, None, *grads)
