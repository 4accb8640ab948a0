"""The strategy zoo: Q-learning, REINFORCE, BO, successive halving / Hyperband and NSGA-II.

Each strategy must beat random search on a planted objective, resume exactly, explain every
proposal with its documented fields, and reject bad parameters by name.
"""

import itertools
import json
import math
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nasnb import Search, get_space, resume_search
from nasnb.compare import compare_strategies
from nasnb.runs import CHECKPOINT_FILE
from nasnb.spaces import EDGES, OPS, CellSpace, HyperSpace
from nasnb.strategies import (
    STRATEGIES,
    BayesianStrategy,
    HalvingStrategy,
    HyperbandStrategy,
    NSGA2Strategy,
    QLearningStrategy,
    ReinforceStrategy,
    ScalarizedEvaluator,
    crowding_distance,
    dominates,
    get,
    non_dominated_sort,
    pareto_front,
    scalarized,
)
from nasnb.trial import Trial

NEW = ["qlearning", "reinforce", "bo", "halving", "hyperband", "nsga2"]
ALL = ["random", "evolution", *NEW]
SMALL = {  # parameters that let each strategy get past its warm-up within a short test
    "evolution": {"population_size": 5, "tournament_size": 2},
    "bo": {"n_initial": 4, "n_random": 20, "n_starts": 1},
    "halving": {"min_epochs": 1, "max_epochs": 9, "eta": 3},
    "hyperband": {"min_epochs": 1, "max_epochs": 9, "eta": 3},
    "nsga2": {"population_size": 5},
    "qlearning": {"decay_trials": 10},
}


class PlantedCell:
    """Accuracy = per-edge per-op effects plus a conv_3x3 path bonus, scaled so the optimum is exactly 1."""

    def __init__(self, seed=0, interaction=0.5):
        rng = np.random.default_rng(seed)
        self.effects = rng.normal(size=(len(EDGES), len(OPS))) * rng.uniform(0.2, 1.0, size=(len(EDGES), 1))
        self.interaction = interaction
        every = np.array(list(itertools.product(range(len(OPS)), repeat=len(EDGES))))
        raw = self._raw(every)
        self.low, self.high = raw.min(), raw.max()
        self.best = every[int(np.argmax(raw))]

    def _raw(self, idx):
        c3 = OPS.index("conv_3x3")
        bonus = (idx[..., EDGES.index("0->1")] == c3) & (idx[..., EDGES.index("1->3")] == c3)
        return self.effects[np.arange(len(EDGES)), idx].sum(axis=-1) + self.interaction * bonus

    def __call__(self, arch, epochs=None):
        idx = np.array([OPS.index(arch[e]) for e in EDGES])
        accuracy = float((self._raw(idx) - self.low) / (self.high - self.low))
        if epochs is not None:  # short training underestimates, as real curves do
            accuracy *= 1.0 - math.exp(-epochs / 4.0)
        return {"accuracy": accuracy, "params": float(sum(arch[e].startswith("conv") for e in EDGES))}


def any_space_objective(arch, epochs=None):
    """Deterministic, space-agnostic scores: a stable hash of the text form; fails for a few architectures."""
    text = str(arch)
    digest = sum((i + 1) * ord(c) for i, c in enumerate(text))
    if digest % 13 == 0:
        raise RuntimeError("planted failure")
    accuracy = (digest % 997) / 997 * (1.0 if epochs is None else min(1.0, 0.5 + epochs / 20))
    return {"accuracy": accuracy, "params": float(len(text) % 17), "latency_ms": float(digest % 7)}


def make(name, **extra):
    return get(name, **{**SMALL.get(name, {}), **extra})


# -- registry and parameters ------------------------------------------------------------------
@pytest.mark.parametrize("name", NEW)
def test_selectable_by_name_with_sklearn_style_params(name):
    strategy = get(name)
    assert type(strategy) is STRATEGIES[name] and strategy.name == name
    params = strategy.get_params()
    assert type(strategy)(**params).get_params() == params
    assert json.loads(json.dumps(params)) == params
    with pytest.raises(TypeError):
        type(strategy)(1)  # keyword-only


