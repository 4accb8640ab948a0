"""The explorer's plot data (pure functions), its throttle and its replay cache, without any browser."""

import threading
import time
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from nasnb import CellSpace, Search, get_space, load_run  # noqa: E402
from nasnb.strategies import EvolutionStrategy  # noqa: E402
from nasnb.trial import Trial  # noqa: E402
from nasnb.widgets import ReplayCursor, Throttle  # noqa: E402
from nasnb.widgets.controls import parse_param  # noqa: E402
from nasnb.widgets.text import escaped, number, shorten  # noqa: E402
from nasnb.widgets.views import (  # noqa: E402
    architecture_drawing,
    importance_data,
    learning_curve,
    lineage_data,
    metric_rows,
    pareto_data,
    population_data,
    progress_data,
    x_choices,
)

HOSTILE = "<img src=x onerror=alert(1)>"


def trial(i, accuracy=None, params=None, error=None, **extra):
    metrics = {} if accuracy is None else {"accuracy": accuracy, **({"params": params} if params else {}), **extra}
    return Trial(
        id=i,
        step=i,
        arch=f"a{i}",
        decision={"kind": "init"},
        metrics=metrics,
        status="failed" if error else "ok",
        error=error,
    )


TRIALS = [
    trial(0, 0.5, 300),
    trial(1, 0.7, 100),
    trial(2, error="RuntimeError: boom"),
    trial(3, 0.6, 50),
    trial(4, 0.9, 400),
]


def test_population_data_places_failures_on_the_floor_and_rings_the_population():
    data = population_data(TRIALS, x="params", population=[1, 4])
    assert data.ids == [0, 1, 3, 4]
    assert list(data.x) == [300, 100, 50, 400] and list(data.y) == [0.5, 0.7, 0.6, 0.9]
    assert data.current_ids == [1, 4] and list(data.current_x) == [100, 400]
    assert data.failed_ids == [2] and list(data.failed_y) == [0.0] and list(data.failed_x) == [50]
    by_step = population_data(TRIALS, x="step")
    assert list(by_step.x) == [0, 1, 3, 4] and list(by_step.failed_x) == [2]
    assert population_data([], x="params").x.shape == (0,)


def test_x_choices_offers_only_metrics_every_successful_trial_reports():
    assert x_choices(TRIALS) == ["params", "step"]
    assert x_choices(TRIALS + [trial(5, 0.1)]) == ["step"]
    assert x_choices([]) == ["step"]


def test_progress_is_a_running_best_that_failures_never_raise():
    data = progress_data(TRIALS)
    assert list(data.best_steps) == [0, 1, 2, 3, 4]
    assert list(data.best) == [0.5, 0.7, 0.7, 0.7, 0.9]
    assert list(data.failed_steps) == [2] and data.ids == [0, 1, 3, 4]
    late = progress_data([trial(0, error="x"), trial(1, 0.3)])
    assert list(late.best_steps) == [1] and list(late.failed_steps) == [0]


def test_pareto_front_keeps_trials_no_other_beats_on_both():
    data = pareto_data(TRIALS, cost="params")
    # (acc, params): 0:(0.5,300) 1:(0.7,100) 3:(0.6,50) 4:(0.9,400); 0 is beaten by 1
    assert list(data.front_ids) == [3, 1, 4]
    assert list(data.front_x) == [50, 100, 400]
    assert len(pareto_data(TRIALS, cost="macs").ids) == 0


def test_importance_grid_follows_the_space_and_describes_each_cell():
    space = CellSpace()
    options = pd.DataFrame(
        [
            {"decision": "0->1", "option": "conv_3x3", "effect": 0.12, "low": 0.05, "high": 0.19, "n": 14},
            {"decision": "0->1", "option": "none", "effect": -0.2, "low": float("nan"), "high": float("nan"), "n": 1},
            {
                "decision": "2->3",
                "option": "skip_connect",
                "effect": float("nan"),
                "low": float("nan"),
                "high": float("nan"),
                "n": 0,
            },
        ]
    )
    data = importance_data(SimpleNamespace(options=options), space)
    assert data.decisions == ["0->1", "2->3"]
    assert data.options == list(space.choices["0->1"])
    j = data.options.index("conv_3x3")
    assert data.effect[0, j] == pytest.approx(0.12)
    assert np.isnan(data.effect[1, data.options.index("skip_connect")])
    assert data.text[0][j] == "0->1 = conv_3x3: effect +0.1200 [+0.0500, +0.1900], n = 14"
    assert "?" in data.text[0][data.options.index("none")]


