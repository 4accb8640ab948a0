"""What can be searched: Architecture values and the chain, cell, hyperparameter and product spaces."""

from .architecture import Architecture
from .base import BaseSpace, Decision, Offspring, as_rng
from .cell import EDGES, OPS, CellSpace, EdgeNodes, edge_nodes
from .chain import ChainSpace
from .drawing import ArchitectureGraph, architecture_graph, plot_architecture
from .errors import InvalidArchitectureError
from .hyper import HyperSpace
from .product import ProductSpace, hyperparameters, network_part
from .registry import SPACES, get_space, space_from_config, space_to_config

__all__ = [
    "EDGES",
    "OPS",
    "SPACES",
    "Architecture",
    "ArchitectureGraph",
    "BaseSpace",
    "CellSpace",
    "ChainSpace",
    "Decision",
    "EdgeNodes",
    "HyperSpace",
    "InvalidArchitectureError",
    "Offspring",
    "ProductSpace",
    "architecture_graph",
    "as_rng",
    "edge_nodes",
    "get_space",
    "hyperparameters",
    "network_part",
    "plot_architecture",
    "space_from_config",
    "space_to_config",
]
