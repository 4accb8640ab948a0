"""CellSpace: the NAS-Bench-201 cell, a 4-node DAG with one operation on each of its 6 edges.

Node 0 is the cell input, node 3 its output; every node sums its incoming edges. Decision
points are the edges, named ``"j->i"`` (from node j to node i), so importance and strategies
talk about "edge 1->3" exactly as the drawings show it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from .architecture import Architecture
from .base import BaseSpace, Decision
from .errors import InvalidArchitectureError

OPS = ("none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3")
EDGES = ("0->1", "0->2", "1->2", "0->3", "1->3", "2->3")
N_NODES = 4

# Names used by NAS-Bench-201 and papers, accepted when parsing.
_ALIASES = {
    "nor_conv_1x1": "conv_1x1",
    "nor_conv_3x3": "conv_3x3",
    "skip": "skip_connect",
    "zero": "none",
    "avgpool3x3": "avg_pool_3x3",
    "conv1x1": "conv_1x1",
    "conv3x3": "conv_3x3",
}
_NODE = re.compile(r"^\|(.*)\|$")


class EdgeNodes(NamedTuple):
    """The two nodes an edge joins: ``edge_nodes("1->3") == EdgeNodes(source=1, target=3)``."""

    source: int
    target: int


def edge_nodes(edge: str) -> EdgeNodes:
    """(source, target) of an edge name such as ``"1->3"``."""
    src, dst = edge.split("->")
    return EdgeNodes(int(src), int(dst))


class CellSpace(BaseSpace):
    """NAS-Bench-201 style cell space (15,625 cells with the default five operations).

    Text form is NAS-Bench-201's: ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.
    """

    name = "cell"

    def __init__(self, ops: tuple[str, ...] = OPS) -> None:
        self.ops = tuple(ops)

    def get_config(self) -> dict[str, Any]:
        return {"ops": list(self.ops)}

    def _define_choices(self) -> dict[str, tuple[str, ...]]:
        ops = tuple(self.ops)
        unknown = [o for o in ops if o not in OPS]
        if unknown or not ops:
            raise ValueError(f"CellSpace ops must be a non-empty subset of {OPS}; got {list(ops)}")
        return {edge: ops for edge in EDGES}

    def _ops(self) -> tuple[str, ...]:
        return self.choices[EDGES[0]]

    def next_decision(self, partial: Mapping[str, Any]) -> Decision | None:
        for edge in EDGES:
            if edge not in partial:
                return Decision(edge, self._ops())
        return None

    def __len__(self) -> int:
        return len(self._ops()) ** len(EDGES)

    def __iter__(self):
        """Every cell, in a fixed order (the last edge varies fastest)."""
        import itertools

        for ops in itertools.product(self._ops(), repeat=len(EDGES)):
            yield Architecture(self, dict(zip(EDGES, ops)))

    def format(self, arch: Architecture) -> str:
        nodes = []
        for target in range(1, N_NODES):
            parts = [f"{arch[f'{src}->{target}']}~{src}" for src in range(target)]
            nodes.append("|" + "|".join(parts) + "|")
        return "+".join(nodes)

    def parse(self, text: str) -> Architecture:
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"expected a cell string, got {type(text).__name__}")
        nodes = text.strip().split("+")
        if len(nodes) != N_NODES - 1:
            raise InvalidArchitectureError(
                f"a cell string has {N_NODES - 1} nodes separated by '+', got {len(nodes)} in "
                f"{text!r}; example: {self.format(self.complete({}))!r}"
            )
        choices: dict[str, str] = {}
        for target, node in enumerate(nodes, start=1):
            match = _NODE.match(node.strip())
            if not match:
                raise InvalidArchitectureError(
                    f"node {target} {node!r} must look like '|op~0|op~1|' (bars around each edge)"
                )
            edges = match.group(1).split("|")
            if len(edges) != target:
                raise InvalidArchitectureError(
                    f"node {target} needs {target} incoming edge(s), got {len(edges)} in {node!r}"
                )
            for edge in edges:
                op, sep, src = edge.partition("~")
                op = _ALIASES.get(op.strip(), op.strip())
                if not sep or not src.strip().isdigit():
                    raise InvalidArchitectureError(f"edge {edge!r} must be 'op~source'")
                src_i = int(src)
                if src_i >= target:
                    raise InvalidArchitectureError(
                        f"edge {edge!r} into node {target} comes from node {src_i}; sources must be "
                        f"earlier nodes (0..{target - 1})"
                    )
                name = f"{src_i}->{target}"
                if name in choices:
                    raise InvalidArchitectureError(f"edge {name} appears twice in {node!r}")
                if op not in self._ops():
                    raise InvalidArchitectureError(
                        f"unknown operation {op!r} on edge {name}; choose from {list(self._ops())}"
                    )
                choices[name] = op
        return self.validate(choices)

    def canonical_key(self, arch: Architecture) -> str:
        """Functional form of the cell: equal for isomorphic cells, different for different networks.

        Every operation on an edge is an *instance* with its own weights. A node is the multiset
        of instances that reach it: ``none`` edges (and edges from an always-zero node) add
        nothing, ``skip_connect`` forwards the source's instances unchanged, and any other op adds
        one new instance ``op(source)``. An instance reached by two skip paths counts twice
        (``2*conv_1x1(x)``), which differs from two parallel convolutions
        (``conv_1x1(x)+conv_1x1(x)``: two sets of weights). Sorting makes edge order and node
        numbering irrelevant; only what reaches node 3 counts.
        """
        instances: dict[int, list[tuple[int, str]]] = {0: [(0, "x")]}
        next_id = 1
        for target in range(1, N_NODES):
            node: list[tuple[int, str]] = []
            for src in range(target):
                op, source = arch[f"{src}->{target}"], instances[src]
                if op == "none" or not source:
                    continue
                if op == "skip_connect":
                    node.extend(source)
                else:
                    node.append((next_id, f"{op}({_node_form(source)})"))
                    next_id += 1
            instances[target] = node
        return _node_form(instances[N_NODES - 1]) or "zero"


def _node_form(terms: list[tuple[int, str]]) -> str:
    """Sorted sum of instances, each with how many times it arrives (``2*op(...)``)."""
    counts: dict[int, int] = {}
    text: dict[int, str] = {}
    for instance, term in terms:
        counts[instance] = counts.get(instance, 0) + 1
        text[instance] = term
    return "+".join(sorted(f"{n}*{text[i]}" if n > 1 else text[i] for i, n in counts.items()))