@pytest.mark.parametrize(
    "name, params, fragment",
    [
        ("qlearning", {"learning_rate": 0}, "learning_rate"),
        ("qlearning", {"discount": 1.5}, "discount"),
        ("qlearning", {"epsilon_schedule": [(0, 1.0)]}, "epsilon_schedule"),
        ("qlearning", {"state": "full"}, "state"),
        ("qlearning", {"credit": "both"}, "credit"),
        ("qlearning", {"replay_size": -1}, "replay_size"),
        ("reinforce", {"learning_rate": -1.0}, "learning_rate"),
        ("reinforce", {"baseline_decay": 2}, "baseline_decay"),
        ("reinforce", {"normalize": "yes"}, "normalize"),
        ("bo", {"acquisition": "pi"}, "acquisition"),
        ("bo", {"n_initial": 0}, "n_initial"),
        ("bo", {"n_random": 0, "n_starts": 0}, "n_random"),
        ("halving", {"eta": 1}, "eta"),
        ("halving", {"min_epochs": 5, "max_epochs": 2}, "max_epochs"),
        ("halving", {"n": 0}, "n"),
        ("hyperband", {"min_epochs": 0}, "min_epochs"),
        ("nsga2", {"objectives": {"accuracy": "max"}}, "objectives"),
        ("nsga2", {"objectives": {"accuracy": "up", "params": "min"}}, "objectives"),
        ("nsga2", {"population_size": 1}, "population_size"),
    ],
)
def test_bad_parameters_are_named_in_the_error(name, params, fragment):
    strategy = get(name, **params)  # constructors only store
    with pytest.raises(ValueError, match=fragment) as info:
        strategy.setup(CellSpace(), 0)
    assert type(strategy).__name__ in str(info.value)


def test_qlearning_rejects_a_space_whose_options_it_cannot_tell_apart():
    # a space with such options is now refused when it is built; Q-learning's own check stays as a second line
    with pytest.raises(ValueError, match=r"HyperSpace lr: '0.1' is not a learning rate|hyper space"):
        QLearningStrategy().setup(HyperSpace(lr=(0.1, "0.1")), 0)


# -- every strategy on every kind of space ----------------------------------------------------
@pytest.mark.parametrize("space_name", ["chain", "cell", "cell+hyper"])
@pytest.mark.parametrize("name", ALL)
def test_fifteen_steps_on_chain_cell_and_product_spaces(name, space_name):
    space = get_space(space_name)
    search = Search(space, make(name), any_space_objective, budget=15, seed=3).run()
    assert len(search.trials) == 15
    assert all(space.parse(t.arch) in space for t in search.trials)
    json.dumps(search.strategy.state_dict(), allow_nan=False)


@pytest.mark.parametrize("name", ALL)
def test_failed_trials_do_not_break_a_strategy(name):
    def broken(arch, epochs=None):
        raise RuntimeError("no GPU")

    # fail_fast=None: every trial failing is the point here, not a systemic error to stop on
    search = Search(CellSpace(), make(name), broken, budget=12, seed=0, fail_fast=None).run()
    assert len(search.trials) == 12 and not any(t.ok for t in search.trials)


@pytest.mark.parametrize("name", NEW)
def test_asks_may_run_ahead_of_tells_with_a_parallel_executor(name):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(3) as pool:
        search = Search(CellSpace(), make(name), any_space_objective, budget=16, seed=0, executor=pool).run()
    assert len(search.trials) == 16


def test_halving_explains_an_evaluator_without_epochs():
    def no_epochs(arch):
        return {"accuracy": 0.5}

    with pytest.raises(TypeError, match="epochs=None"):
        Search(CellSpace(), "halving", no_epochs, budget=3).run()


# -- planted objective: better than random ----------------------------------------------------
PLANTED = PlantedCell(seed=0)
SEEDS, BUDGET = range(8), 60


@pytest.fixture(scope="module")
def random_regret():
    comparison = compare_strategies(CellSpace(), {"random": "random"}, PLANTED, seeds=SEEDS, budget=BUDGET, optimum=1.0)
    return comparison.final()["random"]


