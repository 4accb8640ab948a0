"""The explorer driven like a user would, headless: buttons, background search, replay, errors."""

import time

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

import ipywidgets as widgets  # noqa: E402

from nasnb import CellSpace, Search, load_run  # noqa: E402
from nasnb.evaluation.control import checkpoint, report_progress  # noqa: E402
from nasnb.strategies import EvolutionStrategy  # noqa: E402
from nasnb.trial import Trial  # noqa: E402
from nasnb.widgets import Explorer  # noqa: E402
from nasnb.widgets.explorer import HINTS  # noqa: E402
from nasnb.widgets.frame import Frame  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"
OPS = {"conv_3x3": 1.0, "conv_1x1": 0.6, "skip_connect": 0.3}


def sized(arch, delay=0.002):
    """A planted objective that also reports a size, with a little sleep to mimic work."""
    time.sleep(delay)
    score = sum(OPS.get(op, 0.0) for op in arch.values())
    return {"accuracy": score / 6.0, "params": 1000 + int(200 * score)}


def flaky(arch):
    """Every architecture with avg_pool_3x3 on 0->1 fails, with a hostile message."""
    if arch["0->1"] == "avg_pool_3x3" or arch["1->2"] == "avg_pool_3x3":
        raise RuntimeError(f"GPU on fire {HOSTILE}")
    return sized(arch)


def points(view):
    return len(view.scatter.x) + len(view.failures.x)


def html_values(widget):
    """Every HTML widget's value in a widget tree."""
    found, stack = [], [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, widgets.HTML):
            found.append(w.value)
        stack.extend(getattr(w, "children", ()))
    return found


@pytest.fixture
def explorer():
    ex = Explorer(
        space="cell",
        strategy=EvolutionStrategy(population_size=4, tournament_size=2),
        evaluator=sized,
        budget=40,
        seed=0,
    )
    yield ex
    ex.stop(wait=True)
    ex.close()


def test_three_step_clicks_show_three_trials_everywhere(explorer):
    for _ in range(3):
        explorer.controls.step.click()
    assert explorer.wait(timeout=10)
    assert len(explorer.search.trials) == 3 and explorer.search.state == "paused"
    views = explorer.views
    assert len(views.population.scatter.x) == 3
    assert len(views.lineage.nodes.x) == 3
    assert len(views.progress.points.x) == 3
    assert sorted(views.population.population_ids) == [0, 1, 2]
    assert "paused · 3 / 40 trials" in explorer.status.value
    assert explorer.error_text == ""
    assert explorer.search.callback_errors == []


def test_step_waits_for_itself_and_continues_after_a_pause(explorer):
    explorer.step(2, wait=True)
    assert len(explorer.search.trials) == 2
    explorer.step(wait=True)
    assert len(explorer.search.trials) == 3
    explorer.start()
    assert explorer.wait(timeout=20)
    assert explorer.search.state == "finished" and len(explorer.search.trials) == 40
    assert explorer.controls.start.disabled and explorer.controls.stop.disabled
    explorer.controls.step.click()  # over budget: said in the explorer, not raised
    assert "finished" in explorer.error_text or "budget" in explorer.error_text


def test_pause_during_a_run_lets_no_new_trial_arrive():
    ex = Explorer(space="cell", strategy="evolution", evaluator=lambda a: sized(a, 0.005), budget=2000, seed=0)
    try:
        ex.controls.start.click()
        deadline = time.monotonic() + 10
        while len(ex.search.trials) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        ex.controls.pause.click()
        assert ex.wait(timeout=30)
        n = len(ex.search.trials)
        time.sleep(0.4)
        assert len(ex.search.trials) == n and ex.search.state == "paused"
        assert points(ex.views.population) == n
        driver = ex._driver  # the search thread never waits on a plot: its callbacks only request a redraw
        assert driver.callback_calls >= n and ex.throttle.requests >= n and ex.throttle.calls < ex.throttle.requests
    finally:
        ex.stop(wait=True)
        ex.close()


def long_evaluation(arch):
    """Like a Trainer: many short batches, each a chance to pause or stop, reporting progress."""
    for epoch in range(1, 201):
        checkpoint()
        report_progress(epoch=epoch, epochs=200)
        time.sleep(0.01)
    return {"accuracy": 0.5}