def test_lineage_layout_is_step_by_score_with_the_path_highlighted():
    graph = nx.DiGraph()
    for i, (score, kind, status) in enumerate(
        [(0.5, "init", "ok"), (0.7, "mutation", "ok"), (None, "mutation", "failed"), (0.9, "mutation", "ok")]
    ):
        graph.add_node(i, step=i, score=score, kind=kind, status=status)
    graph.add_edges_from([(0, 1), (0, 2), (1, 3)])
    data = lineage_data(graph, path=[0, 1, 3])
    assert data.ids == [0, 1, 2, 3] and list(data.x) == [0, 1, 2, 3]
    assert data.y[2] < 0.5  # the failure sits just below the lowest score
    assert data.edge_x.shape == (3, 2) and data.path_x.shape == (2, 2)
    assert data.colours[2] != data.colours[1]
    assert lineage_data(nx.DiGraph()).edge_x.shape == (0, 2)


def test_architecture_drawing_of_a_cell_and_a_chain():
    space = CellSpace()
    arch = space.parse(str(space.sample(3)))
    cell = architecture_drawing(arch, show_none=True)
    assert cell.edge_x.shape == (6, 16) and len(cell.labels) == 6 and len(cell.node_labels) == 4
    assert cell.edge_x[0, 0] != cell.edge_x[0, -1]
    chain = architecture_drawing(get_space("chain").sample(0))
    assert len(chain.node_labels) >= 2 and all("\n" not in label for label in chain.node_labels)
    with pytest.raises(TypeError):
        architecture_drawing(get_space("hyper").sample(0))


def test_metric_rows_and_learning_curve():
    t = Trial(
        id=0,
        step=0,
        arch="a",
        decision={},
        metrics={"accuracy": 0.93, "params": 12345, "curves": {"val_accuracy": [0.5, 0.8, 0.93]}},
        seconds=1.23456,
    )
    rows = dict(metric_rows(t))
    assert list(dict(metric_rows(t)))[0] == "accuracy" and rows["params"] == "12,345" and rows["seconds"] == "1.235"
    epochs, values = learning_curve(t)
    assert list(epochs) == [1, 2, 3] and list(values) == [0.5, 0.8, 0.93]
    assert learning_curve(trial(1, 0.5)) is None


def test_text_helpers_escape_and_shorten():
    assert "<img" not in escaped(HOSTILE) and "&lt;img" in escaped(HOSTILE, tone="error", pre=True)
    assert shorten("a\nb " * 100, 20).endswith("…") and len(shorten("x" * 500, 20)) == 20
    assert number(0.93441) == "0.9344" and number(12345) == "12,345" and number("n/a") == "n/a"


def test_parse_param_reads_literals_and_names_the_bad_one():
    assert parse_param("n", "None", None) is None
    assert parse_param("objectives", "{'accuracy': 'max', 'params': 'min'}", None) == {
        "accuracy": "max",
        "params": "min",
    }
    assert parse_param("metric", "accuracy", "accuracy") == "accuracy"
    with pytest.raises(ValueError, match="'n'.*Python literal"):
        parse_param("n", "five", None)


def test_throttle_coalesces_a_burst_into_few_redraws_and_always_draws_the_last():
    seen = []
    throttle = Throttle(lambda: seen.append(time.monotonic()), interval=0.1)
    t0 = time.monotonic()
    for _ in range(2000):
        throttle.request()
    while time.monotonic() - t0 < 0.35:
        throttle.request()
        time.sleep(0.001)
    time.sleep(0.25)
    throttle.close()
    assert throttle.requests > 200
    assert 2 <= throttle.calls <= 6, throttle.calls
    gaps = np.diff(seen)
    assert (gaps >= 0.09).all()
    assert seen[-1] >= t0 + 0.3  # a redraw followed the last request


def test_throttle_survives_a_failing_redraw_and_reports_it():
    errors, calls = [], []

    def redraw():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("view broke")

    throttle = Throttle(redraw, interval=0.01, on_error=errors.append)
    throttle.request()
    time.sleep(0.1)
    throttle.request()
    time.sleep(0.1)
    throttle.close()
    assert len(calls) == 2 and len(errors) == 1 and "view broke" in str(errors[0])


def test_throttle_request_never_waits_for_a_slow_redraw():
    started, release = threading.Event(), threading.Event()
    finished = []

    def slow():
        started.set()
        release.wait(30)  # the redraw cannot end until the test lets it
        finished.append(1)

    throttle = Throttle(slow, interval=0.0)
    throttle.request()
    assert started.wait(30)
    throttle.request()  # returns while the redraw is still blocked: it never waits for it
    assert finished == [] and throttle.requests == 2
    release.set()
    throttle.close()