def test_planted_objective_has_its_optimum_at_one():
    space = CellSpace()
    best = space.validate({e: OPS[i] for e, i in zip(EDGES, PLANTED.best)})
    assert PLANTED(best)["accuracy"] == pytest.approx(1.0)
    assert all(0.0 <= PLANTED(space.sample(s))["accuracy"] <= 1.0 for s in range(50))


@pytest.mark.parametrize(
    "label, spec",
    [
        ("evolution", ("evolution", {"population_size": 10, "tournament_size": 3})),
        ("bo", "bo"),
        ("reinforce", "reinforce"),
        ("qlearning", "qlearning"),
    ],
)
def test_beats_random_search_on_the_planted_cell_objective(label, spec, random_regret):
    comparison = compare_strategies(CellSpace(), {label: spec}, PLANTED, seeds=SEEDS, budget=BUDGET, optimum=1.0)
    assert comparison.final()[label] < random_regret


# -- exact resume -----------------------------------------------------------------------------
def sequence(trials):
    return [(t.arch, t.fidelity) for t in trials]


@pytest.mark.parametrize("keep_checkpoint", [True, False], ids=["checkpoint", "replay"])
@pytest.mark.parametrize("name", ALL)
def test_resume_continues_exactly_as_an_uninterrupted_run(name, keep_checkpoint, tmp_path):
    space, total, first = get_space("cell+hyper"), 24, 9
    reference = Search(space, make(name), any_space_objective, budget=total, seed=5).run()
    head = Search(space, make(name), any_space_objective, budget=first, seed=5, run_dir=tmp_path / "run").run()
    head.close()
    if not keep_checkpoint:
        os.remove(tmp_path / "run" / CHECKPOINT_FILE)
    resumed = resume_search(tmp_path / "run", evaluator=any_space_objective, budget=total).run()
    assert sequence(resumed.trials) == sequence(reference.trials)
    assert [t.decision for t in resumed.trials] == [t.decision for t in reference.trials]


@pytest.mark.parametrize("name", ALL)
def test_state_dict_survives_json_and_continues_exactly(name):
    space = get_space("cell+hyper")
    live = Search(space, make(name), any_space_objective, budget=14, seed=1).run()
    state = json.loads(json.dumps(live.strategy.state_dict(), allow_nan=False))
    copy = make(name)
    copy.setup(space, 1234)
    copy.load_state_dict(state)
    assert json.dumps(copy.state_dict(), sort_keys=True) == json.dumps(state, sort_keys=True)
    for step in range(14, 26):
        a, b = live.strategy.ask(), copy.ask()
        assert (str(a.arch), a.decision, a.fidelity) == (str(b.arch), b.decision, b.fidelity)
        try:
            metrics, status = any_space_objective(a.arch, **(a.fidelity or {})), "ok"
        except RuntimeError:
            metrics, status = {}, "failed"
        trial = Trial(
            id=step,
            step=step,
            arch=str(a.arch),
            decision=json.loads(json.dumps(a.decision)),
            metrics=metrics,
            status=status,
            fidelity=a.fidelity,
        )
        live.strategy.tell(trial)
        copy.tell(trial)


# -- decision records -------------------------------------------------------------------------
def decisions(name, budget=30, space="cell", **params):
    search = Search(
        get_space(space),
        make(name, **params),
        PLANTED if space == "cell" else any_space_objective,
        budget=budget,
        seed=2,
    ).run()
    return [t.decision for t in search.trials]


def test_qlearning_records_q_values_epsilon_and_greedy_flags():
    records = decisions("qlearning")
    assert records[0]["epsilon"] == 1.0 and records[-1]["epsilon"] < records[0]["epsilon"]
    for record in records:
        assert record["kind"] == "qlearning" and 0 <= record["epsilon"] <= 1
        assert [c["decision"] for c in record["choices"]] == list(EDGES)
        for choice in record["choices"]:
            assert set(choice) >= {"decision", "state", "options", "q_values", "chosen", "greedy"}
            assert len(choice["q_values"]) == len(choice["options"]) and choice["chosen"] in choice["options"]
            if choice["greedy"]:
                picked = choice["q_values"][choice["options"].index(choice["chosen"])]
                assert picked == max(choice["q_values"])
    assert any(c["greedy"] for r in records for c in r["choices"])
    assert any(not c["greedy"] for r in records for c in r["choices"])


