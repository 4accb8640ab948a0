"""Concurrent writers of ``keep_weights="best"``: parallel workers finishing at once never leave a torn or wrong file.

Real processes and threads race ``save_weights`` on one folder (each model big enough that writing it
takes a while), a reader checks every file it can see while they write, and a real parallel search
keeps its best model where ``load_model(run, "best")`` finds it, ties included.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from nasnb import CellSpace, Search, load_model, load_run
from nasnb.deploy.models import load_trained, weights_path
from nasnb.evaluation import Trainer
from nasnb.evaluation.weights import BEST_FILE, read_weights, save_weights

ROWS = 256  # 256 x 1024 float32 = 1 MiB per model: a write long enough for writers to overlap


def _write(folder: str, jobs: list[tuple[str, float]], barrier) -> None:
    barrier.wait()
    for key, accuracy in jobs:
        state = {"w": torch.full((ROWS, 1024), accuracy)}
        record = {"key": key, "epochs": 1}
        save_weights(folder, "best", record=record, state_dict=state, accuracy=accuracy)


def _jobs(writers: int, per_writer: int, seed: int) -> list[list[tuple[str, float]]]:
    rng = random.Random(seed)
    accuracies = [round(rng.uniform(0.1, 0.99), 6) for _ in range(writers * per_writer)]
    jobs = [(f"arch{i}", a) for i, a in enumerate(accuracies)]
    rng.shuffle(jobs)
    return [jobs[w::writers] for w in range(writers)]


class _Reader(threading.Thread):
    """Reads every finished weights file it sees until stopped; a torn file would fail ``read_weights``."""

    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder, self.stop, self.reads, self.torn = folder, threading.Event(), 0, []

    def run(self) -> None:
        while not self.stop.is_set():
            for path in self.folder.glob("*.pt"):
                try:
                    payload = read_weights(path)
                except FileNotFoundError:  # replaced or removed by a writer between glob and open
                    continue
                except ValueError as err:
                    self.torn.append(str(err))
                    continue
                self.reads += 1
                if float(payload["state_dict"]["w"][0, 0]) != pytest.approx(payload["accuracy"]):
                    self.torn.append(f"{path.name}: weights of another model")


def _check_folder(folder: Path, jobs: list[list[tuple[str, float]]]) -> None:
    best_key, best_accuracy = max((job for part in jobs for job in part), key=lambda job: job[1])
    named = json.loads((folder / BEST_FILE).read_text())
    assert named["key"] == best_key and named["accuracy"] == best_accuracy
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted([named["file"], BEST_FILE])
    payload = read_weights(folder / named["file"])
    assert payload["key"] == best_key and payload["accuracy"] == best_accuracy
    assert torch.equal(payload["state_dict"]["w"], torch.full((ROWS, 1024), best_accuracy))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_processes_racing_to_write_the_best_model_leave_exactly_the_best(tmp_path):
    jobs = _jobs(writers=4, per_writer=6, seed=3)
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(jobs))
    reader = _Reader(tmp_path)
    workers = [context.Process(target=_write, args=(str(tmp_path), part, barrier)) for part in jobs]
    for worker in workers:
        worker.start()
    reader.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    reader.stop.set()
    reader.join()
    assert reader.torn == []
    _check_folder(tmp_path, jobs)


def test_threads_racing_to_write_the_best_model_leave_exactly_the_best(tmp_path):
    jobs = _jobs(writers=3, per_writer=5, seed=7)
    barrier = threading.Barrier(len(jobs))
    reader = _Reader(tmp_path)
    reader.start()
    threads = [threading.Thread(target=_write, args=(str(tmp_path), part, barrier)) for part in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader.stop.set()
    reader.join()
    assert reader.torn == [] and reader.reads > 0
    _check_folder(tmp_path, jobs)


def test_a_parallel_search_keeps_the_best_model_it_reports(tmp_path):
    trainer = Trainer(epochs=1, subset=300, network={"channels": 4, "stages": 1}, keep_weights="best")
    with ThreadPoolExecutor(2) as pool:
        search = Search(CellSpace(), "random", trainer, budget=6, seed=2, run_dir=tmp_path, executor=pool)
        search.run()
        search.close()
    run = load_run(tmp_path)
    best = run.best()
    trained = load_trained(tmp_path, "best")
    assert trained.record["accuracy"] == best.score(run.metric)
    assert trained.trial.score(run.metric) == best.score(run.metric)
    assert len(list((tmp_path / "weights").glob("*.pt"))) == 1
    assert not list((tmp_path / "weights").glob("*.tmp"))
    assert isinstance(load_model(tmp_path, "best"), torch.nn.Module)


def test_a_tie_kept_by_the_trial_that_finished_first_still_loads_as_best(tmp_path):
    """The end state of a race: two equally accurate trials, the later in the log finished (and was kept) first."""
    trainer = Trainer(epochs=1, subset=300, network={"channels": 4, "stages": 1}, keep_weights="all")
    Search(CellSpace(), "random", trainer, budget=3, seed=5, run_dir=tmp_path).run()
    run = load_run(tmp_path)
    first, second = run.trials[0], run.trials[1]
    lines = (tmp_path / "trials.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    top = max(t.score(run.metric) for t in run.trials) + 0.01
    for record in records[:2]:
        record["metrics"][run.metric] = top
    (tmp_path / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if weights_path(run, first) == weights_path(run, second):
        pytest.skip("the two trials are isomorphic cells sharing one weights file")
    weights_path(run, first).unlink()  # "best" kept only the trial that finished first: the second
    trained = load_trained(tmp_path, "best")
    assert trained.trial.id == second.id
    assert trained.record["key"] == CellSpace().parse(second.arch).key
