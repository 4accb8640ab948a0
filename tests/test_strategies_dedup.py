"""No strategy pays twice for one network: the canonical-key rule shared by every learning strategy.

Isomorphic cells are the same network, so a cell whose canonical key was already proposed is
skipped (on by default, ``dedup=False`` turns it off), and the accepted proposal's decision says
what was skipped and why. The core step is pinned by hand on a scripted strategy; the strategies
are then run on a planted objective and checked to never repeat a key.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nasnb import Search
from nasnb.spaces import EDGES, OPS, CellSpace
from nasnb.strategies import QLearningStrategy, get
from nasnb.strategies.base import BaseStrategy
from nasnb.trial import Proposal, Trial

SPACE = CellSpace()


def planted(arch, epochs=None):
    """Additive per-edge effects through a sigmoid (a deterministic, isomorphism-blind objective)."""
    rng = np.random.default_rng(0)
    effects = rng.normal(size=(len(EDGES), len(OPS)))
    value = float(sum(effects[i, OPS.index(arch[e])] for i, e in enumerate(EDGES)))
    accuracy = (1 - np.exp(-(epochs or 9) / 3)) / (1 + np.exp(-value))  # an accuracy: in [0, 1]
    return {"accuracy": float(accuracy), "params": float(sum(arch[e] != "none" for e in EDGES))}


def isomorphic_pair():
    """Two cells with different operations but the same canonical key (node 1 feeds nothing)."""
    base = {e: "none" for e in EDGES}
    a = SPACE.validate({**base, "0->1": "conv_3x3", "0->3": "skip_connect"})
    b = SPACE.validate({**base, "0->1": "avg_pool_3x3", "0->3": "skip_connect"})
    assert str(a) != str(b) and a.key == b.key
    return a, b


class Scripted(BaseStrategy):
    """Proposes a fixed list of cells in order (to pin the shared rule by hand)."""

    name = "scripted"

    def __init__(self, cells, dedup=True, max_retries=2):
        self.cells = cells
        self.dedup = dedup
        self.max_retries = max_retries

    def setup(self, space, seed=0):
        super().setup(space, seed)
        self.queue_ = list(self.cells)

    def ask(self):
        return self._propose_new(
            lambda: Proposal(self.queue_.pop(0), {"kind": "scripted"}), dedup=self.dedup, max_retries=self.max_retries
        )

    def tell(self, trial):
        self._remember(trial)


OTHER = SPACE.validate(dict.fromkeys(EDGES, "conv_3x3"))  # not isomorphic to the pair
THIRD = SPACE.validate(dict.fromkeys(EDGES, "conv_1x1"))


def trial(i, arch):
    return Trial(id=i, step=i, arch=str(arch), decision={}, metrics={"accuracy": 0.5})


def test_skips_a_cell_isomorphic_to_one_already_evaluated_and_says_why():
    a, b = isomorphic_pair()
    c = OTHER
    s = Scripted([a, b, b, c])
    s.setup(SPACE, 0)
    assert s.ask().arch == a
    s.tell(trial(7, a))
    p = s.ask()  # b and b again are a's network: skipped, c is taken
    assert p.arch == c
    assert p.decision["n_skipped"] == 2
    assert p.decision["skipped"] == [{"arch": str(b), "reason": "same canonical key as trial 7"}] * 2
    assert s.evaluated_ == {a.key: 7, c.key: None}  # c is pending until told


def test_pending_proposals_count_too_and_dedup_false_repeats():
    a, b = isomorphic_pair()
    c = THIRD
    s = Scripted([a, b, c])
    s.setup(SPACE, 0)
    s.ask()
    p = s.ask()  # a not told yet: b is still its network
    assert (
        p.arch == c and p.decision["skipped"][0]["reason"] == "same canonical key as a proposal still being evaluated"
    )
    off = Scripted([a, b], dedup=False)
    off.setup(SPACE, 0)
    first, second = off.ask(), off.ask()
    assert [first.arch, second.arch] == [a, b] and "skipped" not in second.decision


def test_after_max_retries_a_random_unseen_cell_is_taken():
    a, b = isomorphic_pair()
    s = Scripted([a, b, b, b, b], max_retries=2)
    s.setup(SPACE, 0)
    s.ask()
    p = s.ask()  # b three times: more than max_retries=2 repeats
    assert p.arch.key != a.key and p.decision["kind"] == "random" and "fallback" in p.decision
    assert p.decision["n_skipped"] == 3 and len(s.queue_) == 1


def test_evaluated_keys_survive_a_state_dict_round_trip():
    a, _ = isomorphic_pair()
    s = get("evolution", population_size=4, tournament_size=2)
    s.setup(SPACE, 0)
    s.tell(trial(3, a))
    fresh = get("evolution", population_size=4, tournament_size=2)
    fresh.setup(SPACE, 0)
    fresh.load_state_dict(s.state_dict())
    assert fresh.evaluated_ == {a.key: 3}
    old = s.state_dict()
    del old["evaluated"]  # a run log from before deduplication
    fresh.load_state_dict(old)
    assert fresh.evaluated_ == {}


SETTINGS = {
    "evolution": {"population_size": 10, "tournament_size": 3},
    "reinforce": {},
    "qlearning": {},
    "nsga2": {"population_size": 10},
}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_no_strategy_repeats_a_canonical_cell(name):
    search = Search(SPACE, get(name, **SETTINGS[name]), planted, budget=120, seed=1).run()
    keys = [SPACE.parse(t.arch).key for t in search.trials]
    assert len(set(keys)) == len(keys) == 120
    assert any("skipped" in t.decision for t in search.trials)  # it had to skip some: the rule did work


def test_without_dedup_evolution_and_nsga2_do_repeat():
    for name in ("evolution", "nsga2"):
        search = Search(SPACE, get(name, **SETTINGS[name], dedup=False), planted, budget=120, seed=1).run()
        keys = [SPACE.parse(t.arch).key for t in search.trials]
        assert len(set(keys)) < len(keys), name


def test_halving_starts_each_cell_once_and_promotes_only_started_cells():
    search = Search(SPACE, get("halving", min_epochs=1, max_epochs=9, eta=3), planted, budget=150, seed=0).run()
    starts = [SPACE.parse(t.arch).key for t in search.trials if not t.decision["promoted"]]
    assert len(set(starts)) == len(starts)
    promoted = {SPACE.parse(t.arch).key for t in search.trials if t.decision["promoted"]}
    assert promoted and promoted <= set(starts)


def test_qlearning_relearns_from_the_known_reward_instead_of_paying_again():
    """A Q-table that greedily rebuilds a known cell: Q moves toward its remembered reward, by hand."""
    a, _ = isomorphic_pair()
    q = QLearningStrategy(learning_rate=0.5, q_init=0.0, epsilon_schedule=[(1, 0.0)], replay_size=0, max_retries=1)
    q.setup(SPACE, 0)
    path = q._path(a)
    for state, action, _ in path:  # make a the unique greedy episode
        q.q_.setdefault(state, {})[str(action)] = 1.0
    q.evaluated_[a.key] = 4
    q.known_[a.key] = 0.2
    last_state, last_action, _ = path[-1]
    proposal = q.ask()
    # the greedy episode rebuilt a: Q(s_last, a_last) <- 1.0 + 0.5 (0.2 - 1.0) = 0.6, no new training;
    # the retry explored with epsilon 1 / max_retries = 1 (uniformly random) and found a new cell
    assert proposal.decision["relearned"] == [str(a)] and proposal.decision["n_skipped"] == 1
    assert q.q_[last_state][str(last_action)] == pytest.approx(0.6)
    assert proposal.arch.key != a.key and proposal.decision["epsilon"] == 1.0
    assert proposal.decision["kind"] == "qlearning" and "fallback" not in proposal.decision


def test_every_bad_dedup_setting_is_named():
    for name in ("evolution", "reinforce", "qlearning", "nsga2", "halving", "hyperband"):
        with pytest.raises(ValueError, match="dedup"):
            get(name, dedup="yes").setup(SPACE, 0)


def test_isomorphic_pair_helper_covers_the_whole_class():
    """Sanity of the premise: CellSpace has far fewer networks than cells."""
    keys = {SPACE.validate(dict(zip(EDGES, ops))).key for ops in itertools.product(OPS, repeat=len(EDGES))}
    assert 4000 < len(keys) < len(OPS) ** len(EDGES)


def test_a_search_longer_than_the_space_stays_fast_and_says_it_repeats():
    """Once no unseen network can be found, proposals repeat (marked) instead of searching each time."""
    from nasnb.spaces import HyperSpace

    space = HyperSpace(lr=(0.1, 0.01), batch_size=(32, 64), weight_decay=(0.0,), dropout=(0.0,))  # 4 points
    strategy = get("evolution", population_size=2, tournament_size=2)
    trials = Search(space, strategy, lambda a: {"accuracy": 0.5}, budget=12, seed=0).run().trials
    keys = [space.parse(t.arch).key for t in trials]
    assert len(set(keys[:4])) == 4  # every point once before any repeat
    assert all("duplicate" in t.decision for t in trials[4:]) and strategy.exhausted_