def test_reinforce_records_the_distribution_of_every_choice_and_the_baseline():
    records = decisions("reinforce", space="chain")
    assert records[0]["baseline"] is None and isinstance(records[-1]["baseline"], float)
    for record in records:
        assert record["kind"] == "policy"
        for choice in record["choices"]:
            assert len(choice["probs"]) == len(choice["options"]) and sum(choice["probs"]) == pytest.approx(1.0)
            assert choice["chosen"] in choice["options"]


def test_reinforce_masks_options_that_are_invalid_at_that_point_in_the_walk():
    records = decisions("reinforce", space="chain", budget=40)
    after_fc = [
        c
        for r in records
        for i, c in enumerate(r["choices"])
        if c["decision"].endswith(".type")
        and any(p["decision"].endswith(".type") and p["chosen"] == "fc" for p in r["choices"][:i])
    ]
    assert after_fc and all(c["options"] == ["fc"] and c["probs"] == [1.0] for c in after_fc)


def test_bo_records_prediction_acquisition_and_runners_up():
    records = decisions("bo", budget=15)
    assert [r["kind"] for r in records[:4]] == ["init"] * 4
    for record in records[4:]:
        assert record["kind"] == "bo" and record["acquisition"] == "ei"
        assert record["std"] >= 0 and record["acquisition_value"] >= 0 and "mean" in record
        assert len(record["runners_up"]) == 3
        assert all(r["acquisition_value"] <= record["acquisition_value"] for r in record["runners_up"])
    ucb = decisions("bo", budget=6, acquisition="ucb")[-1]
    assert ucb["acquisition_value"] == pytest.approx(ucb["mean"] + 2.0 * ucb["std"])


def test_nsga2_records_parent_ranks_crowding_and_front_size():
    records = decisions("nsga2", budget=20)
    assert [r["kind"] for r in records[:5]] == ["init"] * 5
    for record in records[5:]:
        assert record["kind"] == "offspring" and record["front_size"] >= 1
        for parent in record["parents"]:
            assert parent["rank"] >= 0 and (parent["crowding"] is None or parent["crowding"] >= 0)


# -- Q-learning arithmetic --------------------------------------------------------------------
def test_qlearning_update_matches_a_hand_computed_case():
    space = HyperSpace(lr=(0.1, 0.2), batch_size=(32,), weight_decay=(0.0,), dropout=(0.0, 0.5))
    strategy = QLearningStrategy(learning_rate=0.5, credit="final", discount=0.9, q_init=0.5, state="position")
    strategy.setup(space, 0)
    arch = space.validate({"lr": 0.2, "batch_size": 32, "weight_decay": 0.0, "dropout": 0.5})
    first = strategy.q_update(arch, 1.0)
    # backwards: dropout (terminal) 0.5 + 0.5 (1 - 0.5) = 0.75
    # weight_decay: target 0.9 * max(0.5, 0.75) = 0.675 -> 0.5 + 0.5 (0.675 - 0.5) = 0.5875
    # batch_size: target 0.9 * 0.5875 = 0.52875 -> 0.514375; lr: target 0.9 * 0.514375 -> 0.48146875
    assert [u["new"] for u in first] == pytest.approx([0.75, 0.5875, 0.514375, 0.48146875])
    second = strategy.q_update(arch, 0.0)
    assert second[0]["new"] == pytest.approx(0.75 + 0.5 * (0.0 - 0.75))
    assert strategy.q_value("lr", 0.1) == 0.5  # untouched option keeps q_init


