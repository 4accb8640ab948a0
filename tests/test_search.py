"""Search: stepping, budgets, failures, events, threads, determinism and in-process resume."""

import math
import threading
import time

import pytest

from nasnb import Budget, CellSpace, Search, get_space
from nasnb.evaluation.control import checkpoint, report_progress
from nasnb.strategies import EvolutionStrategy, get


def arch_sequence(search):
    return [t.arch for t in search.trials]


def test_a_plain_function_is_an_evaluator(planted):
    search = Search(CellSpace(), "random", planted, budget=5, seed=0)
    trial = search.step()
    assert trial.id == 0 and trial.ok and 0 <= trial.metrics["accuracy"] <= 1
    search.run()
    assert len(search.trials) == 5 and search.state == "finished"
    assert search.step() is None  # over budget
    assert search.best.metrics["accuracy"] == max(t.metrics["accuracy"] for t in search.trials)


@pytest.mark.parametrize("strategy", ["random", "evolution"])
def test_same_seed_same_trajectory_and_other_seed_differs(planted, strategy):
    runs = [
        Search(
            CellSpace(),
            get(strategy, population_size=5) if strategy == "evolution" else strategy,
            planted,
            budget=30,
            seed=seed,
        ).run()
        for seed in (1, 1, 2)
    ]
    assert arch_sequence(runs[0]) == arch_sequence(runs[1])
    assert arch_sequence(runs[0]) != arch_sequence(runs[2])


def test_failing_evaluator_is_recorded_and_search_goes_on():
    calls = []

    def flaky(arch):
        calls.append(arch)
        if len(calls) % 2 == 0:
            raise RuntimeError("GPU on fire")
        return {"accuracy": 0.5}

    search = Search(CellSpace(), "evolution", flaky, budget=6, seed=0).run()
    failed = [t for t in search.trials if not t.ok]
    assert len(search.trials) == 6 and len(failed) == 3
    assert all("RuntimeError: GPU on fire" in t.error for t in failed)
    assert all(t.metrics == {} and t.score() is None for t in failed)


@pytest.mark.parametrize(
    "result, fragment",
    [
        ({"acc": 0.9}, "no 'accuracy'"),
        ({"accuracy": float("nan")}, "accuracy must be a finite number"),
        ({"accuracy": 93.0}, "in \\[0, 1\\]"),
        ([0.9], "must return a mapping"),
    ],
)
def test_bad_evaluator_results_become_failed_trials(result, fragment):
    import re

    trial = Search(CellSpace(), "random", lambda arch: result, budget=1).step()
    assert trial.status == "failed" and re.search(fragment, trial.error)


@pytest.mark.parametrize("budget", [0, -3, "0", "soon", 2.5, True, {"seconds": 0}])
def test_bad_budgets_are_rejected_with_a_message(budget, planted):
    with pytest.raises(ValueError, match="budget"):
        Search(CellSpace(), "random", planted, budget=budget)


def test_budget_parsing():
    assert Budget.parse(50) == Budget(evaluations=50)
    assert Budget.parse("5min") == Budget(seconds=300.0)
    assert Budget.parse("90s") == Budget(seconds=90.0)
    assert Budget.parse({"evaluations": 3, "seconds": 1}) == Budget(3, 1)


def test_seconds_budget_stops_the_run():
    def slow(arch):
        time.sleep(0.05)
        return {"accuracy": 0.5}

    search = Search(CellSpace(), "random", slow, budget="0.3s").run()
    assert 3 <= len(search.trials) <= 8


def test_bad_names_and_types():
    with pytest.raises(ValueError, match="unknown strategy 'annealing'"):
        Search(CellSpace(), "annealing", lambda a: {"accuracy": 1.0})
    with pytest.raises(TypeError, match="evaluator must be callable"):
        Search(CellSpace(), "random", 42)
    with pytest.raises(TypeError, match="space must be a nasnb space"):
        Search("cell", "random", lambda a: {"accuracy": 1.0})
    with pytest.raises(ValueError, match="tournament_size"):
        Search(CellSpace(), EvolutionStrategy(population_size=3, tournament_size=5), lambda a: {"accuracy": 1.0})


def test_events_arrive_in_order_and_broken_callbacks_do_not_stop_the_search(planted):
    seen = []
    search = Search(CellSpace(), "random", planted, budget=3)
    search.on("trial_started", lambda p: seen.append(("started", p["id"])))
    search.on("trial_finished", lambda t: seen.append(("finished", t.id)))
    search.on("state_changed", lambda s: seen.append(("state", s)))
    search.on("trial_finished", lambda t: 1 / 0)
    with pytest.warns(RuntimeWarning, match="ZeroDivisionError"):
        search.run()
    assert seen == [
        ("state", "running"),
        ("started", 0),
        ("finished", 0),
        ("started", 1),
        ("finished", 1),
        ("started", 2),
        ("finished", 2),
        ("state", "finished"),
    ]
    assert len(search.callback_errors) == 3
    with pytest.raises(ValueError, match="unknown event"):
        search.on("trial_done", print)


