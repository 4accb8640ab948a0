"""Fault injection: every way a run can be interrupted, damaged, shared or spread, then resumed.

Each scenario asserts the two things a user relies on: no good trial is lost, and the resumed
run's trajectory (ids, architectures, fidelities, decisions, results) is identical to a run that
was never interrupted. Moments are drawn at random (hypothesis) rather than chosen.

Set NASNB_FAULT_REPORT=path.json to get the tally (scenario: tried, handled, lost).
"""

import collections
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasnb import Search, SearchFailed, get_space, load_run, resume_search
from nasnb.runs import RunLocked
from nasnb.strategies import STRATEGIES, get
from tests.helpers.objectives import (
    digest,
    hangs_sometimes,
    sleeps_forever,
    sleeps_forever_sometimes,
    stepwise,
    timed_out_reference,
)

SPACE = "cell+hyper"
BUDGET = 12
SMALL = {
    "evolution": {"population_size": 4, "tournament_size": 2},
    "bo": {"n_initial": 3, "n_random": 10, "n_starts": 1},
    "halving": {"min_epochs": 1, "max_epochs": 4, "eta": 2},
    "hyperband": {"min_epochs": 1, "max_epochs": 4, "eta": 2},
    "nsga2": {"population_size": 4},
    "qlearning": {"decay_trials": 6},
    "prescreen": {"n_candidates": 3, "keep": 1, "proxy": "params", "base": "random"},
}
NAMES = sorted(STRATEGIES)
TALLY: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])


def tally(scenario: str, handled: bool, lost: int = 0) -> None:
    counts = TALLY[scenario]
    counts[0] += 1
    counts[1] += int(handled)
    counts[2] += lost


@pytest.fixture(scope="module", autouse=True)
def fault_report():
    yield
    path = os.environ.get("NASNB_FAULT_REPORT")
    if path:
        old = json.loads(Path(path).read_text()) if Path(path).exists() else {}
        for scenario, (tried, handled, lost) in TALLY.items():
            a, b, c = old.get(scenario, [0, 0, 0])
            old[scenario] = [a + tried, b + handled, c + lost]
        Path(path).write_text(json.dumps(old, indent=1))


def make(name):
    return get(name, **SMALL.get(name, {}))


def record(trials):
    """What must be identical: everything but timing, in id order."""
    return [
        (t.id, t.arch, t.fidelity, t.decision, t.status, _untimed(t.metrics))
        for t in sorted(trials, key=lambda t: t.id)
    ]


def _untimed(metrics):
    """Metrics without wall-clock measurements, which differ between any two runs."""
    return {k: v for k, v in metrics.items() if k not in ("train_seconds", "latency_ms", "pid")}


def compare(trials, reference, scenario):
    """Tally the scenario; assert identical trajectory and no good trial lost."""
    got = {r[0]: r for r in record(trials)}
    lost = sum(1 for r in record(reference) if r[4] == "ok" and got.get(r[0]) != r)
    ids = [t.id for t in trials]
    handled = record(trials) == record(reference) and len(ids) == len(set(ids))
    tally(scenario, handled, lost)
    assert lost == 0
    assert len(ids) == len(set(ids)), "a trial id was logged twice"
    assert record(trials) == record(reference)


@functools.cache
def reference(name, max_pending=1, evaluator=stepwise, budget=BUDGET):
    executor = ThreadPoolExecutor(max_pending) if max_pending > 1 else None
    search = Search(get_space(SPACE), make(name), evaluator, budget=budget, seed=5, executor=executor, fail_fast=None)
    search.run()
    if executor is not None:
        executor.shutdown()
    return tuple(search.trials)


# -- stop() and pause at random moments, for every strategy -----------------------------------------------
PHASES = ("started", "progress", "finished", "paused", "steps")


