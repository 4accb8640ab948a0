"""The Architecture value: one point of a search space.

An architecture is only its choices (decision point -> option), so it can be hashed, compared,
written to JSON and sent to another process. It keeps a reference to the space that made it
because only the space knows how to print it, canonicalise it and turn it into a network.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import BaseSpace


class Architecture(Mapping[str, Any]):
    """Immutable mapping from each active decision point of ``space`` to its chosen option."""

    __slots__ = ("_choices", "_space", "_hash", "_text", "_key")

    def __init__(self, space: BaseSpace, choices: Mapping[str, Any]) -> None:
        self._space = space
        self._choices = tuple(choices.items())
        self._hash: int | None = None
        self._text: str | None = None
        self._key: str | None = None

    @property
    def space(self) -> BaseSpace:
        return self._space

    @property
    def key(self) -> str:
        """Canonical key: equal for functionally identical (e.g. isomorphic) architectures."""
        if self._key is None:
            self._key = self._space.canonical_key(self)
        return self._key

    def __getitem__(self, name: str) -> Any:
        for k, v in self._choices:
            if k == name:
                return v
        raise KeyError(
            f"{name!r} is not a decision of this architecture; its decisions are {[k for k, _ in self._choices]}"
        )

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._choices)

    def __len__(self) -> int:
        return len(self._choices)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self._space.name, frozenset(self._choices)))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Architecture):
            return NotImplemented
        return self._space.name == other._space.name and dict(self._choices) == dict(other._choices)

    def __str__(self) -> str:
        if self._text is None:
            self._text = self._space.format(self)
        return self._text

    def __repr__(self) -> str:
        return f"Architecture({self._space.name!r}, {str(self)!r})"

    def __reduce__(self):
        return (Architecture, (self._space, dict(self._choices)))

    def replace(self, changes: Mapping[str, Any]) -> Architecture:
        """A copy with some choices changed, validated by the space."""
        return self._space.validate({**dict(self._choices), **changes})
