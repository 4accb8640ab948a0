"""Random search: the baseline every other strategy must beat."""

from __future__ import annotations

from typing import Any

from ..trial import Proposal, Trial
from .base import BaseStrategy


class RandomStrategy(BaseStrategy):
    """Uniform samples from the space; with ``unique`` it avoids proposing a cell twice.

    Uniqueness is by canonical key, so two isomorphic cells count as the same proposal.
    """

    name = "random"

    def __init__(self, *, unique: bool = True, max_retries: int = 100) -> None:
        self.unique = unique
        self.max_retries = max_retries

    def setup(self, space, seed=0) -> None:
        super().setup(space, seed)
        self.seen_: set[str] = set()

    def ask(self) -> Proposal:
        self._require_setup()
        retries = 0
        arch = self.space_.sample(self.rng_)
        while self.unique and arch.key in self.seen_ and retries < self.max_retries:
            arch = self.space_.sample(self.rng_)
            retries += 1
        self.seen_.add(arch.key)
        self.n_asked_ += 1
        decision: dict[str, Any] = {"kind": "random"}
        if retries:
            decision["resampled"] = retries
        return Proposal(arch, decision)

    def tell(self, trial: Trial) -> None:
        self.n_told_ += 1

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "seen": sorted(self.seen_)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.seen_ = set(state["seen"])