def interrupt_at(search, trial_id, phase):
    """Stop ``search`` when trial ``trial_id`` reaches ``phase`` (as a user pressing Stop would)."""
    if phase == "steps":
        for _ in range(trial_id % 4):
            search.step()
        return False
    event = {"started": "trial_started", "progress": "trial_progress", "finished": "trial_finished"}.get(
        phase, "trial_progress"
    )
    fired = []

    def callback(payload):
        tid = payload.id if event == "trial_finished" else payload["id"]
        if tid == trial_id and not fired:
            fired.append(True)
            if phase == "paused":
                search.pause()
                threading.Timer(0.05, search.stop, kwargs={"wait": False}).start()
            else:
                search.stop(wait=False)

    search.on(event, callback)
    return True


def interrupted_run(name, stops, run_dir, executor=None, evaluator=stepwise, **kwargs):
    search = Search(
        get_space(SPACE),
        make(name),
        evaluator,
        budget=BUDGET,
        seed=5,
        run_dir=run_dir,
        executor=executor,
        fail_fast=None,
        **kwargs,
    )
    for trial_id, phase in stops:
        if interrupt_at(search, trial_id, phase):
            search.run()
        search.close()
        search = resume_search(run_dir, evaluator=evaluator, executor=executor, fail_fast=None)
    search.run()
    search.close()
    return load_run(run_dir).trials


stop_moments = st.lists(st.tuples(st.integers(0, BUDGET - 1), st.sampled_from(PHASES)), min_size=1, max_size=3)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=4, deadline=None)
@given(stops=stop_moments)
def test_stop_at_random_moments_then_resume_is_exact_for_every_strategy(name, stops):
    with tempfile.TemporaryDirectory() as tmp:
        trials = interrupted_run(name, stops, Path(tmp) / "run")
    compare(trials, reference(name), "stop()/pause/Stop then resume")


@pytest.mark.parametrize("name", ["evolution", "hyperband", "bo", "reinforce"])
@settings(max_examples=3, deadline=None)
@given(stops=stop_moments)
def test_parallel_run_stopped_at_random_moments_resumes_exactly(name, stops):
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2) as pool:
        trials = interrupted_run(name, stops, Path(tmp) / "run", executor=pool)
    compare(trials, reference(name, max_pending=2), "parallel run stopped, resumed")


# -- damaged files -----------------------------------------------------------------------------------------
DAMAGE = ("truncate log", "garbage line", "corrupt checkpoint", "checkpoint of another run", "no checkpoint")


@settings(max_examples=12, deadline=None)
@given(kind=st.sampled_from(DAMAGE), where=st.floats(0, 1), name=st.sampled_from(["evolution", "hyperband", "bo"]))
def test_damaged_files_are_reported_and_resume_is_exact(kind, where, name):
    with tempfile.TemporaryDirectory() as tmp:
        run, other = Path(tmp) / "run", Path(tmp) / "other"
        half = Search(get_space(SPACE), make(name), stepwise, budget=8, seed=5, run_dir=run, fail_fast=None)
        half.run().close()
        Search(get_space(SPACE), make(name), stepwise, budget=3, seed=6, run_dir=other, fail_fast=None).run().close()
        log = run / "trials.jsonl"
        raw = log.read_bytes()
        intact = raw
        if kind == "truncate log":
            intact = raw[: int(where * len(raw))]
            log.write_bytes(intact)
        elif kind == "garbage line":
            lines = raw.split(b"\n")
            lines[int(where * (len(lines) - 2))] = b'{"id": 3, "arch": \x00\xff garbage'
            log.write_bytes(b"\n".join(lines))
            intact = b"\n".join(line for line in lines if not line.startswith(b'{"id": 3, "arch": \x00'))
        elif kind == "corrupt checkpoint":
            checkpoint = (run / "checkpoint.json").read_bytes()
            (run / "checkpoint.json").write_bytes(checkpoint[: int(where * len(checkpoint))])
        elif kind == "checkpoint of another run":
            (run / "checkpoint.json").write_bytes((other / "checkpoint.json").read_bytes())
        else:
            (run / "checkpoint.json").unlink()
        kept = {t.id: t for t in _quiet_load(run).trials}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            resumed = resume_search(run, evaluator=stepwise, budget=BUDGET, fail_fast=None)
            resumed.run().close()
            trials = load_run(run).trials
    assert all(t in trials for t in kept.values()), "an intact trial line was dropped"
    compare(trials, reference(name), "corrupt or truncated files")


