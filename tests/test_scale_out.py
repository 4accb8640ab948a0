"""Scale-out: a Search evaluates on a real Dask LocalCluster (worker processes) through its executor."""

import functools
import os
from pathlib import Path

import pytest

from nasnb import CellSpace, Search, SearchFailed, get_space, load_run

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_search_on_a_dask_cluster_records_every_trial(tmp_path, client):
    from tests.helpers.objectives import planted_cell

    search = Search(
        CellSpace(),
        "evolution",
        planted_cell,
        budget=24,
        seed=0,
        run_dir=tmp_path / "run",
        executor=client.get_executor(),
        n_workers=2,
    )
    search.run()
    search.close()
    assert len(search.trials) == 24 and all(t.ok for t in search.trials)
    pids = {t.metrics["pid"] for t in search.trials}
    assert os.getpid() not in pids and len(pids) == 2  # both worker processes did work
    run = load_run(tmp_path / "run")
    assert sorted(t.id for t in run.trials) == list(range(24))


def test_a_failing_remote_evaluation_is_a_failed_trial_and_a_systemic_one_stops_the_search(client):
    search = Search(CellSpace(), "random", _explode, budget=5, executor=client.get_executor(), n_workers=2)
    with pytest.raises(SearchFailed, match="first 3 trials all failed with: ZeroDivisionError"):
        search.run()
    assert len(search.trials) >= 3 and all("ZeroDivisionError" in t.error for t in search.trials)


def _explode(arch):
    return {"accuracy": 1 / 0}


def test_the_cluster_s_real_worker_count_is_used_and_recorded(tmp_path, client):
    from nasnb.parallel import worker_count
    from tests.helpers.objectives import planted_cell

    executor = client.get_executor()
    assert worker_count(executor) == sum(client.nthreads().values()) == 2
    search = Search(CellSpace(), "random", planted_cell, budget=2, executor=executor, run_dir=tmp_path / "run")
    search.run().close()
    assert search.max_pending == 4 and load_run(tmp_path / "run").config["max_pending"] == 4  # one queued per worker


def _reference(evaluator, budget=12):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:  # same rule (2 proposals out, told in ask order), other machinery
        return (
            Search(get_space("cell+hyper"), "evolution", evaluator, budget=budget, seed=5, executor=pool).run().trials
        )


def _same(trials, reference):
    key = lambda t: (t.id, t.arch, t.decision, t.status, t.metrics)  # noqa: E731
    return sorted(map(key, trials)) == sorted(map(key, reference))


@pytest.mark.slow
def test_killed_workers_are_retried_and_the_trajectory_is_unchanged(tmp_path, client):
    from tests.helpers.objectives import dies_once, digest, stepwise

    evaluator = functools.partial(dies_once, marker_dir=str(tmp_path))
    search = Search(
        get_space("cell+hyper"),
        "evolution",
        evaluator,
        budget=12,
        seed=5,
        executor=client.get_executor(),
        run_dir=tmp_path / "run",
        fail_fast=None,
    )
    search.run().close()
    died = list(tmp_path.glob("[0-9]*"))
    assert died, "no worker was killed: the test did not test anything"
    trials = load_run(tmp_path / "run").trials
    assert all(t.ok or "loss is nan" in t.error for t in trials)
    assert {str(digest(t.arch)) for t in trials} >= {p.name for p in died}
    assert _same(trials, _reference(stepwise))


def test_a_dask_run_stopped_mid_way_resumes_exactly_on_another_executor(tmp_path, client):
    from concurrent.futures import ThreadPoolExecutor

    from nasnb import resume_search
    from tests.helpers.objectives import stepwise

    search = Search(
        get_space("cell+hyper"),
        "evolution",
        stepwise,
        budget=12,
        seed=5,
        executor=client.get_executor(),
        run_dir=tmp_path / "run",
        fail_fast=None,
    )
    search.on("trial_finished", lambda t: search.stop(wait=False) if t.id == 5 else None)
    search.run().close()
    assert len(load_run(tmp_path / "run").trials) < 12
    with ThreadPoolExecutor(3) as pool:  # a different executor and worker count: the recorded rule still holds
        resume_search(tmp_path / "run", stepwise, executor=pool, fail_fast=None).run().close()
    assert _same(load_run(tmp_path / "run").trials, _reference(stepwise))


@pytest.mark.slow  # real training in worker processes that import torch: ~20 s on an idle 2-core machine
def test_the_documented_cluster_example_runs_on_a_scheduler_address(tmp_path, client, monkeypatch):
    """docs/scale-out.md's example, run as written against this cluster's address."""
    text = (Path(__file__).parents[1] / "docs" / "scale-out.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace('"tcp://scheduler.example.org:8786"', repr(client.scheduler.address))
    monkeypatch.chdir(tmp_path)
    client.wait_for_workers(2, timeout=60)  # an earlier test kills a worker; its nanny restarts it
    namespace: dict = {}
    exec(compile(code, "docs/scale-out.md", "exec"), namespace)
    run = load_run(tmp_path / "runs" / "on-a-cluster")
    assert len(run.trials) == 4 and all(t.ok for t in run.trials) and run.config["max_pending"] == 4
