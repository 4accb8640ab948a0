"""Architectures become torch modules: the cell op library, cell and chain networks, cost counters."""

from .build import build_model, count_macs, count_params, network_settings
from .cell import Cell, CellNetwork, edge_key, edge_name, live_edges
from .chain import ChainNetwork
from .ops import ACTIVATIONS, ReLUConvBN, ResidualReduction, Zero, activation, make_op

__all__ = [
    "ACTIVATIONS",
    "Cell",
    "CellNetwork",
    "ChainNetwork",
    "ReLUConvBN",
    "ResidualReduction",
    "Zero",
    "activation",
    "build_model",
    "count_macs",
    "count_params",
    "edge_key",
    "edge_name",
    "live_edges",
    "make_op",
    "network_settings",
]