def test_qlearning_credit_each_rewards_every_decision_by_hand():
    """credit='each', γ = 0: every decision moves toward the reward itself, a running mean per (state, action).

    α = 0.5, Q starts at 0.5. Reward 1: every step 0.5 + 0.5 (1 - 0.5) = 0.75. Reward 0 for the same
    architecture: 0.75 + 0.5 (0 - 0.75) = 0.375 everywhere. With γ = 0.5 instead, the first update of
    an earlier step adds half the next step's best value: 1 + 0.5 * 0.5 -> 0.5 + 0.5 (1.25 - 0.5) = 0.875.
    """
    space = HyperSpace(lr=(0.1, 0.2), batch_size=(32,), weight_decay=(0.0,), dropout=(0.0, 0.5))
    arch = space.validate({"lr": 0.2, "batch_size": 32, "weight_decay": 0.0, "dropout": 0.5})
    strategy = QLearningStrategy(learning_rate=0.5, credit="each", discount=0.0, q_init=0.5)
    strategy.setup(space, 0)
    assert [u["new"] for u in strategy.q_update(arch, 1.0)] == pytest.approx([0.75] * 4)
    assert [u["new"] for u in strategy.q_update(arch, 0.0)] == pytest.approx([0.375] * 4)
    assert strategy.q_value("lr", 0.1) == 0.5
    discounted = QLearningStrategy(learning_rate=0.5, credit="each", discount=0.5, q_init=0.5)
    discounted.setup(space, 0)
    # backwards: dropout (last) 0.75; weight_decay target 1 + 0.5 * max(0.5, 0.75) = 1.375 -> 0.9375
    assert [u["new"] for u in discounted.q_update(arch, 1.0)][:2] == pytest.approx([0.75, 0.9375])


def test_qlearning_final_credit_without_discount_is_refused():
    with pytest.raises(ValueError, match="credit='final' and discount=0"):
        QLearningStrategy(credit="final", discount=0.0).setup(CellSpace(), 0)


def test_qlearning_epsilon_schedules():
    linear = QLearningStrategy(epsilon_floor=0.2, decay_trials=10)
    linear.setup(CellSpace(), 0)
    assert [linear.epsilon(n) for n in (0, 5, 10, 50)] == pytest.approx([1.0, 0.6, 0.2, 0.2])
    stepped = QLearningStrategy(epsilon_schedule=[(3, 1.0), (2, 0.5), (1, 0.1)])
    stepped.setup(CellSpace(), 0)
    assert [stepped.epsilon(n) for n in range(8)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.1, 0.1, 0.1]


# -- successive halving and Hyperband ---------------------------------------------------------
def test_successive_halving_promotes_the_best_third_with_their_scores():
    space = CellSpace()
    search = Search(space, HalvingStrategy(min_epochs=1, max_epochs=9, eta=3), PLANTED, budget=13, seed=0).run()
    trials = search.trials
    assert [t.decision["rung"] for t in trials] == [0] * 9 + [1] * 3 + [2]
    assert [t.fidelity["epochs"] for t in trials] == [1] * 9 + [3] * 3 + [9]
    rung0 = sorted(trials[:9], key=lambda t: -t.metrics["accuracy"])
    assert [t.arch for t in trials[9:12]] == [t.arch for t in rung0[:3]]
    for t in trials[9:12]:
        origin = t.decision["promoted_from"]
        assert t.decision["promoted"] and origin["rung"] == 0 and origin["epochs"] == 1
        assert origin["score"] == trials[origin["trial"]].metrics["accuracy"]
    assert trials[12].arch == max(trials[9:12], key=lambda t: t.metrics["accuracy"]).arch
    assert not trials[0].decision["promoted"] and trials[0].decision["promoted_from"] is None
    assert trials[13 - 1].decision["bracket"] == 0
    assert search.strategy.ask().decision["bracket"] == 1  # the next bracket starts afresh


def test_halving_never_promotes_a_failure():
    jobs = [{"score": 0.2}, {"score": None}, {"score": 0.9}, {"score": 0.5}]
    assert HalvingStrategy.promotions(jobs, 2) == [2, 3]
    assert HalvingStrategy.promotions([{"score": None}] * 3, 1) == []


def test_hyperband_cycles_brackets_from_many_short_to_few_long():
    strategy = HyperbandStrategy(min_epochs=1, max_epochs=27, eta=3)
    strategy.setup(CellSpace(), 0)
    plans = [strategy.plan(i) for i in range(5)]
    assert [p["s"] for p in plans] == [3, 2, 1, 0, 3]
    assert plans[0]["sizes"] == [27, 9, 3, 1] and plans[0]["budgets"] == [1, 3, 9, 27]
    assert plans[1]["sizes"] == [12, 4, 1] and plans[1]["budgets"] == [3, 9, 27]
    assert plans[3]["sizes"] == [4] and plans[3]["budgets"] == [27]
    first = strategy.ask().decision
    assert first["s"] == 3 and first["epochs"] == 1 and first["rung_size"] == 27


