"""Q-learning over the space's decision walk, as in MetaQNN (Baker et al. 2017).

Building an architecture is treated as an episode: at each decision point of the walk the
agent is in a state, picks one of the options valid there (the actions), and only at the end
receives a reward, the architecture's validation accuracy. After every episode the Q-values
along its path are updated backwards with exactly

    Q(s, a) ← Q(s, a) + α [r + γ max_a' Q(s', a') − Q(s, a)]

where r is the reward at the last step (0 before it) and the max term is 0 at the last step.
Because the reward arrives only at the end, information flows back one step per update;
experience replay (re-running the update on a sample of past episodes after each one) speeds
that up, which is why MetaQNN uses it. ε-greedy exploration starts fully random and becomes
greedier on a schedule, so early episodes map the space and later ones exploit what was learned.

The state summarises the partial architecture as MetaQNN does: where we are and what was just
chosen. ``state="previous"`` keys a Q-table row by the decision being made and the
choice made just before it: for a chain, the layer index and field plus the previous choice (at
``L2.kernel`` the row knows L2 is a convolution); for the cell, the edge plus the operation on
the previous edge. ``"position"`` (the default) keys it by the decision alone (for the cell: the edge).
Both summaries forget earlier choices, so the reward is not a function of the state. With the
reward only at the end, the fixed point of the update then gives every action of an early
decision the same value; only the last two decisions (the last one alone with ``"position"``)
are learned for good, the rest only through the transients of learning. That *state aliasing* is worth showing
a class. ``"prefix"`` keys rows by the whole partial architecture, which makes the problem
Markov again at the price of a table that grows with every new prefix.

``credit`` decides who is rewarded. ``"final"`` is MetaQNN's: the reward at the last step, 0 before
it, with aliasing as above. ``"each"`` (the default) gives every decision of the episode the
architecture's reward, r_t = r for every t; with ``discount=0`` the update is then the same
rule with target r, so Q(s, a) becomes a running average of the accuracy of architectures that
took a in s: with ``state="position"``, how good each operation is on each edge. That is the
credit assignment a cell needs, because its accuracy is close to a sum of per-edge effects.
Measured on the digits table (100 evaluations, 20 seeds, dedup on), regret against random
search: terminal credit with ``"previous"`` state 0.90x (p 0.12), per-decision credit with
``"position"`` state 0.48x / 0.61x / 0.54x on three disjoint seed sets (p < 0.002 each), and on
an additive planted cell objective 0.12x against 0.55x (``benchmarks/bench_peers.py``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from ..spaces import Architecture, BaseSpace
from ..trial import Proposal, Trial
from ._checks import check_bool, check_choice, check_float, check_int, check_metric
from .base import BaseStrategy


class QLearningStrategy(BaseStrategy):
    """MetaQNN-style Q-learning with ε-greedy exploration and experience replay.

    Parameters: ``learning_rate`` (α; far above MetaQNN's 0.01 because a course run has tens
    of episodes, not thousands), ``credit`` (``"each"``: every decision is rewarded with the
    architecture's accuracy; ``"final"``: MetaQNN's reward at the last step only — see the module
    docstring), ``discount`` (γ; with ``credit="final"``, 1 = the final reward counts fully at every
    step; with ``"each"``, 0 = each decision learns the mean reward of its choices),
    ``q_init`` (initial Q-value; MetaQNN uses 0.5, middling for accuracies),
    ``epsilon_schedule`` (MetaQNN's list of ``(n_trials, ε)`` pairs: ε for that many trials,
    then the next pair; the last ε stays) or None for a linear decay from 1.0 to
    ``epsilon_floor`` over ``decay_trials`` trials (measured with dedup on, 100 evaluations, on the
    digits table over seeds 0-19 / 100-119 / 200-219 with per-decision credit: a floor of 0.05 reached
    over 30 trials 0.53x / 0.42x / 0.54x random's regret, over 50 trials 0.48x / 0.61x / -; no replay
    0.76x), ``replay_size`` (past episodes replayed after each tell), ``state`` (``"position"``,
    ``"previous"`` or ``"prefix"``, see the module docstring; ``"previous"`` 0.63x / 0.76x),
    ``max_retries``, ``metric`` (the reward, maximised).

    As in MetaQNN, with ``dedup`` (the default) an episode that builds an architecture already
    proposed (same canonical key) is not evaluated again: its recorded reward, if it has one yet,
    updates Q (listed under ``relearned``) and a new episode starts with ε raised to
    ``retry / max_retries`` (if larger), so a policy stuck on a known cell explores its way out; up to
    ``max_retries`` times (all listed under ``skipped``), then a random unseen cell is taken. Failed trials are ignored:
    they give no reward and are never replayed.
    """

    name = "qlearning"

    def __init__(
        self,
        *,
        learning_rate: float = 0.3,
        credit: str = "each",
        discount: float = 0.0,
        q_init: float = 0.5,
        epsilon_schedule: Sequence[tuple[int, float]] | None = None,
        epsilon_floor: float = 0.05,
        decay_trials: int = 30,
        replay_size: int = 30,
        state: str = "position",
        max_retries: int = 20,
        metric: str = "accuracy",
        dedup: bool = True,
    ) -> None:
        self.learning_rate = learning_rate
        self.credit = credit
        self.discount = discount
        self.q_init = q_init
        self.epsilon_schedule = epsilon_schedule
        self.epsilon_floor = epsilon_floor
        self.decay_trials = decay_trials
        self.replay_size = replay_size
        self.state = state
        self.max_retries = max_retries
        self.metric = metric
        self.dedup = dedup

    def setup(self, space: BaseSpace, seed: int | None = 0) -> None:
        self._check_params()
        super().setup(space, seed)
        self.q_: dict[str, dict[str, float]] = {}
        self.memory_: list[dict[str, Any]] = []  # past episodes: {"arch", "reward"}
        self.known_: dict[str, float] = {}  # canonical key -> reward, to avoid paying twice

    def _check_params(self) -> None:
        check_float(self, "learning_rate", self.learning_rate, low=0.0, high=1.0, low_open=True)
        check_choice(self, "credit", self.credit, ("each", "final"))
        check_float(self, "discount", self.discount, low=0.0, high=1.0)
        if self.credit == "final" and self.discount == 0.0:
            raise ValueError(
                "QLearningStrategy with credit='final' and discount=0 never rewards any decision but the last "
                "(each earlier target is 0 * max Q = 0): pass discount > 0 (MetaQNN uses 1.0) or credit='each'"
            )
        check_float(self, "q_init", self.q_init)
        check_float(self, "epsilon_floor", self.epsilon_floor, low=0.0, high=1.0)
        check_int(self, "decay_trials", self.decay_trials, low=1)
        check_int(self, "replay_size", self.replay_size, low=0)
        check_int(self, "max_retries", self.max_retries, low=0)
        check_choice(self, "state", self.state, ("previous", "position", "prefix"))
        check_metric(self, "metric", self.metric)
        check_bool(self, "dedup", self.dedup)
        if self.epsilon_schedule is not None:
            ok = isinstance(self.epsilon_schedule, (list, tuple)) and len(self.epsilon_schedule) > 0
            for pair in self.epsilon_schedule if ok else ():
                ok = ok and isinstance(pair, (list, tuple)) and len(pair) == 2
                ok = ok and isinstance(pair[0], int) and not isinstance(pair[0], bool) and pair[0] >= 1
                ok = ok and isinstance(pair[1], (int, float)) and 0.0 <= pair[1] <= 1.0
            if not ok:
                raise ValueError(
                    "QLearningStrategy parameter epsilon_schedule must be a non-empty list of (n_trials >= 1, "
                    f"epsilon in [0, 1]) pairs such as [(20, 1.0), (10, 0.5), (10, 0.1)], got {self.epsilon_schedule!r}"
                )

    def _check_space(self, space: BaseSpace) -> None:
        for name, options in space.choices.items():
            if len({_option_key(o) for o in options}) != len(options):
                raise ValueError(
                    f"QLearningStrategy cannot search the {space.name} space {space!r}: decision {name!r} has "
                    f"options that print the same ({list(options)}), so they cannot be told apart in the Q-table"
                )

    # -- the schedule and the table -----------------------------------------------------------
    def epsilon(self, n_trials: int | None = None) -> float:
        """ε used for the episode after ``n_trials`` proposals (default: the next one)."""
        n = self.n_asked_ if n_trials is None else n_trials
        if self.epsilon_schedule is not None:
            for count, eps in self.epsilon_schedule:
                if n < count:
                    return float(eps)
                n -= count
            return float(self.epsilon_schedule[-1][1])
        fraction = min(1.0, n / self.decay_trials)
        return 1.0 + fraction * (float(self.epsilon_floor) - 1.0)

    def state_key(self, decision: str, before: Sequence[tuple[str, Hashable]]) -> str:
        """The Q-table row of a decision point, given the (name, choice) pairs made before it."""
        if self.state == "position":
            return decision
        if self.state == "prefix":
            return f"{decision} | " + ", ".join(f"{n}={_option_key(v)}" for n, v in before)
        if not before:
            return f"{decision} | start"
        return f"{decision} | {before[-1][0]}={_option_key(before[-1][1])}"

    def q_value(self, state: str, option: Hashable) -> float:
        return self.q_.get(state, {}).get(_option_key(option), float(self.q_init))

    def _path(self, arch: Architecture) -> list[tuple[str, Hashable, tuple[Hashable, ...]]]:
        """(state, action, options) at each decision of an architecture's walk."""
        steps, before = [], []
        for decision in self.space_.walk(arch):
            choice = arch[decision.name]
            steps.append((self.state_key(decision.name, before), choice, decision.options))
            before.append((decision.name, choice))
        return steps

    def q_update(self, arch: Architecture, reward: float) -> list[dict[str, Any]]:
        """Apply the Q-learning update backwards along ``arch``'s walk; returns each step's numbers.

        The step reward r_t is ``reward`` at the last step and, with ``credit="each"``, at every
        step; otherwise 0. Target: r_t + γ max_a' Q(s', a'), without the max at the last step.
        """
        path = self._path(arch)
        alpha, gamma = float(self.learning_rate), float(self.discount)
        updates = []
        for t in range(len(path) - 1, -1, -1):
            state, action, _ = path[t]
            if t == len(path) - 1:
                target = float(reward)  # terminal: r, and no future
            else:
                next_state, _, next_options = path[t + 1]
                step_reward = float(reward) if self.credit == "each" else 0.0
                target = step_reward + gamma * max(self.q_value(next_state, o) for o in next_options)
            old = self.q_value(state, action)
            new = old + alpha * (target - old)
            self.q_.setdefault(state, {})[_option_key(action)] = new
            updates.append({"state": state, "action": action, "old": old, "target": target, "new": new})
        return updates

    # -- ask / tell ---------------------------------------------------------------------------
    def ask(self) -> Proposal:
        self._require_setup()
        eps = self.epsilon()
        relearned: list[str] = []

        attempt = [0]

        def episode() -> Proposal:
            # a greedy policy rebuilds the cell it already knows; each repeat explores a little more,
            # up to a uniformly random episode at the last retry
            current = max(eps, attempt[0] / max(self.max_retries, 1))
            attempt[0] += 1
            arch, choices = self._episode(current)
            return Proposal(arch, {"kind": "qlearning", "epsilon": current, "choices": choices})

        def relearn(repeat: Proposal) -> None:
            reward = self.known_.get(repeat.arch.key)
            if reward is not None:  # MetaQNN: a known model's reward comes from memory, not a new training
                self.q_update(repeat.arch, reward)
                relearned.append(str(repeat.arch))

        proposal = self._propose_new(episode, dedup=self.dedup, max_retries=self.max_retries, on_repeat=relearn)
        self.n_asked_ += 1
        if relearned:
            proposal.decision["relearned"] = relearned
        return proposal

    def _episode(self, eps: float) -> tuple[Architecture, list[dict[str, Any]]]:
        partial: dict[str, Any] = {}
        choices = []
        while (decision := self.space_.next_decision(partial)) is not None:
            state = self.state_key(decision.name, list(partial.items()))
            q = [self.q_value(state, o) for o in decision.options]
            greedy = bool(self.rng_.random() >= eps)
            if greedy:
                best = [i for i, v in enumerate(q) if v == max(q)]
                index = best[self._random_index(len(best))] if len(best) > 1 else best[0]
            else:
                index = self._random_index(len(decision.options))
            choice = decision.options[index]
            partial[decision.name] = choice
            choices.append(
                {
                    "decision": decision.name,
                    "state": state,
                    "options": list(decision.options),
                    "q_values": q,
                    "chosen": choice,
                    "greedy": greedy,
                }
            )
        return self.space_.validate(partial), choices

    def tell(self, trial: Trial) -> None:
        self.n_told_ += 1
        self._remember(trial)
        reward = trial.score(self.metric)
        if reward is None:
            return
        arch = self._parse(trial)
        self.known_[arch.key] = reward
        self.memory_.append({"arch": str(arch), "reward": reward})
        self.q_update(arch, reward)
        for _ in range(self.replay_size):
            past = self.memory_[self._random_index(len(self.memory_))]
            self.q_update(self.space_.parse(past["arch"]), past["reward"])

    # -- persistence --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "q": {s: dict(row) for s, row in self.q_.items()},
            "memory": [dict(m) for m in self.memory_],
            "known": dict(self.known_),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.q_ = {s: {a: float(v) for a, v in row.items()} for s, row in state["q"].items()}
        self.memory_ = [dict(m) for m in state["memory"]]
        self.known_ = {k: float(v) for k, v in state["known"].items()}


def _option_key(option: Hashable) -> str:
    """An option as a JSON object key: Q-tables must survive a round trip through run.json."""
    return str(option)
