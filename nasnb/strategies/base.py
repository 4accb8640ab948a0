"""BaseStrategy: the ask/tell protocol every search strategy implements.

A strategy proposes (``ask``) and learns from results (``tell``). It never evaluates, never
owns the loop and never sees a widget, so the same object runs headless, in the explorer,
on a cluster, or in a replay of a recorded run.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable
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
        # canonical key -> id of the trial that evaluated it (None while the proposal is pending)
        self.evaluated_: dict[str, int | None] = {}
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
        return {
            "rng": self.rng_.bit_generator.state,
            "n_asked": self.n_asked_,
            "n_told": self.n_told_,
            "evaluated": dict(self.evaluated_),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng_.bit_generator.state = state["rng"]
        self.n_asked_ = state["n_asked"]
        self.n_told_ = state["n_told"]
        self.evaluated_ = dict(state.get("evaluated", {}))  # run logs from before deduplication have none

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

    # -- never pay twice for one network ------------------------------------------------------
    def _remember(self, trial: Trial) -> None:
        """Record that ``trial`` evaluated its cell (call from ``tell``), whoever proposed it."""
        try:
            key = self._parse(trial).key
        except (ValueError, KeyError, TypeError):
            return  # an architecture this space cannot parse was not ours to avoid
        if self.evaluated_.get(key) is None:
            self.evaluated_[key] = trial.id

    def _why_known(self, key: str) -> str:
        trial = self.evaluated_.get(key)
        if trial is None:
            return "same canonical key as a proposal still being evaluated"
        return f"same canonical key as trial {trial}"

    def _propose_new(
        self,
        propose: Callable[[], Proposal],
        *,
        dedup: bool,
        max_retries: int,
        on_repeat: Callable[[Proposal], None] | None = None,
    ) -> Proposal:
        """Call ``propose`` until its architecture's canonical key was never proposed before; the shared rule.

        Isomorphic cells are the same network, so evaluating one twice spends budget on a number
        already known (on a table: exactly the same number). With ``dedup`` each rejected proposal
        is listed in the accepted one's decision under ``skipped`` (arch and reason, at most 10
        listed; ``n_skipped`` counts all). After ``max_retries`` rejections in a row the strategy
        has nothing new to say from where it stands, so a uniformly random unseen cell is taken
        instead (``decision["fallback"]`` says so); if even that fails (the space is nearly
        exhausted) the last proposal is used and ``decision["duplicate"]`` says why, and later calls
        stop looking (a long search past the space's size stays fast). ``on_repeat``
        is called with each rejected proposal (Q-learning learns from the known reward there).
        """
        proposal = propose()
        if dedup and getattr(self, "exhausted_", False):  # every network was seen: repeats are unavoidable
            if proposal.arch.key in self.evaluated_:
                proposal.decision["duplicate"] = "every network the space could draw was evaluated already"
        elif dedup:
            skipped: list[dict[str, str]] = []
            n_skipped = 0
            while proposal.arch.key in self.evaluated_:
                n_skipped += 1
                if len(skipped) < 10:
                    skipped.append({"arch": str(proposal.arch), "reason": self._why_known(proposal.arch.key)})
                if on_repeat is not None:
                    on_repeat(proposal)
                if n_skipped > max_retries:
                    proposal = self._random_unseen(proposal, n_skipped)
                    break
                proposal = propose()
            if n_skipped:
                proposal.decision["skipped"] = skipped
                proposal.decision["n_skipped"] = n_skipped
        self.evaluated_.setdefault(proposal.arch.key, None)
        return proposal

    def _random_unseen(self, last: Proposal, n_skipped: int) -> Proposal:
        for _ in range(1000):
            arch = self.space_.sample(self.rng_)
            if arch.key not in self.evaluated_:
                reason = f"{n_skipped} proposals in a row were cells already evaluated; took a random unseen cell"
                return Proposal(arch, {"kind": "random", "fallback": reason}, last.fidelity)
        last.decision["duplicate"] = f"no unseen cell found in 1000 random draws after {n_skipped} repeats"
        self.exhausted_ = True  # from now on, repeats are proposed without the search for new cells
        return last
