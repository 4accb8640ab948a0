"""Pre-screening: spend milliseconds on many candidates so that training goes to the promising ones.

A zero-cost proxy (``nasnb.evaluation.proxies``) scores ``n_candidates`` random architectures at
initialisation; the best ``keep`` are proposed first, best first. After them a base strategy
(evolution by default) takes over and is told every result, pre-screened ones included, so the
proxy's picks become, for evolution, its initial population instead of random samples.
"""

from __future__ import annotations

from typing import Any

from ..trial import Proposal, Trial
from .base import BaseStrategy
from .registry import get


class PrescreenStrategy(BaseStrategy):
    """Propose the proxy's best ``keep`` of ``n_candidates`` random architectures, then follow ``base``.

    Parameters: ``proxy`` (synflow, snip, grad_norm, naswot or params), ``n_candidates``, ``keep``,
    ``base`` (a registered strategy name) with ``base_params``, and ``dataset`` / ``batch_size`` for the
    proxy's mini-batch. Each pre-screened proposal records the proxy, its score and its rank among the
    candidates (1 = best); base proposals record the base's own decision plus ``"phase": "base"``.
    The pre-screened proposals count as the base strategy's first proposals (its ``n_asked_``).
    """

    name = "prescreen"

    def __init__(
        self,
        *,
        proxy: str = "synflow",
        n_candidates: int = 100,
        keep: int = 10,
        base: str = "evolution",
        base_params: dict[str, Any] | None = None,
        dataset: str = "digits",
        batch_size: int = 64,
    ) -> None:
        self.proxy = proxy
        self.n_candidates = n_candidates
        self.keep = keep
        self.base = base
        self.base_params = base_params
        self.dataset = dataset
        self.batch_size = batch_size

    def setup(self, space, seed=0) -> None:
        from ..evaluation.proxies import PROXIES

        if self.proxy not in PROXIES:
            raise ValueError(f"PrescreenStrategy proxy must be one of {list(PROXIES)}, got {self.proxy!r}")
        for name in ("n_candidates", "keep"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PrescreenStrategy {name} must be an int >= 1, got {value!r}")
        if self.keep > self.n_candidates:
            raise ValueError(f"PrescreenStrategy keep ({self.keep}) cannot exceed n_candidates ({self.n_candidates})")
        if self.base == self.name:
            raise ValueError("PrescreenStrategy base must be another strategy, got 'prescreen'")
        super().setup(space, seed)
        self.prescreen_seed_ = int(self.rng_.integers(2**31))
        self.base_ = get(self.base, **(self.base_params or {}))
        self.base_.setup(space, int(self.rng_.integers(2**31)))
        self.candidates_: list[dict[str, Any]] | None = None
        self.position_ = 0

    def _screen(self) -> list[dict[str, Any]]:
        from ..evaluation.proxies import prescreen

        found = prescreen(
            self.space_,
            self.proxy,
            n_candidates=self.n_candidates,
            keep=self.keep,
            seed=self.prescreen_seed_,
            dataset=self.dataset,
            batch_size=self.batch_size,
        )
        return [{"arch": str(c.arch), "score": c.score, "rank": c.rank} for c in found]

    def ask(self) -> Proposal:
        self._require_setup()
        if self.candidates_ is None:
            self.candidates_ = self._screen()
        self.n_asked_ += 1
        if self.position_ < len(self.candidates_):
            candidate = self.candidates_[self.position_]
            self.position_ += 1
            self.base_.n_asked_ += 1
            decision = {
                "kind": "prescreen",
                "proxy": self.proxy,
                "score": candidate["score"],
                "rank": candidate["rank"],
                "candidates": self.n_candidates,
            }
            return Proposal(self.space_.parse(candidate["arch"]), decision)
        proposal = self.base_.ask()
        return Proposal(proposal.arch, {**proposal.decision, "phase": "base", "base": self.base}, proposal.fidelity)

    def tell(self, trial: Trial) -> None:
        self.n_told_ += 1
        self.base_.tell(trial)

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "prescreen_seed": self.prescreen_seed_,
            "candidates": self.candidates_,
            "position": self.position_,
            "base": self.base_.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.prescreen_seed_ = state["prescreen_seed"]
        self.candidates_ = state["candidates"]
        self.position_ = state["position"]
        self.base_.load_state_dict(state["base"])
