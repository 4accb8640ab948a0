"""REINFORCE: a stochastic policy over the decision walk, nudged toward what scored well.

Zoph & Le (2017) trained an RNN controller with the policy gradient; here the controller is the
simplest one that still shows the idea, one table of logits per decision point, so every number
can be printed. To sample, the walk visits each decision, masks the logits to the options valid
there, and draws from their softmax. After a result r the log-probability of each choice made
is pushed up in proportion to the advantage r − b, where the baseline b is a moving average of
past rewards: better than usual makes those choices likelier, worse than usual less likely.
An entropy bonus keeps the policy from collapsing onto one architecture too early.

A sharpening policy draws the same cells again and again; with ``dedup`` (the default) a draw
whose canonical key was already evaluated is redrawn from the same policy (listed as skipped in
the decision), so the budget goes to the likeliest cell not yet known.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spaces import Architecture, BaseSpace
from ..trial import Proposal, Trial
from ._checks import check_bool, check_float, check_int, check_metric
from .base import BaseStrategy


class ReinforceStrategy(BaseStrategy):
    """Policy gradient with factorised, masked logits per (decision, option).

    Parameters: ``learning_rate`` (step size of the gradient ascent), ``baseline_decay``
    (weight of the old baseline in the moving average; the first reward initialises it),
    ``entropy_weight`` (bonus for keeping choices uncertain), ``normalize`` (divide the
    advantage by a moving RMS of past advantages, so one learning rate suits objectives whose
    scores differ by 0.3 or by 0.003), ``metric`` (the reward), ``dedup`` (redraw a cell whose
    canonical key was proposed before, up to ``max_retries`` times, then take a random unseen one).
    The update uses the *current* policy on the told trial's walk, so results arriving out of
    order (parallel evaluation) are still used. Failed trials are ignored.
    """

    name = "reinforce"

    def __init__(
        self,
        *,
        learning_rate: float = 0.3,
        baseline_decay: float = 0.9,
        entropy_weight: float = 0.01,
        normalize: bool = True,
        metric: str = "accuracy",
        dedup: bool = True,
        max_retries: int = 100,
    ) -> None:
        self.learning_rate = learning_rate
        self.baseline_decay = baseline_decay
        self.entropy_weight = entropy_weight
        self.normalize = normalize
        self.metric = metric
        self.dedup = dedup
        self.max_retries = max_retries

    def setup(self, space: BaseSpace, seed: int | None = 0) -> None:
        check_float(self, "learning_rate", self.learning_rate, low=0.0, low_open=True)
        check_float(self, "baseline_decay", self.baseline_decay, low=0.0, high=1.0)
        check_float(self, "entropy_weight", self.entropy_weight, low=0.0)
        if not isinstance(self.normalize, bool):
            raise ValueError(f"ReinforceStrategy parameter normalize must be True or False, got {self.normalize!r}")
        check_metric(self, "metric", self.metric)
        check_bool(self, "dedup", self.dedup)
        check_int(self, "max_retries", self.max_retries, low=0)
        super().setup(space, seed)
        self.choices_ = space.choices
        self.logits_: dict[str, np.ndarray] = {name: np.zeros(len(opts)) for name, opts in self.choices_.items()}
        self.baseline_: float | None = None
        self.spread_ = 0.0  # moving average of squared advantages

    def _masked(self, name: str, options: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Indices into the decision's logits of the options valid here, and their probabilities."""
        every = self.choices_[name]
        index = np.array([_index(every, o) for o in options])
        logits = self.logits_[name][index]
        weights = np.exp(logits - logits.max())
        return index, weights / weights.sum()

    def probabilities(self, partial: dict[str, Any] | None = None) -> dict[str, float] | None:
        """The policy at the next decision after ``partial``: option (as text) -> probability."""
        self._require_setup()
        decision = self.space_.next_decision(partial or {})
        if decision is None:
            return None
        _, probs = self._masked(decision.name, decision.options)
        return {str(o): float(p) for o, p in zip(decision.options, probs)}

    def ask(self) -> Proposal:
        self._require_setup()
        self.n_asked_ += 1
        return self._propose_new(self._draw, dedup=self.dedup, max_retries=self.max_retries)

    def _draw(self) -> Proposal:
        partial: dict[str, Any] = {}
        choices = []
        while (decision := self.space_.next_decision(partial)) is not None:
            _, probs = self._masked(decision.name, decision.options)
            pick = int(np.searchsorted(np.cumsum(probs), self.rng_.random() * probs.sum(), side="right"))
            pick = min(pick, len(probs) - 1)
            partial[decision.name] = decision.options[pick]
            choices.append(
                {
                    "decision": decision.name,
                    "options": list(decision.options),
                    "probs": probs.tolist(),
                    "chosen": decision.options[pick],
                }
            )
        return Proposal(
            self.space_.validate(partial), {"kind": "policy", "baseline": self.baseline_, "choices": choices}
        )

    def tell(self, trial: Trial) -> None:
        self.n_told_ += 1
        self._remember(trial)
        reward = trial.score(self.metric)
        if reward is None:
            return
        if self.baseline_ is None:
            self.baseline_ = reward
        advantage = reward - self.baseline_
        decay = float(self.baseline_decay)
        self.spread_ = decay * self.spread_ + (1.0 - decay) * advantage * advantage
        if self.normalize and self.spread_ > 0:
            advantage /= self.spread_**0.5
        self._gradient_step(self._parse(trial), advantage)
        self.baseline_ = decay * self.baseline_ + (1.0 - decay) * reward

    def _gradient_step(self, arch: Architecture, advantage: float) -> None:
        """θ += lr · (A ∇log π(arch) + β ∇H), per decision over its valid options."""
        lr, beta = float(self.learning_rate), float(self.entropy_weight)
        grads = []
        for decision in self.space_.walk(arch):
            index, probs = self._masked(decision.name, decision.options)
            chosen = np.array([o == arch[decision.name] for o in decision.options], dtype=float)
            log_probs = np.log(np.maximum(probs, 1e-300))
            entropy = -float(np.sum(probs * log_probs))
            grad = advantage * (chosen - probs) - beta * probs * (log_probs + entropy)
            grads.append((decision.name, index, grad))
        for name, index, grad in grads:  # all gradients from the same policy, then one step
            self.logits_[name][index] += lr * grad

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "logits": {k: v.tolist() for k, v in self.logits_.items()},
            "baseline": self.baseline_,
            "spread": self.spread_,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.logits_ = {k: np.array(v, dtype=float) for k, v in state["logits"].items()}
        self.baseline_ = state["baseline"]
        self.spread_ = float(state["spread"])


def _index(options: tuple[Any, ...], value: Any) -> int:
    for i, o in enumerate(options):
        if o == value and type(o) is type(value):
            return i
    return options.index(value)
