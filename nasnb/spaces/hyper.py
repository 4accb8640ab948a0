"""HyperSpace: training hyperparameters as decision points, so strategies search them like ops."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .architecture import Architecture
from .base import BaseSpace, Decision, check_options, is_int, is_number
from .errors import InvalidArchitectureError

DEFAULTS: dict[str, tuple[Any, ...]] = {
    "lr": (0.003, 0.01, 0.03, 0.1),
    "batch_size": (32, 64, 128),
    "weight_decay": (0.0, 1e-4, 1e-3),
    "dropout": (0.0, 0.1, 0.3),
}


class HyperSpace(BaseSpace):
    """Grid of learning rate, batch size, weight decay and dropout (each a tuple of options).

    Text form: ``lr=0.01,batch_size=64,weight_decay=0.0001,dropout=0.1``.
    """

    name = "hyper"

    def __init__(
        self,
        *,
        lr: tuple[float, ...] = DEFAULTS["lr"],
        batch_size: tuple[int, ...] = DEFAULTS["batch_size"],
        weight_decay: tuple[float, ...] = DEFAULTS["weight_decay"],
        dropout: tuple[float, ...] = DEFAULTS["dropout"],
    ) -> None:
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.dropout = dropout

    def get_config(self) -> dict[str, Any]:
        return {k: list(v) for k, v in self.choices.items()}

    def _define_choices(self) -> dict[str, tuple[Any, ...]]:
        rules = {
            "lr": (is_number(1e-12, 100.0), "a learning rate > 0 (and <= 100)"),
            "batch_size": (is_int(1, 1 << 16), "an int batch size >= 1"),
            "weight_decay": (is_number(0.0, 10.0), "a weight decay >= 0 (and <= 10)"),
            "dropout": (is_number(0, 1, open_high=True), "a dropout rate in [0, 1)"),
        }
        return {name: check_options("HyperSpace", name, getattr(self, name), *rules[name]) for name in DEFAULTS}

    def next_decision(self, partial: Mapping[str, Any]) -> Decision | None:
        for name, options in self.choices.items():
            if name not in partial:
                return Decision(name, options)
        return None

    def __len__(self) -> int:
        n = 1
        for options in self.choices.values():
            n *= len(options)
        return n

    def format(self, arch: Architecture) -> str:
        return ",".join(f"{k}={arch[k]!r}" for k in self.choices)

    def parse(self, text: str) -> Architecture:
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"expected a hyperparameter string, got {type(text).__name__}")
        values: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, raw = part.partition("=")
            name = name.strip()
            if not sep:
                raise InvalidArchitectureError(f"hyperparameter {part!r} must be 'name=value'")
            if name not in self.choices:
                raise InvalidArchitectureError(f"unknown hyperparameter {name!r}; expected {list(self.choices)}")
            values[name] = _number(name, raw.strip())
        return self.validate(values)


def _number(name: str, raw: str) -> Any:
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        raise InvalidArchitectureError(f"hyperparameter {name} must be a number, got {raw!r}") from None
