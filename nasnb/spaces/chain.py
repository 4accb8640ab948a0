"""ChainSpace: a plain sequence of layers, the space of the seed papers (MetaQNN, early NAS).

Each layer is a convolution, a pooling or a fully-connected layer with its own kernel size,
width, activation, batch-norm and dropout choices. The walk forbids the one invalid ordering
(a convolution or pooling after a fully-connected layer has flattened the features), so every
sampled, mutated or crossed chain builds into a working network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .architecture import Architecture
from .base import BaseSpace, Decision, check_options, is_int, is_number
from .errors import InvalidArchitectureError

LAYER_TYPES = ("conv", "pool", "fc")
ACTIVATIONS = ("relu", "tanh", "gelu")  # what nasnb.nn builds
MAX_LAYERS = 32
SPATIAL = ("conv", "pool")
_CONV = re.compile(r"^conv(\d+)x(\d+)$")
_FC = re.compile(r"^fc(\d+)$")
_DROP = re.compile(r"^drop(\d*\.?\d+)$")


class ChainSpace(BaseSpace):
    """Chains of 1..``max_layers`` layers.

    Decision points: ``depth``, then per layer ``L{i}.type`` and the options of that type
    (``L{i}.kernel``, ``L{i}.width``, ``L{i}.act``, ``L{i}.bn``, ``L{i}.dropout`` or
    ``L{i}.pool``). Text form: ``conv3x3-32-relu-bn > maxpool > fc64-relu-drop0.3``.
    """

    name = "chain"

    def __init__(
        self,
        *,
        max_layers: int = 4,
        layer_types: tuple[str, ...] = LAYER_TYPES,
        kernels: tuple[int, ...] = (1, 3, 5),
        widths: tuple[int, ...] = (8, 16, 32, 64),
        activations: tuple[str, ...] = ("relu", "tanh", "gelu"),
        batchnorm: tuple[bool, ...] = (False, True),
        dropouts: tuple[float, ...] = (0.0, 0.1, 0.3),
        pools: tuple[str, ...] = ("max", "avg"),
    ) -> None:
        self.max_layers = max_layers
        self.layer_types = layer_types
        self.kernels = kernels
        self.widths = widths
        self.activations = activations
        self.batchnorm = batchnorm
        self.dropouts = dropouts
        self.pools = pools

    def get_config(self) -> dict[str, Any]:
        return {
            "max_layers": self.max_layers,
            "layer_types": list(self.layer_types),
            "kernels": list(self.kernels),
            "widths": list(self.widths),
            "activations": list(self.activations),
            "batchnorm": list(self.batchnorm),
            "dropouts": list(self.dropouts),
            "pools": list(self.pools),
        }

    def _check(self) -> None:
        if not is_int(1, MAX_LAYERS)(self.max_layers):
            raise ValueError(f"ChainSpace max_layers must be an int in [1, {MAX_LAYERS}], got {self.max_layers!r}")
        check_options("ChainSpace", "layer_types", self.layer_types, LAYER_TYPES.__contains__, f"one of {LAYER_TYPES}")
        check_options("ChainSpace", "kernels", self.kernels, is_int(1, 15), "an int kernel size in [1, 15]")
        check_options("ChainSpace", "widths", self.widths, is_int(1, 4096), "an int width in [1, 4096]")
        check_options("ChainSpace", "activations", self.activations, ACTIVATIONS.__contains__, f"one of {ACTIVATIONS}")
        check_options("ChainSpace", "batchnorm", self.batchnorm, lambda v: isinstance(v, bool), "True or False")
        check_options(
            "ChainSpace", "dropouts", self.dropouts, is_number(0, 1, open_high=True), "a dropout rate in [0, 1)"
        )
        check_options("ChainSpace", "pools", self.pools, ("max", "avg").__contains__, "'max' or 'avg'")

    def _fields(self, layer_type: str) -> list[tuple[str, tuple[Any, ...]]]:
        common = [
            ("width", tuple(self.widths)),
            ("act", tuple(self.activations)),
            ("bn", tuple(self.batchnorm)),
            ("dropout", tuple(self.dropouts)),
        ]
        if layer_type == "conv":
            return [("kernel", tuple(self.kernels))] + common
        if layer_type == "pool":
            return [("pool", tuple(self.pools))]
        return common

    def _define_choices(self) -> dict[str, tuple[Any, ...]]:
        self._check()
        out: dict[str, tuple[Any, ...]] = {"depth": tuple(range(1, self.max_layers + 1))}
        for i in range(1, self.max_layers + 1):
            out[f"L{i}.type"] = tuple(self.layer_types)
            seen: dict[str, tuple[Any, ...]] = {}
            for t in self.layer_types:
                for field, options in self._fields(t):
                    seen.setdefault(field, options)
            for field, options in seen.items():
                out[f"L{i}.{field}"] = options
        return out

    def next_decision(self, partial: Mapping[str, Any]) -> Decision | None:
        self.choices  # noqa: B018 - validates the configuration once
        if "depth" not in partial:
            return Decision("depth", tuple(range(1, self.max_layers + 1)))
        flattened = False
        for i in range(1, int(partial["depth"]) + 1):
            key = f"L{i}.type"
            if key not in partial:
                allowed = tuple(t for t in self.layer_types if not (flattened and t in SPATIAL))
                if not allowed:
                    raise InvalidArchitectureError(
                        f"layer {i} must follow a fully-connected layer, but this ChainSpace has no "
                        f"'fc' layer type; add 'fc' to layer_types or lower the depth"
                    )
                return Decision(key, allowed)
            layer_type = partial[key]
            for field, options in self._fields(layer_type):
                if f"L{i}.{field}" not in partial:
                    return Decision(f"L{i}.{field}", options)
            flattened = flattened or layer_type == "fc"
        return None

    def __len__(self) -> int:
        self.choices  # noqa: B018 - validates the configuration once
        n_spatial = sum(_product(o for _, o in self._fields(t)) for t in self.layer_types if t in SPATIAL)
        n_fc = _product(o for _, o in self._fields("fc")) if "fc" in self.layer_types else 0
        total = 0
        for depth in range(1, self.max_layers + 1):
            # m spatial layers first, then depth - m fully-connected ones
            total += sum(n_spatial**m * n_fc ** (depth - m) for m in range(depth + 1))
        return total

    def layers(self, arch: Architecture) -> list[dict[str, Any]]:
        """The layers as dicts (``{"type": "conv", "kernel": 3, ...}``), in order."""
        return [
            {"type": arch[f"L{i}.type"]}
            | {field: arch[f"L{i}.{field}"] for field, _ in self._fields(arch[f"L{i}.type"])}
            for i in range(1, arch["depth"] + 1)
        ]

    def format(self, arch: Architecture) -> str:
        parts = []
        for layer in self.layers(arch):
            if layer["type"] == "pool":
                parts.append(f"{layer['pool']}pool")
                continue
            if layer["type"] == "conv":
                tokens = [f"conv{layer['kernel']}x{layer['kernel']}", str(layer["width"]), layer["act"]]
            else:
                tokens = [f"fc{layer['width']}", layer["act"]]
            if layer["bn"]:
                tokens.append("bn")
            if layer["dropout"]:
                tokens.append(f"drop{layer['dropout']}")
            parts.append("-".join(tokens))
        return " > ".join(parts)

    def parse(self, text: str) -> Architecture:
        if not isinstance(text, str) or not text.strip():
            raise InvalidArchitectureError(
                f"expected a chain string such as 'conv3x3-16-relu > maxpool > fc32-relu', got {text!r}"
            )
        layers = [p.strip() for p in text.split(">")]
        choices: dict[str, Any] = {"depth": len(layers)}
        for i, layer in enumerate(layers, start=1):
            choices.update(self._parse_layer(i, layer))
        return self.validate(choices)

    def _parse_layer(self, i: int, text: str) -> dict[str, Any]:
        where = f"layer {i} {text!r}"
        if text.endswith("pool"):
            return {f"L{i}.type": "pool", f"L{i}.pool": text[: -len("pool")]}
        tokens = text.split("-")
        head = tokens[0]
        out: dict[str, Any] = {}
        if m := _CONV.match(head):
            if m.group(1) != m.group(2):
                raise InvalidArchitectureError(f"{where}: only square kernels, got {head!r}")
            out = {f"L{i}.type": "conv", f"L{i}.kernel": int(m.group(1))}
            rest = tokens[1:]
            if not rest or not rest[0].isdigit():
                raise InvalidArchitectureError(
                    f"{where}: a conv layer needs a width after the kernel, e.g. 'conv3x3-16-relu'"
                )
            out[f"L{i}.width"] = int(rest[0])
            rest = rest[1:]
        elif m := _FC.match(head):
            out = {f"L{i}.type": "fc", f"L{i}.width": int(m.group(1))}
            rest = tokens[1:]
        else:
            raise InvalidArchitectureError(
                f"{where}: a layer starts with 'convKxK', 'fcN' or is 'maxpool'/'avgpool', got {head!r}"
            )
        if not rest:
            raise InvalidArchitectureError(f"{where}: missing activation, one of {list(self.activations)}")
        out[f"L{i}.act"] = rest[0]
        out[f"L{i}.bn"] = False
        out[f"L{i}.dropout"] = 0.0
        for token in rest[1:]:
            if token == "bn":
                out[f"L{i}.bn"] = True
            elif m := _DROP.match(token):
                out[f"L{i}.dropout"] = float(m.group(1))
            else:
                raise InvalidArchitectureError(f"{where}: unknown token {token!r}; expected 'bn' or 'dropP'")
        return out


def _product(options) -> int:
    n = 1
    for o in options:
        n *= len(o)
    return n