def test_replay_cursor_matches_strategy_at_every_step(tmp_path, planted):
    Search(
        CellSpace(),
        EvolutionStrategy(population_size=4, tournament_size=2),
        planted,
        budget=15,
        seed=1,
        run_dir=tmp_path,
    ).run()
    run = load_run(tmp_path)
    cursor = ReplayCursor(run)
    for step in [3, 9, 15, 0, 7]:  # forwards, then back into the cache
        assert cursor.population_at(step) == run.strategy_at(step).population_ids()
    assert cursor.error == ""


def test_replay_cursor_says_why_a_strategy_without_population_has_none(tmp_path, planted):
    Search(CellSpace(), "random", planted, budget=3, seed=0, run_dir=tmp_path).run()
    cursor = ReplayCursor(load_run(tmp_path))
    assert cursor.population_at(2) is None and "keeps no population" in cursor.error


# -- axis ranges: never a zero-width domain (bqplot freezes on one) --------------------------------
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nasnb.widgets.views.common import nice_ticks, tick_format  # noqa: E402
from nasnb.widgets.views.importance import _nan_as_null  # noqa: E402


def test_nice_ticks_by_hand():
    assert nice_ticks([0.32, 0.7]) == (0.3, 0.7, [0.3, 0.4, 0.5, 0.6, 0.7])
    assert nice_ticks([0, 29], integer=True) == (0, 30, [0, 10, 20, 30])
    # one value: a band around it, never zero width
    assert nice_ticks([0.5])[0] < 0.5 < nice_ticks([0.5])[1]
    assert nice_ticks([3], integer=True)[:2] == (2, 4)
    assert nice_ticks([]) == (0.0, 1.0, [0.0, 0.25, 0.5, 0.75, 1.0])
    assert nice_ticks([float("nan"), 2.0, float("inf")], integer=True)[:2] == (1, 3)
    assert nice_ticks([3.620065899972538e-08, -101.0]) == (-150.0, 50.0, [-150.0, -100.0, -50.0, 0.0, 50.0])
    ticks = nice_ticks([1.192092896e-07, -400001.0])  # a value just above a tick is still covered
    assert ticks.low <= -400001.0 and ticks.high >= 1.192092896e-07
    assert tick_format([0.3, 0.4, 0.5]) == ".1f"
    assert tick_format([0.0, 0.25, 0.5]) == ".2f"
    assert tick_format([0, 1000, 2000]) == "d"
    assert tick_format([0, 25000, 50000]) == "~s"


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=30), st.booleans())
def test_nice_ticks_cover_the_data_with_a_positive_width(values, integer):
    if integer:
        values = [round(v) for v in values]
    low, high, ticks = nice_ticks(values, integer=integer)
    assert low < high
    assert ticks[0] == low and ticks[-1] == high and ticks == sorted(ticks)
    assert 2 <= len(ticks) <= 7
    assert all(low - 1e-9 * max(1, abs(low)) <= v <= high + 1e-9 * max(1, abs(high)) for v in values)


def test_untried_importance_cells_go_to_the_browser_as_null():
    grid = np.array([[0.1, np.nan], [np.nan, -0.2]])
    assert _nan_as_null(grid) == [[0.1, None], [None, -0.2]]
    assert _nan_as_null(None) is None


def test_every_scale_has_a_positive_range_after_one_trial():
    """The frozen-chart bug's root: one trial gives every data-driven scale a zero-width domain."""
    import bqplot as bq

    from nasnb.widgets import Explorer

    explorer = Explorer(
        space="cell", strategy="random", evaluator=lambda arch: {"accuracy": 0.5, "params": 7}, budget=5
    )
    explorer.step(wait=True)
    assert len(explorer.search.trials) == 1
    views = explorer.views
    figures = [views.population.figure, views.progress.figure, views.pareto.figure, views.lineage.figure]
    for figure in figures:
        for mark in figure.marks:
            for name, scale in mark.scales.items():
                if isinstance(scale, (bq.LinearScale, bq.ColorScale)):
                    assert scale.min is not None and scale.max is not None, (figure.title, name)
                    assert scale.max > scale.min, (figure.title, name, scale.min, scale.max)
    assert len(views.population.scatter.x) == 1
    # ... and the range holds the one point, with its tick labels
    assert views.population.y_scale.min < 0.5 < views.population.y_scale.max
    assert views.population.x_scale.min < 7 < views.population.x_scale.max
    assert len(views.population.y_axis.tick_values) >= 2
    explorer.close()


@given(st.text())
def test_a_json_string_is_a_python_string_literal(path):
    """The panel's Replay inserts ``Explorer.from_run(<JSON.stringify(path)>)`` into a cell: any
    folder name must come back as itself, never as code."""
    import ast
    import json

    assert ast.literal_eval(json.dumps(path, ensure_ascii=False)) == path
