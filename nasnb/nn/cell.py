"""A CellSpace architecture as a network: the NAS-Bench-201 cell, stacked in stages.

Each edge of a cell is its own named submodule (``cell.edges["1_3"]``, or
``cell.edge_module("1->3")``), so explainers can hook one edge, record what flows through it or
replace its output with zeros to measure what the edge is worth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple, Optional

from torch import Tensor, nn

from ..spaces import EDGES, Architecture, edge_nodes, network_part
from ..spaces.cell import N_NODES
from .ops import ResidualReduction, make_op

OUTPUT = N_NODES - 1


def edge_key(edge: str) -> str:
    """ModuleDict key of an edge: ``"0->1"`` becomes ``"0_1"`` (module names cannot hold ``->``)."""
    src, dst = edge_nodes(edge)
    return f"{src}_{dst}"


def edge_name(key: str) -> str:
    """Edge name of a ModuleDict key: ``"0_1"`` becomes ``"0->1"``."""
    src, dst = key.split("_")
    return f"{int(src)}->{int(dst)}"


def live_edges(ops: Mapping[str, str]) -> tuple[str, ...]:
    """Edges that can change the cell output.

    An edge is live when its op is not ``none``, its source receives something from the input
    (node 0) and its target passes something on to the output. Only live edges are computed and
    given parameters, so two cells that compute the same function cost the same.
    """
    fed = {0}
    for edge in EDGES:  # EDGES lists edges in topological order of their targets
        src, dst = edge_nodes(edge)
        if ops[edge] != "none" and src in fed:
            fed.add(dst)
    feeding = {OUTPUT}
    for edge in reversed(EDGES):
        src, dst = edge_nodes(edge)
        if ops[edge] != "none" and dst in feeding:
            feeding.add(src)
    return tuple(e for e in EDGES if ops[e] != "none" and edge_nodes(e)[0] in fed and edge_nodes(e)[1] in feeding)


class Cell(nn.Module):
    """One cell: node ``i`` is the sum of the operations on its incoming edges ``j->i``.

    ``arch`` is a CellSpace architecture (or a product containing one), or a plain mapping from
    edge name to op. Dead edges (see ``live_edges``) hold a parameter-free ``Zero`` module and are
    skipped in ``forward``; a cell with no path from input to output returns zeros.
    """

    # TorchScript cannot infer the type of an empty list (a cell with no live edge), so it is declared;
    # as a real type, not the string ``from __future__ import annotations`` would make of it.
    __annotations__ = {"live_keys": list[str]}

    def __init__(self, arch: Architecture | Mapping[str, str], channels: int) -> None:
        super().__init__()
        if isinstance(arch, Architecture):
            arch = network_part(arch)
        self.ops: dict[str, str] = {edge: arch[edge] for edge in EDGES}
        self.live = live_edges(self.ops)
        self.edges = nn.ModuleDict(
            {edge_key(e): make_op(self.ops[e] if e in self.live else "none", channels) for e in EDGES}
        )
        self.live_keys: list[str] = [edge_key(e) for e in self.live]
        self.n_nodes = N_NODES - 1  # nodes after the input (an attribute: TorchScript cannot read globals)

    def edge_module(self, edge: str) -> nn.Module:
        """The module on an edge, by name (``"1->3"``) or key (``"1_3"``)."""
        key = edge if edge in self.edges else None
        if key is None and "->" in edge:
            key = edge_key(edge)
        if key not in self.edges:
            raise KeyError(f"no edge {edge!r} in this cell; edges are {list(EDGES)}")
        return self.edges[key]

    def forward(self, x: Tensor) -> Tensor:
        # One pass over the edges in EDGES order (sorted by target), so every node is complete
        # before an edge reads it. Written so that torch.jit.script compiles it: a ModuleDict can
        # only be iterated (not indexed by a computed key), and None-able nodes need Optional.
        nodes: list[Optional[Tensor]] = [x]  # noqa: UP045 (TorchScript wants Optional)
        for _ in range(self.n_nodes):
            nodes.append(None)
        for key, op in self.edges.items():
            if key in self.live_keys:
                src, dst = int(key.split("_")[0]), int(key.split("_")[1])
                inp = nodes[src]
                if inp is not None:
                    out = op(inp)
                    total = nodes[dst]
                    nodes[dst] = out if total is None else total + out
        result = nodes[-1]  # the output node
        return x.new_zeros(x.shape) if result is None else result

    def extra_repr(self) -> str:
        return "live=" + ",".join(f"{e}:{self.ops[e]}" for e in self.live) if self.live else "live=none"


class CellNetwork(nn.Module):
    """NAS-Bench-201 macro skeleton: stem, stages of cells, residual reductions, classifier head.

    ``stages`` stages of ``cells_per_stage`` identical cells; each stage after the first starts
    with a stride-2 residual block that doubles the channels. The head is BN-ReLU, global average
    pooling, optional dropout and a linear layer. Works for any image shape ``(C, H, W)``: 8x8
    digits as well as 32x32 CIFAR.
    """

    def __init__(
        self,
        arch: Architecture | Mapping[str, str],
        input_shape: Sequence[int],
        num_classes: int,
        channels: int = 16,
        cells_per_stage: int = 1,
        stages: int = 2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        input_shape = _check_image_shape(input_shape)
        for name, value in (
            ("channels", channels),
            ("cells_per_stage", cells_per_stage),
            ("stages", stages),
            ("num_classes", num_classes),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"CellNetwork {name} must be an int >= 1, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"CellNetwork dropout must be in [0, 1), got {dropout!r}")
        self.stem = stem(input_shape[0], channels)
        body, width = macro_body(lambda w: Cell(arch, w), channels, stages, cells_per_stage)
        self.body = nn.Sequential(*body)
        head: list[nn.Module] = [nn.BatchNorm2d(width), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        head.append(nn.Linear(width, num_classes))
        self.head = nn.Sequential(*head)

    @property
    def cells(self) -> list[Cell]:
        """The cells in order, for explainers that inspect or hook every cell."""
        cells: list[Cell] = []
        for m in self.body:  # a loop, not a filtered comprehension: TorchScript compiles properties
            if isinstance(m, Cell):
                cells.append(m)
        return cells

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(self.stem(x)))


def stem(in_channels: int, channels: int) -> nn.Sequential:
    """The 3x3 conv + BN in front of every cell network (and the DARTS supernet)."""
    return nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))


class MacroBody(NamedTuple):
    """The stacked stages (``modules``, in order) and the channel ``width`` they end with."""

    modules: list[nn.Module]
    width: int


def macro_body(make_cell: Callable[[int], nn.Module], channels: int, stages: int, cells_per_stage: int) -> MacroBody:
    """The NAS-Bench-201 macro skeleton: stages of cells, each later stage behind a residual
    reduction that doubles the width. Shared with the supernet so a derived cell trains in the
    network it was searched in. Returns the modules and the final width."""
    body: list[nn.Module] = []
    width = channels
    for stage in range(stages):
        if stage > 0:
            body.append(ResidualReduction(width, width * 2))
            width *= 2
        body.extend(make_cell(width) for _ in range(cells_per_stage))
    return MacroBody(body, width)


def _check_image_shape(shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        hint = (
            (" Cell networks need images; for vector data such as 'moons' use a ChainSpace with layer_types=('fc',).")
            if len(shape) == 1
            else ""
        )
        raise ValueError(f"CellNetwork input_shape must be (channels, height, width), got {shape}.{hint}")
    return shape
