"""The run log: round trips, torn and corrupt lines, resume and replay."""

import json
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nasnb import CellSpace, Search, load_run, resume_search
from nasnb.runs import RunLogError, RunLogWarning, RunWriter
from nasnb.runs.files import read_trials
from nasnb.trial import Trial

finite = st.floats(allow_nan=False, allow_infinity=False)
metric_values = st.one_of(
    finite,
    st.integers(),
    st.text(max_size=5),
    st.none(),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=3),
)
trials = st.builds(
    Trial,
    id=st.integers(0, 10**6),
    step=st.integers(0, 10**6),
    arch=st.text(max_size=40),
    decision=st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=3),
    metrics=st.dictionaries(st.text(max_size=8), metric_values, max_size=4),
    status=st.sampled_from(["ok", "failed"]),
    error=st.none() | st.text(max_size=30),
    started=st.floats(0, 2e9),
    seconds=st.floats(0, 1e4),
)


@given(st.lists(trials, max_size=8), st.data())
def test_trials_round_trip_and_any_truncation_keeps_a_clean_prefix(tmp_path_factory, records, data):
    run_dir = tmp_path_factory.mktemp("run")
    writer = RunWriter(run_dir, {"space": {}})
    for t in records:
        writer.append(t)
    writer.close()
    path = run_dir / "trials.jsonl"
    loaded, problems, good = read_trials(path)
    assert loaded == records and problems == [] and good == path.stat().st_size

    raw = path.read_bytes()
    cut = data.draw(st.integers(0, len(raw)))
    path.write_bytes(raw[:cut])
    prefix, problems, good = read_trials(path)
    assert prefix == records[: len(prefix)]
    complete_lines = raw[:cut].count(b"\n")
    assert len(prefix) in (complete_lines, complete_lines + 1)  # a whole record may lack only its newline
    torn = len(prefix) < len(records) and raw[:cut].rstrip(b"\n") != b"\n".join(raw.split(b"\n")[: len(prefix)])
    assert bool(problems) == torn


def test_non_finite_metrics_are_logged_as_null_so_the_log_stays_standard_json(tmp_path):
    writer = RunWriter(tmp_path / "r", {"space": {}})
    writer.append(Trial(0, 0, "a", {}, {"accuracy": 0.5, "val_loss": float("nan"), "curve": [1.0, float("inf")]}))
    writer.close()
    line = (tmp_path / "r" / "trials.jsonl").read_text()
    assert "NaN" not in line and "Infinity" not in line
    assert json.loads(line)["metrics"] == {"accuracy": 0.5, "val_loss": None, "curve": [1.0, None]}


def test_corrupt_last_line_is_reported_skipped_and_resume_continues(tmp_path, planted):
    run_dir = tmp_path / "run"
    Search(CellSpace(), "evolution", planted, budget=8, seed=4, run_dir=run_dir).run().close()
    path = run_dir / "trials.jsonl"
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:6]) + b"\n" + lines[6][: len(lines[6]) // 2])  # killed mid-write
    with pytest.warns(RunLogWarning, match="last line .* skipped"):
        run = load_run(run_dir)
    assert len(run.trials) == 6 and run.problems
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RunLogWarning)
        resumed = resume_search(run_dir, evaluator=planted, budget=12).run()
    resumed.close()
    straight = Search(CellSpace(), "evolution", planted, budget=12, seed=4).run()
    assert [t.arch for t in resumed.trials] == [t.arch for t in straight.trials]
    reloaded = load_run(run_dir)  # the torn line was cut, nothing else lost
    assert reloaded.problems == () and len(reloaded) == 12


def test_corrupt_middle_line_is_named(tmp_path, planted):
    run_dir = tmp_path / "run"
    Search(CellSpace(), "random", planted, budget=4, run_dir=run_dir).run().close()
    path = run_dir / "trials.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    with pytest.warns(RunLogWarning, match="line 2 skipped"):
        run = load_run(run_dir)
    assert [t.id for t in run.trials] == [0, 2, 3]
    with pytest.raises(RunLogError, match="trial 1 is missing"):
        run.strategy_at(3)


def test_resume_from_checkpoint_and_log_matches_uninterrupted(tmp_path, planted):
    run_dir = tmp_path / "run"
    first = Search(CellSpace(), "evolution", planted, budget=15, seed=7, run_dir=run_dir, checkpoint_every=0)
    first.run().close()
    checkpoint = json.loads((run_dir / "checkpoint.json").read_text())
    assert checkpoint["n_told"] == 15 and checkpoint["pending"] == []
    resumed = resume_search(run_dir, evaluator=planted, budget=40).run()
    straight = Search(CellSpace(), "evolution", planted, budget=40, seed=7).run()
    assert [t.arch for t in resumed.trials] == [t.arch for t in straight.trials]
    assert [t.decision for t in resumed.trials] == [t.decision for t in straight.trials]


