"""Spaces by name, and to/from the JSON config stored in a run's ``run.json``."""

from __future__ import annotations

from typing import Any

from .base import BaseSpace
from .cell import CellSpace
from .chain import ChainSpace
from .hyper import HyperSpace
from .product import ProductSpace

SPACES: dict[str, type[BaseSpace]] = {
    "cell": CellSpace,
    "chain": ChainSpace,
    "hyper": HyperSpace,
    "product": ProductSpace,
}


def get_space(name: str, **params: Any) -> BaseSpace:
    """A space by name: ``cell``, ``chain``, ``mlp`` (fully-connected chains), ``hyper``, or joined
    with ``+`` (``cell+hyper``)."""
    if not isinstance(name, str):
        raise TypeError(f"space name must be a string, got {type(name).__name__}")
    if "+" in name:
        parts = [p.strip() for p in name.split("+")]
        labels = ["arch" if p in ("cell", "chain", "mlp") else "hp" if p == "hyper" else p for p in parts]
        return ProductSpace(**{label: get_space(p) for label, p in zip(labels, parts)})
    if name == "mlp":
        return ChainSpace(**{"layer_types": ("fc",), **params})
    if name not in SPACES or name == "product":
        raise ValueError(
            f"unknown space {name!r}; choose from {sorted(set(SPACES) - {'product'} | {'mlp'})} "
            "or join them with '+' (e.g. 'cell+hyper')"
        )
    return SPACES[name](**params)


def space_to_config(space: BaseSpace) -> dict[str, Any]:
    """``{"type": name, "params": {...}}``: enough to rebuild the space."""
    return {"type": space.name, "params": space.get_config()}


def space_from_config(config: dict[str, Any]) -> BaseSpace:
    """Rebuild a space from ``space_to_config`` output."""
    kind, params = config.get("type"), config.get("params", {})
    if kind not in SPACES:
        raise ValueError(f"run config names unknown space type {kind!r}; known: {sorted(SPACES)}")
    if kind == "product":
        return ProductSpace(**{part: space_from_config(c) for part, c in params.items()})
    return SPACES[kind](**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