def _quiet_load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_run(path)


# -- hung and raising evaluators ---------------------------------------------------------------------------
@pytest.mark.parametrize("cooperative", [False, True], ids=["plain-sleep", "checkpointing"])
def test_hung_evaluators_time_out_and_the_search_goes_on_exactly(tmp_path, cooperative):
    evaluator = functools.partial(hangs_sometimes, cooperative=cooperative)
    stops = [(3, "progress"), (7, "started")]
    trials = interrupted_run("evolution", stops, tmp_path / "run", evaluator=evaluator, trial_timeout=0.3)
    hung = [t for t in trials if digest(t.arch) % 7 == 0]
    assert hung and all(t.status == "failed" and t.error.startswith("TrialTimeout") for t in hung)
    expected = reference("evolution", evaluator=timed_out_reference)
    assert [(t.id, t.arch, t.status) for t in sorted(trials, key=lambda t: t.id)] == [
        (t.id, t.arch, t.status) for t in expected
    ]
    good = [t for t in trials if t.ok]
    compare(good, [t for t in expected if t.ok], "hung evaluator (trial_timeout)")
    if not cooperative:  # the abandoned thread's late result is noted, never used
        time.sleep(2.0)
        late = [json.loads(line) for line in (tmp_path / "run" / "late.jsonl").read_text().splitlines()]
        assert late and all(r["metrics"] == {"accuracy": 0.999} for r in late)
        assert "abandoned" in hung[0].error
    else:
        assert "the evaluation was stopped" in hung[0].error


@pytest.mark.slow  # spawns a child process per hang (~1 s each to import nasnb on a busy machine)
def test_isolated_evaluations_that_sleep_for_ever_are_killed_and_the_search_goes_on_exactly(tmp_path):
    before = set(_spawned_children())  # e.g. a Dask cluster of another test module in this session
    stops = [(2, "started"), (8, "progress")]
    search_kwargs = {"isolate": True, "trial_timeout": 1.0}
    trials = interrupted_run("evolution", stops, tmp_path / "run", evaluator=sleeps_forever_sometimes, **search_kwargs)
    hung = [t for t in trials if digest(t.arch) % 7 == 0]
    assert hung and all(t.status == "failed" for t in hung)
    assert all(t.error == "TrialTimeout: no result within trial_timeout=1s; its process was killed" for t in hung)
    expected = reference("evolution", evaluator=timed_out_reference)
    assert [(t.id, t.arch, t.status) for t in sorted(trials, key=lambda t: t.id)] == [
        (t.id, t.arch, t.status) for t in expected
    ]
    compare([t for t in trials if t.ok], [t for t in expected if t.ok], "hung evaluator, isolate=True (killed)")
    assert load_run(tmp_path / "run").config["isolate"] is True  # resume_search kept isolating
    assert not set(_spawned_children()) - before, "an isolated evaluation outlived its search"


def test_an_isolated_step_that_sleeps_for_ever_is_killed_at_its_time_limit():
    before = set(_spawned_children())
    search = Search(get_space("cell"), "random", sleeps_forever, budget=2, isolate=True, trial_timeout=1.0)
    t0 = time.monotonic()
    trial = search.step()
    assert trial.status == "failed" and trial.error.startswith("TrialTimeout: no result within trial_timeout=1s")
    assert time.monotonic() - t0 < 30 and not search.executor.pids  # killed, not left sleeping
    search.close()
    assert set(_spawned_children()) == before


def test_the_child_check_sees_a_live_isolated_evaluation():
    from nasnb.isolate import IsolatedExecutor

    before = set(_spawned_children())
    executor = IsolatedExecutor(1)
    future = executor.submit(time.sleep, 30)
    deadline = time.monotonic() + 60
    while not future.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert executor.pids and set(executor.pids) <= set(_spawned_children())
    assert future.cancel() and future.killed
    executor.shutdown()
    assert set(_spawned_children()) == before