# -- objectives -------------------------------------------------------------------------------
def test_pareto_helpers_on_toy_points():
    points = [[0.9, 5.0], [0.8, 1.0], [0.7, 3.0], [0.9, 6.0], [0.6, 0.5]]
    senses = ("max", "min")
    assert pareto_front(points, senses) == [0, 1, 4]
    assert non_dominated_sort(points, senses) == [[0, 1, 4], [2, 3]]
    assert dominates([0.8, 1.0], [0.7, 3.0], senses) and not dominates([0.9, 5.0], [0.8, 1.0], senses)
    crowd = crowding_distance([[0.9, 5.0], [0.8, 1.0], [0.6, 0.5]], senses)
    assert np.isinf(crowd[0]) and np.isinf(crowd[2]) and crowd[1] == pytest.approx(2.0)


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=25))
def test_no_front_point_is_dominated_and_every_other_point_is(points):
    front = pareto_front(points)
    assert front
    for i in front:
        assert not any(dominates(p, points[i]) for p in points)
    for j in set(range(len(points))) - set(front):
        assert any(dominates(points[i], points[j]) for i in front)
    fronts = non_dominated_sort(points)
    assert sorted(i for f in fronts for i in f) == list(range(len(points)))


def test_scalarized_objective_and_evaluator():
    metrics = {"accuracy": 0.9, "params": 2e6}
    assert scalarized(metrics, 0.05, "params", normalize=1e6) == pytest.approx(0.8)
    with pytest.raises(KeyError, match="macs"):
        scalarized(metrics, 0.1, "macs")
    wrapped = ScalarizedEvaluator(PLANTED, lam=0.1, complexity="params")
    arch = CellSpace().sample(0)
    out = wrapped(arch, epochs=3)
    assert out["objective"] == pytest.approx(out["accuracy"] - 0.1 * out["params"])
    search = Search(
        CellSpace(), BayesianStrategy(metric="objective", n_initial=3), wrapped, budget=6, metric="objective"
    ).run()
    assert search.best.metrics["objective"] == max(t.metrics["objective"] for t in search.trials)


def test_nsga2_keeps_a_non_dominated_front_and_needs_its_metrics():
    search = Search(CellSpace(), NSGA2Strategy(population_size=8), PLANTED, budget=40, seed=0).run()
    population = search.strategy.population_
    front = search.strategy.pareto_front()
    assert front and len(population) == 8
    for member in front:
        point = [member["accuracy"], member["params"]]
        assert not any(dominates(m["values"], point, ("max", "min")) for m in population)
    best = max(t.metrics["accuracy"] for t in search.trials)
    assert max(m["accuracy"] for m in front) == best  # the accuracy extreme of a front always survives
    with pytest.raises(KeyError, match="latency_ms"):
        Search(CellSpace(), NSGA2Strategy(objectives={"accuracy": "max", "latency_ms": "min"}), PLANTED, budget=2).run()


def test_reinforce_policy_shifts_toward_what_scored_well():
    strategy = ReinforceStrategy(learning_rate=1.0, entropy_weight=0.0)
    space = CellSpace()
    strategy.setup(space, 0)
    good = space.validate(dict.fromkeys(EDGES, "conv_3x3"))
    before = strategy.probabilities()["conv_3x3"]
    for i, (arch, acc) in enumerate([(space.sample(1), 0.5), (good, 0.9), (space.sample(2), 0.5), (good, 0.9)]):
        strategy.tell(Trial(id=i, step=i, arch=str(arch), decision={}, metrics={"accuracy": acc}))
    assert strategy.probabilities()["conv_3x3"] > before


@pytest.mark.parametrize(
    "low, high, eta, expected", [(1, 27, 3, [1, 3, 9, 27]), (2, 6, 2, [2, 4, 6]), (1, 6, 3, [1, 3, 6]), (4, 4, 2, [4])]
)
def test_halving_rungs_are_geometric_then_max(low, high, eta, expected):
    strategy = get("halving", min_epochs=low, max_epochs=high, eta=eta)
    assert strategy.budgets() == expected