def test_pause_and_stop_reach_into_a_long_evaluation_within_a_second():
    ex = Explorer(space="cell", strategy="random", evaluator=long_evaluation, budget=3)
    try:
        ex.start()
        deadline = time.monotonic() + 5
        while "epoch" not in ex.status.value and time.monotonic() < deadline:
            time.sleep(0.02)
            ex.refresh()
        assert "evaluating #0 (epoch" in ex.status.value
        ex.pause()
        assert ex.search.state == "paused"
        ex.stop(wait=True)
        assert ex.search.state == "stopped"
        assert ex.search.trials == []  # the interrupted evaluation is not a trial
        ex.refresh()
        assert "stopped" in ex.status.value and not ex.controls.start.disabled
    finally:
        ex.stop(wait=True)
        ex.close()


def test_bad_settings_are_shown_in_the_explorer_not_raised():
    ex = Explorer(space="cell", strategy="evolution", evaluator=sized, budget=5)
    params = {w.description: w for w in ex.controls.params.children}
    params["tournament_size"].value = 50
    ex.controls.start.click()
    assert ex.search is None
    assert "tournament_size" in ex.error_text and "tournament_size" in ex.errors.value
    params["tournament_size"].value = 2
    ex.controls.budget.value = "ten"
    ex.controls.step.click()
    assert "budget" in ex.error_text and ex.search is None
    ex.controls.budget.value = "5"
    ex.controls.strategy.value = "halving"
    params = {w.description: w for w in ex.controls.params.children}
    params["n"].value = "{oops"
    ex.controls.step.click()
    assert "'n'" in ex.error_text and "Python literal" in ex.error_text
    ex.close()


def test_a_failing_evaluator_marks_failures_and_keeps_hostile_text_as_text():
    ex = Explorer(space="cell", strategy="random", evaluator=flaky, budget=30, seed=3)
    try:
        ex.step(30, wait=True)
        search = ex.search
        failed = [t for t in search.trials if not t.ok]
        assert search.state == "finished" and 0 < len(failed) < 30
        views = ex.views
        assert len(views.population.failures.x) == len(failed)
        assert len(views.progress.failures.x) == len(failed)
        assert len(views.lineage.nodes.x) == 30
        assert f"trial {failed[0].id} failed: RuntimeError: GPU on fire" in ex.error_text
        ex.select(failed[0].id)
        assert "failed" in views.detail.title.value and "GPU on fire" in views.detail.metrics.value
        for value in html_values(ex.widget):
            assert "<img" not in value
        assert "&lt;img src=x onerror=alert(1)&gt;" in ex.errors.value
    finally:
        ex.close()


def test_hostile_architecture_and_decision_text_stay_text():
    ex = Explorer(space="cell", strategy="random", evaluator=sized)
    hostile = Trial(
        id=0,
        step=0,
        arch=HOSTILE,
        decision={"kind": HOSTILE, "reason": HOSTILE},
        metrics={"accuracy": 0.5, HOSTILE: 1.0},
        status="ok",
    )
    ex.views.update(Frame([hostile], CellSpace(), selected=0))
    detail = ex.views.detail
    assert HOSTILE not in detail.arch.value and "&lt;img" in detail.arch.value
    for value in html_values(ex.widget):
        assert "<img" not in value
    ex.close()


def test_clicking_a_point_selects_its_trial(explorer):
    explorer.step(3, wait=True)
    population = explorer.views.population
    population.scatter._handle_custom_msgs(None, {"event": "element_click", "data": {"index": 1}})
    chosen = population.data.ids[1]
    assert explorer.selected == chosen
    assert f"Trial #{chosen} (selected)" in explorer.views.detail.title.value
    assert list(population.selected.x) == [population.data.x[1]]
    lineage = explorer.views.lineage
    lineage.nodes._handle_custom_msgs(None, {"event": "element_click", "data": {"index": 2}})
    assert explorer.selected == lineage.data.ids[2]


def test_a_burst_of_instant_trials_becomes_a_few_redraws():
    search = Search(CellSpace(), "evolution", lambda a: sized(a, 0.0), budget=300, seed=0)
    ex = Explorer(search)
    try:
        t0 = time.monotonic()
        search.run()
        seconds = time.monotonic() - t0
        ex.refresh()
        assert ex.throttle.requests >= 600
        assert ex.throttle.calls <= 5 * seconds + 3, (ex.throttle.calls, seconds)
        assert len(ex.views.population.scatter.x) == 300
    finally:
        ex.close()


def test_a_given_search_is_shown_at_once_and_its_settings_lock(planted):
    search = Search(CellSpace(), "random", planted, budget=4, seed=0)
    search.step()
    ex = Explorer(search)
    assert len(ex.views.progress.points.x) == 1
    assert ex.controls.strategy.value == "random" and ex.controls.strategy.disabled
    assert ex.controls.evaluator.value is planted and ex.controls.budget.value == "4"
    ex.new_search()
    assert ex.search is None and not ex.controls.strategy.disabled
    ex.step(wait=True)
    assert ex.search is not search and len(ex.search.trials) == 1
    ex.close()


