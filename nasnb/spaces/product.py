"""ProductSpace: several spaces searched jointly, e.g. a cell together with its hyperparameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .architecture import Architecture
from .base import BaseSpace, Decision
from .errors import InvalidArchitectureError

SEPARATOR = " ; "


class ProductSpace(BaseSpace):
    """The product of named component spaces; decision names must not collide.

    ``ProductSpace(arch=CellSpace(), hp=HyperSpace())``. Text form joins the components' text
    forms with ``" ; "`` in component order.
    """

    name = "product"

    def __init__(self, **components: BaseSpace) -> None:
        self.components = components

    def _check(self) -> dict[str, BaseSpace]:
        if not self.components:
            raise ValueError("ProductSpace needs at least one component space, e.g. arch=CellSpace()")
        owner: dict[str, str] = {}
        for part, space in self.components.items():
            if not isinstance(space, BaseSpace):
                raise TypeError(f"ProductSpace component {part!r} must be a space, got {type(space).__name__}")
            for decision in space.choices:
                if decision in owner:
                    raise ValueError(
                        f"decision {decision!r} appears in components {owner[decision]!r} and {part!r}; "
                        "component decision names must be distinct"
                    )
                owner[decision] = part
        return self.components

    def get_config(self) -> dict[str, Any]:
        from .registry import space_to_config

        return {part: space_to_config(space) for part, space in self._check().items()}

    def _define_choices(self) -> dict[str, tuple[Any, ...]]:
        out: dict[str, tuple[Any, ...]] = {}
        for space in self._check().values():
            out.update(space.choices)
        return out

    def next_decision(self, partial: Mapping[str, Any]) -> Decision | None:
        self.choices  # noqa: B018 - validates the components once
        for space in self.components.values():
            own = {k: v for k, v in partial.items() if k in space.choices}
            decision = space.next_decision(own)
            if decision is not None:
                return decision
        return None

    def __len__(self) -> int:
        n = 1
        for space in self._check().values():
            n *= len(space)  # type: ignore[arg-type]
        return n

    def split(self, arch: Architecture) -> dict[str, Architecture]:
        """Component architectures by part name."""
        arch = self.validate(arch)
        return {
            part: Architecture(space, {k: v for k, v in arch.items() if k in space.choices})
            for part, space in self._check().items()
        }

    def format(self, arch: Architecture) -> str:
        return SEPARATOR.join(str(a) for a in self.split(arch).values())

    def parse(self, text: str) -> Architecture:
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"expected a text architecture, got {type(text).__name__}")
        parts = text.split(SEPARATOR.strip())
        spaces = self._check()
        if len(parts) != len(spaces):
            raise InvalidArchitectureError(
                f"expected {len(spaces)} parts ({', '.join(spaces)}) separated by ';', got {len(parts)} in {text!r}"
            )
        choices: dict[str, Any] = {}
        for (part, space), piece in zip(spaces.items(), parts):
            try:
                choices.update(space.parse(piece.strip()))
            except InvalidArchitectureError as err:
                raise InvalidArchitectureError(f"in part {part!r}: {err}") from None
        return self.validate(choices)

    def canonical_key(self, arch: Architecture) -> str:
        return SEPARATOR.join(a.key for a in self.split(arch).values())


def network_part(arch: Architecture) -> Architecture:
    """The part of an architecture that describes a network (the chain or the cell)."""
    from .cell import CellSpace
    from .chain import ChainSpace

    if isinstance(arch.space, (CellSpace, ChainSpace)):
        return arch
    if isinstance(arch.space, ProductSpace):
        for sub in arch.space.split(arch).values():
            if isinstance(sub.space, (CellSpace, ChainSpace)):
                return sub
    raise InvalidArchitectureError(
        f"{arch} has no network part; use a ChainSpace or CellSpace, alone or in a ProductSpace"
    )


def hyperparameters(arch: Architecture) -> dict[str, Any]:
    """The hyperparameter choices of an architecture ({} when its space has none)."""
    from .hyper import HyperSpace

    if isinstance(arch.space, HyperSpace):
        return dict(arch)
    if isinstance(arch.space, ProductSpace):
        for sub in arch.space.split(arch).values():
            if isinstance(sub.space, HyperSpace):
                return dict(sub)
    return {}
