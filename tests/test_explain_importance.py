"""Population importance against planted truth: additive per-edge, per-op effects the test sets itself.

The marginal estimator must recover the ranking of the planted effects and its 95% intervals must
cover them at about the stated rate; the forest must find the important edge; nothing may fail on
tiny or broken populations.
"""

import math

import matplotlib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nasnb import ChainSpace, Search
from nasnb.explain import (
    ImportanceTracker,
    compare_estimators,
    importance_matrix,
    op_importance,
    plot_decision_importance,
    plot_importance,
    spearman,
)
from nasnb.spaces import EDGES, OPS, CellSpace
from nasnb.trial import Trial

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

SPACE = CellSpace()
SCALE = np.array([0.02, 0.04, 0.06, 0.08, 0.16, 0.11])  # std of each edge's effects: 1->3 matters most


def planted_population(seed, n=300, noise=0.02):
    """Random cells scored by 0.5 + sum of per-edge op effects + noise; returns trials and the true effects.

    Each edge's effects are centred and scaled to standard deviation SCALE[edge], so the true
    option effects (relative to the edge's average option) and the true decision ranking are known.
    """
    rng = np.random.default_rng(seed)
    effects = rng.normal(size=(len(EDGES), len(OPS)))
    effects -= effects.mean(axis=1, keepdims=True)
    effects *= (SCALE / effects.std(axis=1))[:, None]
    trials = []
    for i in range(n):
        arch = SPACE.sample(rng)
        score = 0.5 + sum(effects[k, OPS.index(arch[e])] for k, e in enumerate(EDGES)) + rng.normal() * noise
        trials.append(Trial(i, i, str(arch), {"kind": "random"}, {"accuracy": float(score)}))
    return trials, effects


def _true(result, effects):
    return np.array(
        [effects[EDGES.index(d), OPS.index(o)] for d, o in zip(result.options["decision"], result.options["option"])]
    )


def test_marginal_recovers_planted_effects_and_covers_them():
    rank_agreement, covered, total = [], 0, 0
    for seed in range(4):
        trials, effects = planted_population(seed)
        result = op_importance(trials, SPACE, n_bootstrap=200, seed=seed)
        truth = _true(result, effects)
        rank_agreement.append(spearman(result.options["effect"], truth))
        inside = (result.options["low"] <= truth) & (truth <= result.options["high"])
        covered += int(inside.sum())
        total += len(truth)
        assert result.ranking()[0] == "1->3"
        assert spearman(result.decisions.set_index("decision").loc[list(EDGES), "importance"], SCALE) >= 0.9
    assert np.mean(rank_agreement) >= 0.9 and min(rank_agreement) >= 0.8, rank_agreement
    assert covered / total >= 0.85, covered / total


def test_marginal_importance_of_an_irrelevant_edge_is_near_zero():
    trials, effects = planted_population(0)
    result = op_importance(trials, SPACE, n_bootstrap=100)
    row = result.decisions.set_index("decision").loc["0->1"]
    assert row["importance"] < 0.03 and row["low"] <= SCALE[0] <= row["high"] + 0.01
    assert result.effect("1->3", "conv_3x3") == pytest.approx(effects[4, 3], abs=0.03)


def test_forest_ranks_the_important_edge_first():
    trials, effects = planted_population(1)
    result = op_importance(trials, SPACE, estimator="forest", n_bootstrap=8)
    assert result.ranking()[0] == "1->3"
    assert spearman(result.decisions.set_index("decision").loc[list(EDGES), "importance"], SCALE) >= 0.8
    assert spearman(result.options["effect"], _true(result, effects)) >= 0.8
    assert result.estimator == "forest" and result.n_trials == 300


def test_compare_estimators_side_by_side():
    trials, _ = planted_population(2, n=150)
    both = compare_estimators(trials, SPACE, n_bootstrap=5)
    assert list(both.decisions.columns) == ["decision", "marginal", "forest", "marginal_rank", "forest_rank"]
    assert len(both.options) == len(EDGES) * len(OPS)
    assert both.decision_spearman >= 0.7 and both.option_spearman >= 0.7
    assert both.decisions["decision"].iloc[0] == "1->3"


def test_failed_trials_are_excluded_and_counted():
    trials, _ = planted_population(3, n=60)
    broken = [
        Trial(60, 60, trials[0].arch, {}, {}, status="failed", error="boom"),
        Trial(61, 61, trials[1].arch, {}, {"accuracy": float("nan")}),
    ]
    result = op_importance(trials + broken, SPACE, n_bootstrap=20)
    assert result.n_trials == 60 and result.n_failed == 2
    assert result.options["n"].groupby(result.options["decision"]).sum().eq(60).all()


def test_tracker_matches_batch_and_caches():
    trials, _ = planted_population(4, n=80)
    tracker = ImportanceTracker(SPACE, n_bootstrap=50, seed=3)
    for t in trials[:40]:
        tracker.update(t)
    first = tracker.result()
    assert tracker.result() is first  # cached until the next update
    tracker.extend(trials[40:])
    again = tracker.result()
    assert again is not first and again.n_trials == 80
    batch = op_importance(trials, SPACE, n_bootstrap=50, seed=3)
    assert np.allclose(again.options["effect"], batch.options["effect"], equal_nan=True)
    assert np.allclose(again.options["low"], batch.options["low"], equal_nan=True)