def test_an_explorer_displays_itself():
    ex = Explorer(space="cell", strategy="random", evaluator=sized)
    bundle = ex._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ex.widget.model_id
    assert "no search yet" in repr(ex)
    ex.close()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    strategy = EvolutionStrategy(population_size=5, tournament_size=2)
    Search(CellSpace(), strategy, flaky, budget=25, seed=2, run_dir=run_dir).run()
    return load_run(run_dir)


@pytest.mark.parametrize("step", [0, 4, 11, 25, 7])
def test_replay_shows_the_population_as_it_was_at_each_step(recorded, step):
    ex = Explorer.from_run(recorded.path)
    ex.show_step(step)
    assert ex.replay.slider.value == step and ex.step_shown == step
    assert ex.views.population.population_ids == recorded.strategy_at(step).population_ids()
    ringed = ex.views.population.current
    assert len(ringed.x) == len(ex.views.population.population_ids)
    assert points(ex.views.population) == step
    assert len(ex.views.lineage.nodes.x) == step
    assert f"step {step} / 25" in ex.status.value
    ex.close()


def test_replay_follows_the_slider_and_plays(recorded):
    ex = Explorer.from_run(recorded.path)
    assert ex.replay.slider.max == 25 and ex.replay.play.max == 25
    ex.replay.slider.value = 6  # as a drag or the Play button would
    deadline = time.monotonic() + 5
    while len(ex.views.lineage.nodes.x) != 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(ex.views.lineage.nodes.x) == 6
    ex.replay.speed.value = 100
    assert ex.replay.play.interval == 100
    ex.start()
    assert "replays a recorded run" in ex.error_text
    ex.close()


def test_dock_hands_the_explorer_to_the_side_panel(recorded):
    dock = pytest.importorskip("nasnb.widgets.dock")
    ex = Explorer.from_run(recorded.path)
    try:
        assert ex.dock() is ex and dock.docked() is ex
        assert dock.current_message()["model_id"] == ex.widget.model_id
        assert ex.title == f"Replay of {recorded.path.name}"
    finally:
        dock.undock()
        ex.close()


@pytest.mark.slow  # imports torch and trains (about 3 s on an idle machine)
def test_the_trainer_chosen_in_the_controls_trains_and_shows_its_learning_curve():
    ex = Explorer(space="cell", strategy="random", evaluator="trainer", budget=2)
    try:
        ex.controls.epochs.value = 2
        ex.controls.dataset.value = "digits"
        ex.step(wait=True)
        trial = ex.search.trials[0]
        assert trial.ok and type(ex.search.evaluator).__name__ == "Trainer", ex.error_text
        assert list(ex.views.detail.curve.y) == trial.metrics["curves"]["val_accuracy"]
        assert len(ex.views.population.scatter.x) == 1 and ex.views.population.x_metric.value == "params"
        assert ex._driver.reports_progress  # so a pause parks the Trainer and wait() does not linger
    finally:
        ex.close()


def test_a_hyperparameter_space_is_explored_and_its_drawing_explained():
    ex = Explorer(space="hyper", strategy="random", evaluator=lambda arch: {"accuracy": float(arch["lr"])}, budget=5)
    try:
        ex.step(5, wait=True)
        assert ex.error_text == ""
        assert list(ex.views.importance.heatmap.row) == ["lr", "batch_size", "weight_decay", "dropout"]
        assert "cannot draw" in ex.views.detail.metrics.value
        assert len(ex.views.pareto.points.x) == 0 and "reports no params" in ex.views.pareto.note.value
    finally:
        ex.close()


def test_new_search_after_a_saved_run_proposes_a_fresh_folder_and_its_first_start_works(tmp_path):
    """The old run owns its folder; a new search there would refuse to start (issue 11)."""
    ex = Explorer(space="cell", strategy="random", evaluator=sized, budget=3, seed=0, run_dir=tmp_path / "demo")
    try:
        ex.start()
        assert ex.wait(timeout=30)
        assert (tmp_path / "demo" / "run.json").is_file()
        ex.new_search()
        assert ex.controls.run_dir.value == str(tmp_path / "demo-2")
        ex.start()
        assert ex.wait(timeout=30)
        assert ex.error_text == ""
        assert ex.search.state == "finished" and len(ex.search.trials) == 3
        assert ex.search.run_dir == tmp_path / "demo-2"
        ex.new_search()
        assert ex.controls.run_dir.value == str(tmp_path / "demo-3")  # demo-2 exists now too
        assert "paused" in HINTS and "Start continues" in HINTS["stopped"]
    finally:
        ex.close()
