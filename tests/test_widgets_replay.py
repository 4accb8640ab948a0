"""A replay at step k shows exactly what a fresh computation on the run's first k trials gives.

The explorer reads prefix columns, restores importance from checkpoints and replays populations
in the background; none of that may change what is drawn at any step, in any order of moves.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from nasnb import CellSpace, Search, load_run  # noqa: E402
from nasnb.explain import lineage_graph, op_importance, path_to_best  # noqa: E402
from nasnb.strategies import EvolutionStrategy  # noqa: E402
from nasnb.widgets import Explorer, ReplayCursor  # noqa: E402
from nasnb.widgets.replay import ReplayImportance  # noqa: E402
from nasnb.widgets.views import lineage_data, pareto_data, population_data, progress_data  # noqa: E402

TRIALS = 48
OPS = {"conv_3x3": 1.0, "conv_1x1": 0.6, "skip_connect": 0.3}


def sized(arch):
    """A planted objective with a size; cells with avg_pool on 0->1 fail."""
    if arch["0->1"] == "avg_pool_3x3":
        raise RuntimeError("planted failure")
    score = sum(OPS.get(op, 0.0) for op in arch.values())
    return {"accuracy": score / 6.0, "params": 1000 + int(200 * score)}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("replay")
    strategy = EvolutionStrategy(population_size=6, tournament_size=3, crossover_rate=0.3)
    Search(CellSpace(), strategy, sized, budget=TRIALS, seed=5, run_dir=run_dir).run()
    return load_run(run_dir)


@pytest.fixture(scope="module")
def explorer(run):
    ex = Explorer.from_run(run.path)
    ex.throttle.close()  # each show_step redraws in this thread
    yield ex
    ex.close()


def same(a, b):
    return np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)


def same_segments(a, b):
    """The same line segments, in any order (a graph lists links by parent, the columns by child)."""
    return sorted(map(tuple, np.asarray(a).tolist())) == sorted(map(tuple, np.asarray(b).tolist()))


@settings(max_examples=12)
@given(steps=st.lists(st.integers(0, TRIALS), min_size=1, max_size=4))
def test_every_view_at_step_k_equals_a_fresh_computation(run, explorer, steps):
    for step in steps:  # forwards and backwards, as a slider is dragged
        explorer.show_step(step)
        trials = run.trials[:step]
        views = explorer.views
        population = run.strategy_at(step).population_ids()
        assert views.population.population_ids == population
        fresh = population_data(trials, x=views.population.x_metric.value, population=population)
        shown = views.population.data
        assert shown.ids == fresh.ids and same(shown.x, fresh.x) and same(shown.y, fresh.y)
        assert shown.current_ids == fresh.current_ids and shown.failed_ids == fresh.failed_ids
        progress = progress_data(trials)
        assert same(views.progress.data.best, progress.best)
        assert same(views.progress.data.best_steps, progress.best_steps)
        front = pareto_data(trials, cost="params")
        assert views.pareto.data.front_ids.tolist() == front.front_ids.tolist()
        path = [t.id for t in path_to_best(trials)]
        lineage = lineage_data(lineage_graph(trials), path)
        assert views.lineage.data.ids == lineage.ids and same(views.lineage.data.y, lineage.y)
        shown = views.lineage.data
        assert same(shown.path_x, lineage.path_x) and same(shown.path_y, lineage.path_y)
        assert same_segments(np.hstack([shown.edge_x, shown.edge_y]), np.hstack([lineage.edge_x, lineage.edge_y]))
        assert f"step {step} / {TRIALS}" in explorer.status.value


@settings(max_examples=10)
@given(steps=st.lists(st.integers(0, TRIALS), min_size=1, max_size=5))
def test_importance_restored_from_checkpoints_equals_a_fresh_computation(run, steps):
    replay = ReplayImportance(run, run.metric, every=8)  # many checkpoints in a short run
    for step in steps:
        got = replay.at(step)
        fresh = op_importance(run.trials[:step], run.space)
        assert (got.n_trials, got.n_failed) == (fresh.n_trials, fresh.n_failed)
        for column in ("effect", "low", "high", "n"):
            a, b = (r.options[column].to_numpy(dtype=float) for r in (got, fresh))
            assert np.allclose(a, b, equal_nan=True), (step, column)
    replay.close()


def test_the_last_step_is_ringed_from_the_checkpoint_before_the_replay_reaches_it(run):
    cursor = ReplayCursor(run)
    assert cursor._final == run.strategy_at(TRIALS).population_ids()
    assert cursor.population_at(TRIALS, wait=False) == cursor._final
    assert cursor.population_at(TRIALS // 2) == run.strategy_at(TRIALS // 2).population_ids()
    assert cursor.ready_seconds() is not None or cursor.known > TRIALS // 2
    cursor.close()
