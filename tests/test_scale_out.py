"""Scale-out: a Search evaluates on a real Dask LocalCluster (worker processes) through its executor."""

import os

import pytest

from nasnb import CellSpace, Search, SearchFailed, load_run

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