def test_replay_rebuilds_the_population_at_any_step(tmp_path, planted):
    run_dir = tmp_path / "run"
    live = Search(CellSpace(), "evolution", planted, budget=30, seed=1, run_dir=run_dir)
    snapshots = {}
    live.on("trial_finished", lambda t: snapshots.__setitem__(t.step + 1, live.strategy.population_ids()))
    live.run().close()
    run = load_run(run_dir)
    for step in (1, 10, 21, 30):
        assert run.strategy_at(step).population_ids() == snapshots[step]


def test_run_dir_in_use_and_missing_runs_are_explained(tmp_path, planted):
    run_dir = tmp_path / "run"
    Search(CellSpace(), "random", planted, budget=1, run_dir=run_dir).run().close()
    with pytest.raises(RunLogError, match="already holds a run.*resume"):
        Search(CellSpace(), "random", planted, budget=1, run_dir=run_dir)
    with pytest.raises(RunLogError, match="does not exist"):
        load_run(tmp_path / "nope")
    with pytest.raises(ValueError, match="pass it again"):
        resume_search(run_dir)


def test_changed_strategy_code_is_detected_on_resume(tmp_path, planted):
    run_dir = tmp_path / "run"
    Search(CellSpace(), "evolution", planted, budget=6, seed=0, run_dir=run_dir).run().close()
    config = json.loads((run_dir / "run.json").read_text())
    config["seed"] = 99
    (run_dir / "run.json").write_text(json.dumps(config))
    (run_dir / "checkpoint.json").unlink()
    with pytest.raises(RunLogError, match="replay diverged at trial 0"):
        resume_search(run_dir, evaluator=planted)


def test_dataframe_has_one_row_per_trial(tmp_path, planted):
    run_dir = tmp_path / "run"
    Search(CellSpace(), "random", planted, budget=5, run_dir=run_dir).run().close()
    frame = load_run(run_dir).to_dataframe()
    assert list(frame["id"]) == list(range(5)) and "accuracy" in frame and (frame["status"] == "ok").all()


def _stored_decision(trial):
    """What the trial holds in its decision slot, without the parse that reading ``decision`` does."""
    return Trial.__dict__["decision"].__get__(None, Trial).__get__(trial, Trial)


def test_a_loaded_trial_keeps_its_decision_packed_until_read_and_readers_see_the_same_trial(tmp_path, planted):
    import dataclasses
    import pickle

    from nasnb.trial import PackedDecision

    run_dir = tmp_path / "run"
    search = Search(CellSpace(), "evolution", planted, budget=12, seed=3, run_dir=run_dir)
    search.run().close()
    run = load_run(run_dir)
    live, loaded = search.trials[-1], run.trials[-1]
    assert type(_stored_decision(loaded)) is PackedDecision and json.loads(_stored_decision(loaded)) == live.decision
    assert list(run.to_dataframe()["kind"]) == [t.decision["kind"] for t in search.trials]
    assert type(_stored_decision(loaded)) is PackedDecision  # the DataFrame's "kind" column did not unpack it
    assert loaded == live and loaded.to_json() == live.to_json() and repr(loaded) == repr(live)
    assert type(loaded.decision) is dict and type(_stored_decision(loaded)) is dict  # parsed once, then kept
    copy = pickle.loads(pickle.dumps(run.trials[-2]))
    assert copy == search.trials[-2] and type(copy.decision) is dict
    assert dataclasses.asdict(run.trials[-3]) == dataclasses.asdict(search.trials[-3])
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.decision = {}
    assert loaded.arch is run.trials[-1].arch and all(t.arch == u.arch for t, u in zip(run.trials, search.trials))


def test_run_records_are_named_and_read_only(tmp_path, planted):
    import dataclasses

    from nasnb.runs.files import TrialLog

    run_dir = tmp_path / "run"
    Search(CellSpace(), "random", planted, budget=3, run_dir=run_dir).run().close()
    log = read_trials(run_dir / "trials.jsonl")
    assert isinstance(log, TrialLog) and [t.id for t in log.trials] == [0, 1, 2]
    assert log.problems == [] and log.good_length == (run_dir / "trials.jsonl").stat().st_size
    run = load_run(run_dir)
    assert isinstance(run.trials, tuple) and run.problems == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.trials = ()


def test_lines_in_another_key_order_or_with_tricky_text_read_back_the_same(tmp_path):
    tricky = Trial(
        id=0,
        step=0,
        arch='a","decision":{"x":1},"b\\"',
        decision={"change": {"decision": "0->1", "metrics": {"accuracy": 1}}, "note": '","metrics":{}'},
        metrics={"accuracy": 0.5, "curves": {"decision": [0.1]}},
    )
    other = Trial(id=1, step=1, arch="b", decision={"kind": "init"}, metrics={"accuracy": 0.25}, status="ok")
    reordered = json.dumps({"metrics": other.metrics, "decision": other.decision, **json.loads(other.to_json())})
    path = tmp_path / "trials.jsonl"
    path.write_text(tricky.to_json() + "\n" + reordered + "\n")
    log = read_trials(path)
    assert log.trials == [tricky, other] and log.problems == []
    assert log.trials[0].decision["note"] == '","metrics":{}' and log.trials[0].arch == tricky.arch