def _spawned_children() -> list[int]:
    """Live child processes of this one started by multiprocessing's spawn (Linux /proc)."""
    pid = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if entry.name.isdigit() and fields and fields[0] != "Z" and int(fields[1]) == pid and "spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def test_raising_evaluators_are_failed_trials_and_resume_is_exact(tmp_path):
    trials = interrupted_run("bo", [(4, "progress")], tmp_path / "run")
    failed = [t for t in trials if not t.ok]
    assert failed and all("RuntimeError: loss is nan" in t.error and "(at objectives.py:" in t.error for t in failed)
    compare(trials, reference("bo"), "raising evaluator")


# -- concurrent writers ------------------------------------------------------------------------------------
def test_a_second_writer_in_this_process_is_refused_naming_it_and_readers_keep_working(tmp_path):
    first = Search(get_space(SPACE), "random", stepwise, budget=4, run_dir=tmp_path / "run", fail_fast=None)
    first.step()
    for attempt in (
        lambda: resume_search(tmp_path / "run", evaluator=stepwise),
        lambda: Search(get_space(SPACE), "random", stepwise, budget=4, run_dir=tmp_path / "run"),
    ):
        with pytest.raises(RunLocked, match=rf"in use by pid {os.getpid()} — this process.*call \.close\(\)"):
            attempt()
        tally("concurrent writers", True)
    assert len(load_run(tmp_path / "run").trials) == 1  # reading while it is live
    first.run().close()
    resumed = resume_search(tmp_path / "run", evaluator=stepwise, budget=6)  # released on close
    resumed.run().close()
    assert [t.id for t in load_run(tmp_path / "run").trials] == list(range(6))


CLI_TABLE = [
    sys.executable,
    "-m",
    "nasnb.cli",
    "search",
    "--space",
    "cell",
    "--evaluator",
    "table",
    "--dataset",
    "digits",
    "--seed",
    "2",
]


def cli(*args):
    return subprocess.Popen(
        [*args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )


def _count_lines(path):
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def table_reference(strategy, params, budget):
    from nasnb.evaluation.table import TableEvaluator
    from nasnb.spaces import CellSpace

    return Search(CellSpace(), get(strategy, **params), TableEvaluator("digits"), budget=budget, seed=2).run().trials


def test_two_resumes_at_once_one_is_refused_naming_the_holder_and_the_log_stays_exact(tmp_path):
    run = tmp_path / "run"
    params = ["--strategy", "hyperband", "--param", "max_epochs=4", "--param", "eta=2"]
    first = cli(*CLI_TABLE, *params, "--budget", "30", "--run-dir", str(run))
    assert first.wait(120) == 0, first.stderr.read()
    procs = [cli(sys.executable, "-m", "nasnb.cli", "resume", str(run), "--budget", "400") for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    refused = [err for p, (_, err) in zip(procs, outs) if p.returncode == 2]
    assert codes == [0, 2], outs
    assert "is in use by pid" in refused[0] and f"`nasnb resume {run} --budget 400`" in refused[0]
    trials = load_run(run).trials
    compare(trials, table_reference("hyperband", {"max_epochs": 4, "eta": 2}, 400), "concurrent writers")


# -- signals to the CLI at random moments ------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("strategy, params", [("hyperband", {"max_epochs": 4, "eta": 2}), ("evolution", {})])
def test_sigint_sigterm_sigkill_at_random_moments_then_resume_is_exact(tmp_path, strategy, params):
    import random

    rng = random.Random(zlib.crc32(strategy.encode()))
    run, budget = tmp_path / "run", 1500
    flags = [x for k, v in params.items() for x in ("--param", f"{k}={v}")]
    command = [*CLI_TABLE, "--strategy", strategy, *flags, "--budget", str(budget), "--run-dir", str(run)]
    landed = []
    for attempt in range(12):
        if (run / "run.json").exists():
            command = [sys.executable, "-m", "nasnb.cli", "resume", str(run)]
        proc = cli(*command)
        if attempt < 5:
            # signal a search that is running: wait until it has written a new trial, then a random moment
            # more (a fixed sleep let a fast machine finish the whole budget before the signals landed)
            before, deadline = _count_lines(run / "trials.jsonl"), time.monotonic() + 120
            while proc.poll() is None and _count_lines(run / "trials.jsonl") <= before and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.2))
            sig = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
            proc.send_signal(sig)
            t0 = time.monotonic()
            out, err = proc.communicate(timeout=60)
            stop_seconds = time.monotonic() - t0
            # 130: stopped cleanly; -2/-15: the signal came while Python was still importing, before
            # nasnb could set its handlers (nothing written yet); 0: the search had already finished
            expected = {signal.SIGINT: (130, -2, 0), signal.SIGTERM: (130, -15, 0), signal.SIGKILL: (-9, 0)}[sig]
            landed.append((sig.name, proc.returncode, _count_lines(run / "trials.jsonl")))
            handled = proc.returncode in expected
            if sig != signal.SIGKILL and proc.returncode == 130:
                assert "continue with: nasnb resume" in err
                handled = handled and stop_seconds < 5.0  # 1 s to stop plus interpreter exit on a loaded machine
            tally(f"{signal.Signals(sig).name} to the CLI", handled)
            assert handled, (sig, proc.returncode, err[-2000:])
        else:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-2000:]
            break
    print(landed)
    assert sum(code != 0 for _, code, _ in landed) >= 4, landed  # the signals hit a running search
    compare(load_run(run).trials, table_reference(strategy, params, budget), "signals to the CLI (all)")


