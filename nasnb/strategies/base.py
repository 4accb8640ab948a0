"""BaseStrategy: the ask/tell protocol every search strategy implements.

A strategy proposes (``ask``) and learns from results (``tell``). It never evaluates, never
owns the loop and never sees a widget, so the same object runs headless, in the explorer,
on a cluster, or in a replay of a recorded run.
"""

from __future__ import annotations

import abc
import inspect
from typing import Any

from ..spaces import Architecture, BaseSpace, as_rng
from ..trial import Proposal, Trial


class BaseStrategy(abc.ABC):
    """Configuration in ``__init__`` (stored unchanged); learned state, set up by ``setup``, ends in ``_``."""

    #: name in the registry, run.json and the CLI
    name: str = "base"

    def setup(self, space: BaseSpace, seed: int | None = 0) -> None:
        """Bind to a space and reset all learned state. Called by Search before the first ask."""
        self.space_ = space
        self.rng_ = as_rng(seed)
        self.n_asked_ = 0
        self.n_told_ = 0
        self._check_space(space)

    def _check_space(self, space: BaseSpace) -> None:
        """Raise a clear error when this strategy cannot search ``space`` (no-op by default)."""

    @abc.abstractmethod
    def ask(self) -> Proposal:
        """The next architecture to evaluate, with a JSON-able record of why."""

    @abc.abstractmethod
    def tell(self, trial: Trial) -> None:
        """Learn from a finished trial (``trial.status`` may be ``failed``)."""

    # -- persistence --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-able learned state; ``load_state_dict`` of it continues exactly."""
        return {"rng": self.rng_.bit_generator.state, "n_asked": self.n_asked_, "n_told": self.n_told_}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng_.bit_generator.state = state["rng"]
        self.n_asked_ = state["n_asked"]
        self.n_told_ = state["n_told"]

    # -- configuration ------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, read from the signature (scikit-learn's convention)."""
        sig = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, name)
            for name, p in sig.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- helpers for subclasses ---------------------------------------------------------------
    def _require_setup(self) -> None:
        if not hasattr(self, "space_"):
            raise RuntimeError(
                f"{type(self).__name__} is not set up: call strategy.setup(space, seed) "
                "or pass it to a Search, which does"
            )

    def _parse(self, trial: Trial) -> Architecture:
        return self.space_.parse(trial.arch)

    def _random_index(self, n: int) -> int:
        return int(self.rng_.integers(n))