def test_tracker_follows_a_live_search(planted):
    tracker = ImportanceTracker(SPACE, n_bootstrap=20)
    search = Search(SPACE, "random", planted, budget=25, seed=0)
    search.on("trial_finished", tracker.update)
    search.run()
    assert len(tracker) == 25 and tracker.result().n_trials == 25
    assert set(tracker.result().decisions["decision"]) == set(EDGES)


def test_conditional_decisions_use_only_the_trials_where_they_occur():
    space = ChainSpace(
        layer_types=("fc",),
        max_layers=3,
        widths=(8, 32),
        activations=("relu", "tanh"),
        batchnorm=(False,),
        dropouts=(0.0,),
    )
    rng = np.random.default_rng(0)
    trials = []
    for i in range(240):
        arch = space.sample(rng)
        score = 0.6 + (0.1 if arch.get("L3.width") == 32 else 0.0) + 0.02 * rng.normal()
        trials.append(Trial(i, i, str(arch), {}, {"accuracy": score}))
    result = op_importance(trials, space, n_bootstrap=100)
    deep = sum(space.parse(t.arch)["depth"] == 3 for t in trials)
    row = result.decisions.set_index("decision").loc["L3.width"]
    assert row["n"] == deep and row["active"] == pytest.approx(deep / 240)
    assert result.effect("L3.width", 32) == pytest.approx(0.05, abs=0.015)
    assert result.ranking()[0] == "L3.width"
    # the deeper chains score higher on average, yet L1.width (present everywhere) is rightly unimportant
    assert abs(result.effect("L1.width", 32)) < 0.03


def test_zero_trials_give_empty_frames():
    result = op_importance([], SPACE)
    assert result.options.empty and result.decisions.empty and result.n_trials == 0
    assert list(result.options.columns) == ["decision", "option", "effect", "low", "high", "n"]
    assert result.ranking() == []


_metrics = st.one_of(
    st.just({}),
    st.just({"accuracy": float("nan")}),
    st.builds(lambda v: {"accuracy": v}, st.floats(0, 1)),
)


@given(
    cells=st.lists(
        st.tuples(st.lists(st.sampled_from(OPS), min_size=6, max_size=6), st.booleans(), _metrics), max_size=5
    ),
    estimator=st.sampled_from(["marginal", "forest"]),
)
def test_importance_never_fails_on_tiny_populations(cells, estimator):
    trials = [
        Trial(
            i,
            i,
            str(SPACE.validate(dict(zip(EDGES, ops)))),
            {},
            metrics,
            status="ok" if ok else "failed",
            error=None if ok else "boom",
        )
        for i, (ops, ok, metrics) in enumerate(cells)
    ]
    result = op_importance(trials, SPACE, estimator=estimator, n_bootstrap=4)
    usable = sum(t.score() is not None for t in trials)
    assert result.n_trials == usable and result.n_failed == len(trials) - usable
    if usable == 0:
        assert result.options.empty and result.decisions.empty
    else:
        assert set(result.decisions["decision"]) == set(EDGES)
        finite = result.options["effect"].dropna()
        assert np.isfinite(finite).all()
        single = result.options[result.options["n"] < 2]
        assert single["low"].isna().all() and single["high"].isna().all()


def test_parameters_are_checked_by_name():
    with pytest.raises(ValueError, match="estimator must be one of"):
        op_importance([], SPACE, estimator="shap")
    with pytest.raises(ValueError, match="confidence"):
        op_importance([], SPACE, confidence=95)
    with pytest.raises(ValueError, match="n_bootstrap"):
        op_importance([], SPACE, n_bootstrap=-1)
    with pytest.raises(TypeError, match="space is required"):
        op_importance([])
    with pytest.raises(ValueError, match="not an architecture"):
        op_importance([Trial(0, 0, "conv3x3-16-relu", {}, {"accuracy": 0.5})], SPACE)


def test_plots_draw_the_frames():
    trials, _ = planted_population(5, n=60)
    result = op_importance(trials, SPACE, n_bootstrap=20)
    grid = importance_matrix(result)
    rows, columns, effect = grid.decisions, grid.options, grid.effect
    assert rows == result.ranking() and set(columns) == set(OPS) and effect.shape == (6, 5)
    assert np.all(grid.low[np.isfinite(grid.low)] <= grid.high[np.isfinite(grid.low)])
    ax = plot_importance(result)
    drawn = ax.images[0].get_array()
    assert drawn.shape == effect.shape and np.array_equal(drawn.mask, ~np.isfinite(effect))
    assert np.allclose(drawn.compressed(), effect[np.isfinite(effect)])  # the cells are the effects, row by row
    assert [t.get_text().split()[0] for t in ax.get_yticklabels()] == rows
    assert [t.get_text() for t in ax.get_xticklabels()] == list(columns)
    bars = plot_decision_importance(result)
    widths = [p.get_width() for p in bars.patches]
    assert widths == pytest.approx(list(np.nan_to_num(result.decisions["importance"].to_numpy(dtype=float))))
    assert bars.patches[0].get_y() > bars.patches[-1].get_y()  # the most important decision on top
    empty = plot_importance(op_importance([], SPACE))
    assert [t.get_text() for t in empty.texts] == ["no successful trials yet"] and not empty.images
    for axes in (ax, bars, empty):
        plt.close(axes.figure)
    assert math.isnan(spearman([1, 2], [1, 2]))