# -- systemic failures fail fast -----------------------------------------------------------------------------
def test_the_same_error_for_the_first_trials_stops_the_search_with_what_to_do(tmp_path):
    def broken(arch):
        raise KeyError("images")

    search = Search(get_space("cell"), "random", broken, budget=50, run_dir=tmp_path / "run")
    with pytest.raises(SearchFailed, match=r"first 3 trials all failed with: KeyError: 'images'.*nasnb resume"):
        search.run()
    search.close()
    assert len(load_run(tmp_path / "run").trials) == 3


@pytest.mark.slow
def test_ctrl_c_during_real_training_stops_within_a_second_and_resume_matches_an_uninterrupted_run(tmp_path):
    from nasnb.evaluation import Trainer
    from nasnb.spaces import CellSpace

    run = tmp_path / "run"
    network = {"channels": 4, "stages": 1}
    command = [
        sys.executable,
        "-m",
        "nasnb.cli",
        "search",
        "--strategy",
        "evolution",
        "--param",
        "population_size=3",
        "--param",
        "tournament_size=2",
        "--epochs",
        "2",
        "--eval-param",
        json.dumps(network).join(["network=", ""]),
        "--seed",
        "4",
        "--budget",
        "6",
        "--run-dir",
        str(run),
    ]
    proc = cli(*command)
    deadline = time.time() + 180
    while _count_lines(run / "trials.jsonl") < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)  # into the next training
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    out, stopped = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "continue with: nasnb resume" in stopped, stopped[-2000:]
    seconds = time.monotonic() - t0
    resumed = cli(sys.executable, "-m", "nasnb.cli", "resume", str(run))
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    trainer = Trainer("digits", epochs=2, network=network)
    strategy = get("evolution", population_size=3, tournament_size=2)
    straight = Search(CellSpace(), strategy, trainer, budget=6, seed=4).run()
    stop_seconds = float(stopped.split("(stopped ")[1].split("s after")[0])
    tally("SIGINT to the CLI during real training", stop_seconds < 1.0)
    assert stop_seconds < 1.0, stopped[-500:]  # the search stopped within a second of Ctrl-C
    assert seconds < 60  # then the interpreter exits (torch's teardown takes seconds on a loaded machine)
    compare(load_run(run).trials, straight.trials, "SIGINT to the CLI during real training (trajectory)")