def long_training(arch, epochs=200):
    """Stands in for a Trainer: many small steps that each give the search a chance to act."""
    for epoch in range(epochs):
        for _ in range(10):
            checkpoint()
            time.sleep(0.002)
        report_progress(epoch=epoch + 1, epochs=epochs)
    return {"accuracy": 0.5}


def test_stop_interrupts_a_long_evaluation_at_its_next_checkpoint():
    search = Search(CellSpace(), "random", long_training, budget=3)
    started = threading.Event()
    epochs: list[int] = []
    search.on("trial_progress", lambda info: (epochs.append(info["epoch"]), started.set()))
    search.run(background=True)
    assert started.wait(60)
    search.stop(timeout=60)
    seen = len(epochs)
    time.sleep(0.1)
    # stop() returned only once the evaluation had given up: no epoch is reported after it, and
    # the 200-epoch training ended at a checkpoint long before its end (each epoch is 10 checkpoints)
    assert len(epochs) == seen and max(epochs) < 200
    assert search.state == "stopped" and search.trials == []


def test_pause_holds_the_search_and_resume_continues(planted):
    def quick(arch):
        checkpoint()
        time.sleep(0.01)
        return planted(arch)

    search = Search(CellSpace(), "random", quick, budget=400).run(background=True)
    time.sleep(0.1)
    search.pause()
    time.sleep(0.1)  # let the evaluation in flight finish
    frozen = len(search.trials)
    time.sleep(0.3)
    assert len(search.trials) == frozen and search.state == "paused"
    search.unpause()
    time.sleep(0.2)
    assert len(search.trials) > frozen
    search.stop()
    assert search.state == "stopped"


def test_stop_then_run_again_reproposes_the_abandoned_architecture(planted):
    interrupted = Search(CellSpace(), "evolution", long_training, budget=4, seed=3)
    interrupted.on("trial_progress", lambda info: interrupted.stop(wait=False) if info["epoch"] == 2 else None)
    interrupted.run()
    assert interrupted.trials == []
    abandoned = interrupted.pending[0].arch
    interrupted.evaluator = planted
    interrupted.run()
    straight = Search(CellSpace(), "evolution", planted, budget=4, seed=3).run()
    assert arch_sequence(interrupted) == arch_sequence(straight)
    assert interrupted.trials[0].arch == str(abandoned)


def test_direct_step_after_stop_or_pause_runs_one_step():
    search = Search(CellSpace(), "random", long_training_short, budget=5)
    search.stop()
    first = search.step()  # an earlier stop() does not swallow an explicit step
    assert (first.id, first.status, first.metrics["accuracy"]) == (0, "ok", 0.5)
    search.pause()
    assert search.state == "paused"
    second = search.step()  # nor does pause() on an idle search block it
    assert (second.id, second.status) == (1, "ok") and search.trials == [first, second]


def long_training_short(arch):
    return long_training(arch, epochs=2)


def test_background_run_keeps_the_caller_free(planted):
    search = Search(get_space("cell+hyper"), "evolution", planted_hp(planted), budget=50, seed=0)
    returned = search.run(background=True)
    assert returned is search
    search.wait(10)
    assert search.state == "finished" and len(search.trials) == 50
    assert not math.isnan(search.best.metrics["accuracy"])


def planted_hp(planted):
    def objective(arch):
        cell = {k: v for k, v in arch.items() if "->" in k}
        return {"accuracy": planted(cell)["accuracy"] * (1.0 if arch["lr"] == 0.03 else 0.9)}

    return objective


def test_parallel_executor_finishes_the_budget(planted):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        search = Search(CellSpace(), "evolution", planted, budget=25, executor=pool).run()
    assert len(search.trials) == 25 and sorted(t.id for t in search.trials) == list(range(25))


def test_a_strategy_ranking_by_another_metric_than_the_search_warns(planted):
    with pytest.warns(UserWarning, match="'loss'.*'accuracy'"):
        Search(CellSpace(), EvolutionStrategy(metric="loss"), planted, budget=1)


# -- stop within a second in every phase, and say when an evaluation could not be stopped --------------
SMALL_NET = {"channels": 4, "stages": 1}


@pytest.mark.parametrize(
    "phase, module, function",
    [
        ("loading", "trainer", "load_dataset"),
        ("building", "trainer", "build_model"),
        ("validating", "training", "evaluate_model"),
    ],
)
def test_stop_returns_within_a_second_in_every_phase_of_a_real_trainer(monkeypatch, phase, module, function):
    """Each phase is made to block for 3 s without calling checkpoint(), as a slow disk or a big model does."""
    import importlib

    from nasnb.evaluation import Trainer

    trainer_module = importlib.import_module(f"nasnb.evaluation.{module}")  # where the phase looks the function up

    reached, left = threading.Event(), threading.Event()
    original = getattr(trainer_module, function)

    def slow(*args, **kwargs):
        reached.set()
        time.sleep(3)
        left.set()
        return original(*args, **kwargs)

    monkeypatch.setattr(trainer_module, function, slow)
    search = Search(CellSpace(), "random", Trainer("digits", epochs=1, network=SMALL_NET), budget=2, seed=1)
    search.run(background=True)
    assert reached.wait(120)
    with pytest.warns(RuntimeWarning, match="evaluation of trial 0 did not stop within 1s"):
        stopped = search.stop()
    assert not left.is_set()  # stop() returned while the phase still blocked: it never waits for one
    assert stopped is False and search.state == "stopped" and search.trials == []
    monkeypatch.setattr(trainer_module, function, original)
    search.run()  # waits for the evaluation still running instead of starting it again
    assert [t.id for t in search.trials] == [0, 1] and all(t.ok for t in search.trials)


