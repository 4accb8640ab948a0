"""BaseSpace: a search space as a walk through named decision points.

A space only has to say, given the choices made so far, which decision comes next and which
options are valid there (``next_decision``). Sampling, validation, mutation, crossover,
neighbours and encodings are all derived from that walk, so a new space cannot forget a
constraint in one of them, and sequential strategies (Q-learning, REINFORCE) can follow the
same walk one decision at a time.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .architecture import Architecture
from .errors import InvalidArchitectureError


class Offspring(NamedTuple):
    """What ``mutate`` and ``crossover`` return: the child and the record of how it was made.

    A named pair, so ``child, change = space.mutate(arch)`` keeps working and ``result.change``
    says what it is.
    """

    arch: Architecture
    change: dict[str, Any]


@dataclass(frozen=True)
class Decision:
    """One decision point reached by the walk: its name and the options valid here."""

    name: str
    options: tuple[Hashable, ...]


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed or a Generator; never the global RNG."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


class BaseSpace(abc.ABC):
    """A search space. Subclasses implement the walk, the text form and the config."""

    #: registry name, used in run.json and the CLI (``--space cell``)
    name: str = "base"

    # -- what a subclass provides -------------------------------------------------------------
    @property
    def choices(self) -> dict[str, tuple[Hashable, ...]]:
        """Every decision point that can occur, with every option it can take.

        Computed (and the configuration checked) once: a space is treated as immutable after
        its first use, which keeps the walk cheap for strategies that call it thousands of times.
        """
        cached = self.__dict__.get("_choices_cache")
        if cached is None:
            cached = self._define_choices()
            self.__dict__["_choices_cache"] = cached
        return cached

    @abc.abstractmethod
    def _define_choices(self) -> dict[str, tuple[Hashable, ...]]:
        """Build ``choices``, raising ValueError for a bad configuration."""

    @abc.abstractmethod
    def next_decision(self, partial: Mapping[str, Any]) -> Decision | None:
        """The next decision given the choices so far, or None when the architecture is complete."""

    @abc.abstractmethod
    def format(self, arch: Architecture) -> str:
        """Canonical text form; ``parse(format(a)) == a``."""

    @abc.abstractmethod
    def parse(self, text: str) -> Architecture:
        """Read the text form; raises InvalidArchitectureError naming the bad part."""

    @abc.abstractmethod
    def get_config(self) -> dict[str, Any]:
        """JSON-able configuration; ``space_from_config(space_to_config(space))`` rebuilds any space.

        For leaf spaces these are the constructor arguments; a ProductSpace nests its components'
        configs, which is why rebuilding goes through ``space_from_config``.
        """

    def canonical_key(self, arch: Architecture) -> str:
        """Key shared by functionally equal architectures; the text form unless overridden."""
        return self.format(arch)

    # -- derived from the walk ----------------------------------------------------------------
    def walk(self, arch: Mapping[str, Any]) -> list[Decision]:
        """The decisions an architecture passes through, in order (validating as it goes)."""
        return [d for d, _ in self._walk_checked(arch)]

    def _walk_checked(self, arch: Mapping[str, Any]) -> list[tuple[Decision, Any]]:
        partial: dict[str, Any] = {}
        steps = []
        while (decision := self.next_decision(partial)) is not None:
            if decision.name not in arch:
                raise InvalidArchitectureError(
                    f"missing decision {decision.name!r}; expected one of {list(decision.options)}"
                )
            value = arch[decision.name]
            if value not in decision.options:
                raise InvalidArchitectureError(
                    f"decision {decision.name!r} is {value!r}, which is not allowed here; "
                    f"allowed: {list(decision.options)}"
                )
            partial[decision.name] = _same_option(decision.options, value)
            steps.append((decision, partial[decision.name]))
        extra = set(arch) - set(partial)
        if extra:
            raise InvalidArchitectureError(
                f"unexpected decision(s) {sorted(extra)} for this {self.name} architecture; "
                f"its decisions are {list(partial)}"
            )
        return steps

    def validate(self, arch: Mapping[str, Any]) -> Architecture:
        """An Architecture of this space, or InvalidArchitectureError naming the bad part."""
        if isinstance(arch, Architecture) and arch.space is self:
            return arch
        if not isinstance(arch, Mapping):
            raise InvalidArchitectureError(
                f"expected a mapping of decision -> option or an Architecture, got {type(arch).__name__}"
            )
        steps = self._walk_checked(arch)
        return Architecture(self, {d.name: v for d, v in steps})

    def complete(self, partial: Mapping[str, Any], rng: np.random.Generator | None = None) -> Architecture:
        """Finish a partial architecture: keep each given choice that is still valid, fill the rest.

        Missing or invalid choices are drawn from ``rng``, or take the first option without one.
        """
        chosen: dict[str, Any] = {}
        while (decision := self.next_decision(chosen)) is not None:
            value = partial.get(decision.name, _MISSING)
            if value is _MISSING or value not in decision.options:
                if rng is None:
                    value = decision.options[0]
                else:
                    value = decision.options[int(rng.integers(len(decision.options)))]
            chosen[decision.name] = _same_option(decision.options, value)
        return Architecture(self, chosen)

    def sample(self, rng: int | np.random.Generator | None = None) -> Architecture:
        """A random architecture: each decision drawn uniformly among the options valid there."""
        return self.complete({}, as_rng(rng))

    def mutate(self, arch: Architecture, rng: int | np.random.Generator | None = None) -> Offspring:
        """Change one decision to another valid option; returns the child and what changed."""
        rng = as_rng(rng)
        arch = self.validate(arch)
        steps = [d for d in self.walk(arch) if len(d.options) > 1]
        if not steps:
            raise InvalidArchitectureError(f"{arch} has no decision with an alternative to mutate")
        decision = steps[int(rng.integers(len(steps)))]
        others = [o for o in decision.options if o != arch[decision.name]]
        new = others[int(rng.integers(len(others)))]
        child = self.complete({**dict(arch), decision.name: new}, rng)
        change = {
            "kind": "mutation",
            "decision": decision.name,
            "from": arch[decision.name],
            "to": new,
        }
        side = _changed(arch, child, skip=decision.name)
        if side:
            change["also_changed"] = side
        return Offspring(child, change)

    def crossover(self, a: Architecture, b: Architecture, rng: int | np.random.Generator | None = None) -> Offspring:
        """Uniform crossover: each decision taken from one parent at random (when valid there)."""
        rng = as_rng(rng)
        a, b = self.validate(a), self.validate(b)
        chosen: dict[str, Any] = {}
        origin: dict[str, str] = {}
        while (decision := self.next_decision(chosen)) is not None:
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            for parent, label in ((first, "a" if first is a else "b"), (second, "b" if first is a else "a")):
                value = parent.get(decision.name, _MISSING)
                if value is not _MISSING and value in decision.options:
                    chosen[decision.name] = value
                    origin[decision.name] = label
                    break
            else:
                chosen[decision.name] = decision.options[int(rng.integers(len(decision.options)))]
                origin[decision.name] = "random"
        child = Architecture(self, chosen)
        return Offspring(
            child,
            {
                "kind": "crossover",
                "from_a": [k for k, v in origin.items() if v == "a"],
                "from_b": [k for k, v in origin.items() if v == "b"],
                "random": [k for k, v in origin.items() if v == "random"],
            },
        )

    def neighbors(self, arch: Architecture) -> list[Architecture]:
        """Every architecture one decision away (later decisions repaired deterministically)."""
        arch = self.validate(arch)
        seen = {arch}
        out = []
        for decision in self.walk(arch):
            for option in decision.options:
                if option == arch[decision.name]:
                    continue
                child = self.complete({**dict(arch), decision.name: option})
                if child not in seen:
                    seen.add(child)
                    out.append(child)
        return out

    def encode(self, arch: Architecture) -> np.ndarray:
        """One-hot vector over every (decision, option) of ``choices``; inactive decisions are 0."""
        arch = self.validate(arch)
        index = self._encoding_index()
        vec = np.zeros(len(index), dtype=np.float32)
        for name, value in arch.items():
            vec[index[(name, value)]] = 1.0
        return vec

    def encoding_names(self) -> list[str]:
        """Column names of ``encode``: ``decision=option``."""
        return [f"{n}={o}" for (n, o) in self._encoding_index()]

    def _encoding_index(self) -> dict[tuple[str, Any], int]:
        cached = getattr(self, "_encoding_cache", None)
        if cached is None:
            pairs = [(n, o) for n, opts in self.choices.items() for o in opts]
            cached = {p: i for i, p in enumerate(pairs)}
            self._encoding_cache = cached
        return cached

    def __contains__(self, arch: object) -> bool:
        try:
            self.validate(arch)  # type: ignore[arg-type]
        except InvalidArchitectureError:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self.get_config().items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _same_option(options: Sequence[Any], value: Any) -> Any:
    """The option object equal to ``value`` (so 1 and True, 0.1 and a parsed '0.1' agree in type)."""
    for o in options:
        if o == value and type(o) is type(value):
            return o
    for o in options:
        if o == value:
            return o
    return value


def _changed(a: Architecture, b: Architecture, skip: str) -> dict[str, list[Any]]:
    keys = (set(a) | set(b)) - {skip}
    return {k: [a.get(k), b.get(k)] for k in sorted(keys) if a.get(k, _MISSING) != b.get(k, _MISSING)}
