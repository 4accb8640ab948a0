"""One data function per picture, pinned by hand-computed examples: Pareto front, lineage layout,
importance grid, best so far / regret, and the prefix columns every explorer view is drawn from."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nasnb import CellSpace
from nasnb.explain import (
    ImportanceTracker,
    TrialColumns,
    best_so_far,
    importance_grid,
    lineage_graph,
    lineage_layout,
    op_importance,
    pareto_data,
    pareto_front_2d,
    path_to_best,
    regret_band,
    regret_plot_data,
)
from nasnb.explain._estimators import MarginalSums
from nasnb.strategies.objectives import pareto_front
from nasnb.trial import Trial

SPACE = CellSpace()


def trial(i, accuracy=None, params=None, kind="init", parents=(), error=None):
    metrics = {} if accuracy is None else {"accuracy": accuracy, **({"params": params} if params is not None else {})}
    decision = {"kind": kind, **({"parents": list(parents), "change": {"decision": "0->1"}} if parents else {})}
    return Trial(i, i, f"a{i}", decision, metrics, status="failed" if error else "ok", error=error)


# -- Pareto front -------------------------------------------------------------------------------
def test_pareto_front_of_four_points_by_hand():
    # (accuracy, params): 0 (0.9, 400), 1 (0.7, 100), 2 (0.6, 50), 3 (0.5, 300): 3 is beaten by 1
    score, cost = [0.9, 0.7, 0.6, 0.5], [400, 100, 50, 300]
    assert pareto_front_2d(score, cost).tolist() == [2, 1, 0]  # cheapest first
    # an equal twin of a front point is on the front too; a NaN point never is
    assert pareto_front_2d([0.7, 0.7, 0.6, np.nan], [100, 100, 300, 1]).tolist() == [0, 1]
    # same cost, lower score: dominated; same score, higher cost: dominated
    assert pareto_front_2d([0.7, 0.6, 0.7], [100, 100, 200]).tolist() == [0]
    assert pareto_front_2d([], []).tolist() == []
    with pytest.raises(ValueError, match="one value per point"):
        pareto_front_2d([1.0], [1.0, 2.0])


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=25))
def test_sort_and_sweep_finds_the_same_front_as_the_pairwise_sort(points):
    score = [float(s) for s, _ in points]
    cost = [float(c) for _, c in points]
    pairwise = pareto_front(np.column_stack([score, cost]) if points else np.zeros((0, 2)), ["max", "min"])
    assert sorted(pareto_front_2d(score, cost).tolist()) == sorted(pairwise)


def test_pareto_data_from_trials_skips_failures_and_missing_costs():
    trials = [trial(0, 0.9, 400), trial(1, 0.7, 100), trial(2, error="boom"), trial(3, 0.6, 50), trial(4, 0.5)]
    data = pareto_data(trials, cost="params")
    assert data.ids.tolist() == [0, 1, 3] and data.front_ids.tolist() == [3, 1, 0]
    assert data.front_x.tolist() == [50, 100, 400] and data.front_y.tolist() == [0.6, 0.7, 0.9]
    assert pareto_data(trials, cost="macs").ids.tolist() == []


# -- lineage layout -----------------------------------------------------------------------------
THREE = [trial(0, 0.5), trial(1, 0.7, kind="mutation", parents=[0]), trial(2, error="x", kind="mutation", parents=[0])]


def test_lineage_layout_of_three_trials_by_hand():
    layout = lineage_layout(THREE)
    assert layout.ids.tolist() == [0, 1, 2] and layout.x.tolist() == [0, 1, 2]
    # the failure sits 5 % of the score range below the lowest score: 0.5 - 0.05 * 0.2
    assert layout.floor == pytest.approx(0.49) and layout.y.tolist() == pytest.approx([0.5, 0.7, 0.49])
    assert layout.failed.tolist() == [False, False, True] and layout.scored.tolist() == [True, True, False]
    assert layout.edges.tolist() == [[0, 1], [0, 2]]
    assert [layout.kind_names[k] for k in layout.edge_kinds] == ["mutation", "mutation"]
    assert layout.path.tolist() == [0, 1] and layout.path_edges.tolist() == [[0, 1]]
    seg_x, seg_y = layout.segments(layout.path_edges)
    assert seg_x.tolist() == [[0, 1]] and seg_y[0].tolist() == pytest.approx([0.5, 0.7])
    assert layout.edge_labels[0] == "0->1: None→None"


def test_lineage_layout_is_the_same_from_a_graph_and_from_trials():
    path = [t.id for t in path_to_best(THREE)]
    from_graph = lineage_layout(lineage_graph(THREE), path)
    from_trials = lineage_layout(THREE)
    for name in ("ids", "x", "y", "edges", "path", "path_edges"):
        assert getattr(from_graph, name).tolist() == getattr(from_trials, name).tolist(), name
    assert lineage_layout([]).edges.shape == (0, 2) and lineage_layout([]).floor == 0.0


# -- importance grid ----------------------------------------------------------------------------
def grid_source():
    options = pd.DataFrame(
        [
            {"decision": "0->1", "option": "none", "effect": -0.2, "low": -0.3, "high": -0.1, "n": 4},
            {"decision": "0->1", "option": "conv_3x3", "effect": 0.2, "low": 0.1, "high": 0.3, "n": 4},
            {"decision": "2->3", "option": "skip_connect", "effect": 0.05, "low": np.nan, "high": np.nan, "n": 1},
            {"decision": "2->3", "option": "none", "effect": np.nan, "low": np.nan, "high": np.nan, "n": 0},
        ]
    )
    decisions = pd.DataFrame({"decision": ["2->3", "0->1"]})  # 2->3 ranked first
    return SimpleNamespace(options=options, decisions=decisions)


def test_importance_grid_by_hand_in_ranking_and_in_space_order():
    ranked = importance_grid(grid_source())
    assert ranked.decisions == ["2->3", "0->1"] and ranked.options == ["none", "conv_3x3", "skip_connect"]
    assert ranked.effect[1].tolist()[:2] == [-0.2, 0.2] and ranked.count[0].tolist() == [0, 0, 1]
    assert ranked.describe(1, 1) == "0->1 = conv_3x3: effect +0.2000 [+0.1000, +0.3000], n = 4"
    assert ranked.describe(0, 2) == "2->3 = skip_connect: effect +0.0500 [?, ?], n = 1"
    assert ranked.describe(0, 0) == "2->3 = none: not tried yet"
    spaced = importance_grid(grid_source(), SPACE)
    assert spaced.decisions == ["0->1", "2->3"] and spaced.options == list(SPACE.choices["0->1"])
    j = spaced.options.index("conv_3x3")
    assert spaced.effect[0, j] == 0.2 and np.isnan(spaced.effect[1, j]) and spaced.count[1, j] == 0


# -- best so far and regret ---------------------------------------------------------------------
def test_best_so_far_by_hand():
    nan = np.nan
    assert best_so_far([nan, 0.3, 0.2, 0.5, nan]).tolist() == pytest.approx([nan, 0.3, 0.3, 0.5, 0.5], nan_ok=True)
    assert best_so_far([0.2, 0.1], initial=0.4).tolist() == [0.4, 0.4]  # continues a curve
    rows = best_so_far([[0.1, 0.3, 0.2], [nan, -np.inf, 0.4]], axis=1)
    np.testing.assert_allclose(rows, [[0.1, 0.3, 0.3], [nan, nan, 0.4]])


def test_regret_curve_and_its_log_floor_by_hand():
    curve = regret_band([[0.4, 0.2], [0.2, 0.0]])
    assert curve.mean.tolist() == pytest.approx([0.3, 0.1]) and curve.evaluations.tolist() == [1, 2]
    half = 12.706204736 * math.sqrt(0.02) / math.sqrt(2)  # t(0.975, 1) * sd / sqrt(n), sd = 0.1414
    assert curve.upper[0] == pytest.approx(0.3 + half)
    plot = regret_plot_data({"a": curve}, log=True)
    positive = [v for v in np.concatenate([curve.mean, curve.lower, curve.upper]) if v > 0]
    assert plot.floor == pytest.approx(min(positive) / 10)
    assert (plot.curves["a"].lower >= plot.floor).all() and regret_plot_data({"a": curve}).floor is None


# -- prefix columns: the state at step k is the state of the first k trials ---------------------
def evolution_like(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        if rng.random() < 0.15:
            out.append(trial(i, error="boom", kind="mutation", parents=[int(rng.integers(i))] if i else ()))
        elif i < 3:
            out.append(trial(i, float(rng.random()), int(rng.integers(100, 900))))
        else:
            parents = [int(p) for p in rng.integers(i, size=1 + int(rng.random() < 0.3))]
            kind = "crossover" if len(parents) == 2 else "mutation"
            out.append(trial(i, float(rng.random()), int(rng.integers(100, 900)), kind=kind, parents=parents))
    return out


def same_columns(a, b):
    for name in ("ids", "steps", "scores", "failed", "first_parent", "best", "best_at", "low", "high"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    assert np.array_equal(a.edge_parent, b.edge_parent) and np.array_equal(a.edge_child, b.edge_child)
    assert [a.kind_names[k] for k in a.kinds] == [b.kind_names[k] for k in b.kinds]
    for name in a.costs:
        assert np.array_equal(a.costs[name], b.costs[name], equal_nan=True)
        assert np.array_equal(a.cost_missing[name], b.cost_missing[name])


@given(n=st.integers(0, 40), seed=st.integers(0, 10_000), cuts=st.lists(st.integers(0, 40), max_size=5))
def test_columns_grown_in_chunks_read_at_step_k_equal_fresh_columns_of_k_trials(n, seed, cuts):
    trials = evolution_like(n, seed)
    grown = TrialColumns()
    bounds = sorted({min(c, n) for c in cuts} | {n})
    start = 0
    for stop in bounds:
        grown.extend(trials[start:stop])
        start = stop
    for k in sorted({0, n // 2, n} | {min(c, n) for c in cuts}):
        fresh = TrialColumns.of(trials[:k])
        same_columns(grown.view(k), fresh)
        best = fresh.best_position()
        scored = [t for t in trials[:k] if t.score() is not None]
        expected = max(scored, key=lambda t: (t.score(), -t.id)).id if scored else None
        assert (None if best is None else int(fresh.ids[best])) == expected
        assert [int(fresh.ids[p]) for p in fresh.path_to_best()] == [t.id for t in path_to_best(trials[:k])]


def test_columns_by_hand():
    columns = TrialColumns.of([trial(0, 0.5, 300), trial(1, error="x"), trial(2, 0.5, 100), trial(3, 0.8)])
    assert columns.best.tolist() == [0.5, 0.5, 0.5, 0.8] and columns.best_at.tolist() == [0, 0, 0, 3]
    assert columns.cost_missing["params"].tolist() == [0, 0, 0, 1] and columns.cost_choices() == []
    assert TrialColumns.of([trial(0, 0.5, 300), trial(1, error="x")]).cost_choices() == ["params"]
    assert columns.position(2) == 2 and columns.position(7) is None and TrialColumns().view().best_position() is None


# -- incremental importance ---------------------------------------------------------------------
def cells(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        arch = SPACE.sample(rng)
        score = sum(op == "conv_3x3" for op in arch.values()) / 6 + 0.05 * rng.random()
        out.append(Trial(i, i, str(arch), {}, {"accuracy": score} if rng.random() > 0.1 else {}, status="ok"))
    return out


def test_running_sums_added_in_pieces_equal_sums_added_at_once():
    rng = np.random.default_rng(0)
    codes = rng.integers(-1, 5, size=(700, 6))
    y = rng.random(700)
    whole = MarginalSums([5] * 6, 30, seed=4).add(codes, y)
    pieces = MarginalSums([5] * 6, 30, seed=4)
    for a, b in [(0, 1), (1, 300), (300, 301), (301, 700)]:  # across the 256-trial weight blocks
        pieces.add(codes[a:b], y[a:b])
    assert np.allclose(whole.point, pieces.point) and np.allclose(whole.boot, pieces.boot)
    assert whole.point[0, :5].tolist() == np.bincount(codes[:, 0][codes[:, 0] >= 0], minlength=5).tolist()


def test_tracker_restored_from_a_checkpoint_equals_a_fresh_one():
    trials = cells(90, 1)
    tracker = ImportanceTracker(SPACE, n_bootstrap=40, seed=2).extend(trials[:30])
    state = tracker.checkpoint()
    tracker.extend(trials[30:])
    tracker.restore(state, trials[30:60])
    fresh = op_importance(trials[:60], SPACE, n_bootstrap=40, seed=2)
    got = tracker.result()
    assert got.n_trials == fresh.n_trials and got.n_failed == fresh.n_failed
    for column in ("effect", "low", "high", "n"):
        assert np.allclose(got.options[column], fresh.options[column], equal_nan=True), column