def test_stop_during_real_training_returns_within_a_second_and_says_it_stopped():
    from nasnb.evaluation import Trainer

    search = Search(CellSpace(), "random", Trainer("digits", epochs=50, network=SMALL_NET), budget=2)
    trained = threading.Event()
    search.on("trial_progress", lambda info: trained.set())
    search.run(background=True)
    assert trained.wait(120)
    assert search.stop() is True  # the training ended at its next batch, as stop() reports
    assert search.trials == [] and len(search.pending) == 1 and search.state == "stopped"


def test_a_per_trial_time_limit_fails_the_trial_and_the_search_goes_on():
    def slow_for_conv(arch):
        if arch["1->2"] == "conv_3x3":
            for _ in range(500):
                checkpoint()
                time.sleep(0.01)
        return {"accuracy": 0.5}

    search = Search(CellSpace(), "random", slow_for_conv, budget=12, seed=0, trial_timeout=0.2, fail_fast=None).run()
    timed_out = [t for t in search.trials if CellSpace().parse(t.arch)["1->2"] == "conv_3x3"]
    assert len(search.trials) == 12 and timed_out
    assert all(not t.ok and t.error.startswith("TrialTimeout: no result within trial_timeout=0.2s") for t in timed_out)
    assert all(t.ok for t in search.trials if t not in timed_out)
    assert all(t.seconds < 2.0 for t in timed_out)


@pytest.mark.parametrize("value", [0, -1, float("nan"), "10s"])
def test_bad_trial_timeouts_are_refused(planted, value):
    with pytest.raises(ValueError, match="trial_timeout must be a number of seconds > 0"):
        Search(CellSpace(), "random", planted, budget=1, trial_timeout=value)


def test_nan_accuracy_is_named_as_nan_not_none():
    search = Search(CellSpace(), "random", lambda arch: {"accuracy": float("nan")}, budget=1, fail_fast=None).run()
    assert "accuracy must be a finite number, got nan" in search.trials[0].error


def test_the_deprecated_names_warn_and_still_work(tmp_path, planted):
    from nasnb import resume_search

    Search(CellSpace(), "random", planted, budget=2, run_dir=tmp_path / "r").run().close()
    with pytest.warns(DeprecationWarning, match="use nasnb.resume_search"):
        search = Search.resume(tmp_path / "r", planted, budget=3)
    search.pause()
    with pytest.warns(DeprecationWarning, match=r"use search.unpause\(\)"):
        search.resume()
    assert search.state == "running" and len(search.run().trials) == 3
    search.close()
    assert resume_search(tmp_path / "r", planted).done


def test_an_executor_gets_one_evaluation_queued_per_worker_and_the_rule_is_checked(planted):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(3) as pool:
        assert Search(CellSpace(), "random", planted, budget=2, executor=pool).max_pending == 6
        assert Search(CellSpace(), "random", planted, budget=2, executor=pool, max_pending=3).max_pending == 3
        with pytest.raises(ValueError, match="max_pending must be an int >= 1, got 0"):
            Search(CellSpace(), "random", planted, budget=2, executor=pool, max_pending=0)
        with pytest.raises(ValueError, match="isolate=True .* cannot be combined with executor="):
            Search(CellSpace(), "random", planted, budget=2, executor=pool, isolate=True)
    with pytest.raises(ValueError, match=r"max_pending=2 needs an executor \(executor=... or isolate=True\)"):
        Search(CellSpace(), "random", planted, budget=2, max_pending=2)
    assert Search(CellSpace(), "random", planted, budget=2, isolate=True).max_pending == 1  # the serial trajectory
    lock = threading.Lock()
    with pytest.raises(TypeError, match=r"isolate=True .* cannot be pickled \(TypeError: cannot pickle '_thread.lock'"):
        Search(CellSpace(), "random", lambda arch, lock=lock: {"accuracy": 0.5}, budget=2, isolate=True)


def test_a_queued_evaluation_is_not_charged_for_its_wait_against_the_time_limit():
    from concurrent.futures import ThreadPoolExecutor

    def slow(arch):
        time.sleep(0.4)
        return {"accuracy": 0.5}

    with ThreadPoolExecutor(1) as pool:  # four asked at once, one runs: the last waits 1.2 s in the queue
        search = Search(CellSpace(), "random", slow, budget=4, executor=pool, max_pending=4, trial_timeout=1.0)
        search.run()
    assert [t.status for t in search.trials] == ["ok"] * 4
