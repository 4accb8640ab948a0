"""The DARTS supernet of CellSpace: every edge carries every operation at once.

Instead of choosing one operation per edge, each edge computes all of them and adds them up,
weighted by ``softmax(alpha[edge])`` (the *mixed op*). The architecture weights ``alpha`` (one row
per edge, one column per operation, shared by all cells as in NAS-Bench-201's DARTS) are then
ordinary parameters that gradient descent can train. The skeleton (stem, stages, residual
reductions, head) is CellNetwork's, so a cell read off the supernet is the network the table knows.

Two switches serve architecture *selection*: ``mask`` removes single operations from a mixed op
(their weight becomes 0, the others keep theirs, as in Wang et al. 2021) and ``project`` fixes an
edge to one operation, which is how perturbation-based selection discretises edge after edge.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from ..spaces import EDGES, OPS, edge_nodes
from ..spaces.cell import N_NODES
from .cell import _check_image_shape, edge_key, macro_body, stem
from .ops import make_op

PARAMETER_FREE = ("none", "skip_connect", "avg_pool_3x3")


class MixedOp(nn.Module):
    """One edge of the supernet: ``sum_o w[o] * op_o(x)``; operations with weight exactly 0 are skipped."""

    def __init__(self, ops: Sequence[str], channels: int) -> None:
        super().__init__()
        self.names = tuple(ops)
        self.ops = nn.ModuleList(make_op(name, channels) for name in self.names)

    def forward(self, x: Tensor, weights: Tensor, active: Sequence[bool]) -> Tensor:
        total = x.new_zeros(x.shape)
        for w, op, name, on in zip(weights, self.ops, self.names, active):
            if on and name != "none":  # none adds w * 0
                total = total + w * op(x)
        return total


class SuperCell(nn.Module):
    """A cell whose six edges are mixed ops; node ``i`` sums its incoming edges."""

    def __init__(self, ops: Sequence[str], channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleDict({edge_key(e): MixedOp(ops, channels) for e in EDGES})

    def forward(self, x: Tensor, weights: Tensor, active: Sequence[Sequence[bool]]) -> Tensor:
        nodes = [x]
        for target in range(1, N_NODES):
            node = x.new_zeros(x.shape)
            for i, edge in enumerate(EDGES):
                src, dst = edge_nodes(edge)
                if dst == target:
                    node = node + self.edges[edge_key(edge)](nodes[src], weights[i], active[i])
            nodes.append(node)
        return nodes[-1]


class SuperNetwork(nn.Module):
    """CellNetwork's skeleton with SuperCells; ``alpha`` (edges x ops) holds the architecture weights.

    ``weight_parameters()`` and ``arch_parameters()`` separate what the two optimisers of DARTS
    train. ``edge_weights()`` is ``softmax(alpha)`` per edge with masked operations zeroed and
    projected edges one-hot.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        ops: Sequence[str] = OPS,
        channels: int = 16,
        cells_per_stage: int = 1,
        stages: int = 2,
    ) -> None:
        super().__init__()
        input_shape = _check_image_shape(input_shape)
        unknown = [o for o in ops if o not in OPS]
        if unknown or len(ops) < 2:
            raise ValueError(f"SuperNetwork ops must be at least two of {list(OPS)}, got {list(ops)}")
        self.ops = tuple(ops)
        self.alpha = nn.Parameter(1e-3 * torch.randn(len(EDGES), len(self.ops)))
        self.register_buffer("mask", torch.ones(len(EDGES), len(self.ops)))
        self.register_buffer("projected", torch.full((len(EDGES),), -1, dtype=torch.long))
        self.stem = stem(input_shape[0], channels)
        body, width = macro_body(lambda w: SuperCell(self.ops, w), channels, stages, cells_per_stage)
        self.body = nn.ModuleList(body)
        self.head = nn.Sequential(
            nn.BatchNorm2d(width), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes)
        )

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha]

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if name != "alpha"]

    def edge_weights(self) -> Tensor:
        """Weight of each operation on each edge, as the forward pass uses it."""
        weights = torch.softmax(self.alpha, dim=-1) * self.mask
        one_hot = nn.functional.one_hot(self.projected.clamp_min(0), len(self.ops)).to(weights.dtype)
        return torch.where((self.projected >= 0)[:, None], one_hot, weights)

    def forward(self, x: Tensor) -> Tensor:
        weights = self.edge_weights()
        active = (weights != 0).tolist()
        x = self.stem(x)
        for block in self.body:
            x = block(x, weights, active) if isinstance(block, SuperCell) else block(x)
        return self.head(x)

    @contextmanager
    def without(self, edge: str, op: str) -> Iterator[None]:
        """Temporarily remove ``op`` from the mixed op of ``edge`` (its weight becomes 0)."""
        i, j = EDGES.index(edge), self.ops.index(op)
        saved = float(self.mask[i, j])
        self.mask[i, j] = 0.0
        try:
            yield
        finally:
            self.mask[i, j] = saved

    def project(self, edge: str, op: str) -> None:
        """Fix ``edge`` to ``op`` for good: its mixed op becomes that single operation."""
        self.projected[EDGES.index(edge)] = self.ops.index(op)
