"""Strategies by name, so Python, the CLI and run.json all say ``"evolution"``."""

from __future__ import annotations

from typing import Any

from .base import BaseStrategy

STRATEGIES: dict[str, type[BaseStrategy]] = {}


def register(cls: type[BaseStrategy]) -> type[BaseStrategy]:
    """Add a strategy class to the registry under ``cls.name`` (usable as a decorator)."""
    STRATEGIES[cls.name] = cls
    return cls


def get(name: str, **params: Any) -> BaseStrategy:
    """A new strategy by name with its constructor parameters."""
    if isinstance(name, BaseStrategy):
        return name
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose from {sorted(STRATEGIES)}")
    cls = STRATEGIES[name]
    try:
        return cls(**params)
    except TypeError as err:
        raise TypeError(f"strategy {name!r}: {err}") from None
