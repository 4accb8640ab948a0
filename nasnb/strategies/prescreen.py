"""Pre-screening: spend milliseconds on many candidates so that training goes to the promising ones.

A zero-cost proxy (``nasnb.evaluation.proxies``) scores ``n_candidates`` random architectures at
initialisation; the best ``keep`` are proposed first, best first. After them a base strategy
(evolution by default) takes over and is told every result, pre-screened ones included, so the
proxy's picks become, for evolution, its initial population instead of random samples.

A strategy never evaluates inside ``ask()``: the candidates are a queue filled *ahead*, as Optuna's
``enqueue_trial`` does. Either call ``enqueue(prescreen(...))`` yourself (screen once, reuse the
list, or screen on other data), or let ``setup`` fill it by calling ``nasnb.evaluation.prescreen``.
The screening is a pure function of the settings and the seed, so it is computed once per
process: replaying a run (the explorer's slider, ``run.strategy_at``) never re-runs the proxies,
and a resumed run restores the queue from its checkpoint.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..spaces import Architecture, BaseSpace, space_from_config, space_to_config
from ..trial import Proposal, Trial
from ._checks import check, check_int
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

    def setup(self, space: BaseSpace, seed: int | None = 0) -> None:
        from ..evaluation.proxies import PROXIES

        check(self, "proxy", self.proxy, self.proxy in PROXIES, f"one of {list(PROXIES)}")
        check_int(self, "n_candidates", self.n_candidates, low=1)
        check_int(self, "keep", self.keep, low=1, high=self.n_candidates)
        check(self, "base", self.base, self.base != self.name, "another strategy than 'prescreen'")
        super().setup(space, seed)
        self.prescreen_seed_ = int(self.rng_.integers(2**31))
        self.base_ = get(self.base, **(self.base_params or {}))
        self.base_.setup(space, int(self.rng_.integers(2**31)))
        self.position_ = 0
        ahead = self.__dict__.pop("_enqueued", None)
        self.candidates_: list[dict[str, Any]] = ahead if ahead is not None else self.screen()

    def screen(self) -> list[dict[str, Any]]:
        """The proxy's best ``keep`` of ``n_candidates`` (``{"arch", "score", "rank"}``), best first.

        Runs ``nasnb.evaluation.prescreen`` with this strategy's settings and seed, once per process.
        """
        self._require_setup()
        return [
            dict(c)
            for c in _screened(
                json.dumps(space_to_config(self.space_), sort_keys=True),
                self.proxy,
                self.n_candidates,
                self.keep,
                self.prescreen_seed_,
                self.dataset,
                self.batch_size,
            )
        ]

    def enqueue(self, candidates: Iterable[Any]) -> None:
        """Propose these first, in order: ``Candidate``s from ``prescreen``, dicts or architectures.

        Call before the first ``ask()`` (before or after ``setup``); a dict or ``Candidate`` keeps
        its proxy ``score`` and ``rank`` for the decision record.
        """
        queue = []
        for i, c in enumerate(candidates, start=1):
            if isinstance(c, Mapping):
                queue.append({"arch": str(c["arch"]), "score": c.get("score"), "rank": c.get("rank", i)})
            elif isinstance(c, (Architecture, str)):
                queue.append({"arch": str(c), "score": None, "rank": i})
            else:  # a proxies.Candidate
                queue.append({"arch": str(c.arch), "score": c.score, "rank": c.rank})
        if not hasattr(self, "space_"):
            self._enqueued = queue
            return
        if self.position_ or self.n_asked_:
            raise RuntimeError("PrescreenStrategy.enqueue must come before the first ask()")
        for c in queue:
            self.space_.parse(c["arch"])  # a clear error now, not at the n-th ask
        self.candidates_ = queue

    def ask(self) -> Proposal:
        self._require_setup()
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
        # a checkpoint written before the first ask (older versions screened lazily) holds None
        self.candidates_ = state["candidates"] if state["candidates"] is not None else self.screen()
        self.position_ = state["position"]
        self.base_.load_state_dict(state["base"])


@functools.lru_cache(maxsize=32)
def _screened(
    space: str, proxy: str, n_candidates: int, keep: int, seed: int, dataset: str, batch_size: int
) -> tuple[tuple[tuple[str, Any], ...], ...]:
    """Pre-screening results by settings (the space as JSON config): computed once per process."""
    from ..evaluation.proxies import prescreen

    config = json.loads(space)
    found = prescreen(
        space_from_config(config),
        proxy,
        n_candidates=n_candidates,
        keep=keep,
        seed=seed,
        dataset=dataset,
        batch_size=batch_size,
    )
    return tuple((("arch", str(c.arch)), ("score", c.score), ("rank", c.rank)) for c in found)
