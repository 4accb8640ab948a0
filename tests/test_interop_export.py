"""A recorded run opened in the tools people already use: Optuna (and its dashboards) and TensorBoard."""

from __future__ import annotations

import json

import pytest

from nasnb import CellSpace, ChainSpace, Search, load_run
from nasnb.cli import main
from nasnb.evaluation import TableEvaluator

optuna = pytest.importorskip("optuna")


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    """A 25-trial evolution run on the shipped digits table: real recorded accuracies, in a second."""
    run_dir = tmp_path_factory.mktemp("runs") / "evo"
    search = Search(CellSpace(), "evolution", TableEvaluator("digits"), budget=25, seed=3, run_dir=run_dir)
    search.run()
    search.close()
    return load_run(run_dir)


def _failing_chain_run(tmp_path):
    """A chain run in which every third evaluation raises: failed trials must export as failures."""

    def evaluate(arch):
        if arch["depth"] == 2:
            raise RuntimeError("planted failure for depth 2")
        return {"accuracy": 0.1 * arch["depth"] + (0.01 if arch["L1.type"] == "conv" else 0.0), "params": 10}

    run_dir = tmp_path / "chain"
    search = Search(ChainSpace(), "random", evaluate, budget=12, seed=0, run_dir=run_dir)
    search.run()
    search.close()
    return load_run(run_dir)


def test_optuna_export_opens_in_optuna_with_the_same_best_trial(table_run, tmp_path):
    from nasnb.runs.optuna_export import export_optuna

    storage = f"sqlite:///{tmp_path / 'run.db'}"
    export_optuna(table_run, storage, study_name="evo")
    study = optuna.load_study(study_name="evo", storage=storage)  # a fresh reader, as a dashboard would be
    assert len(study.trials) == len(table_run.trials) == 25
    best = table_run.best()
    assert sum(t.score() == best.score() for t in table_run.trials) == 1  # a unique best: no tie to break
    assert study.best_trial.value == best.score()
    assert study.best_trial.user_attrs["nasnb_id"] == best.id
    assert study.best_trial.params == dict(CellSpace().parse(best.arch))
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    for ours, theirs in zip(table_run.trials, study.trials):
        assert theirs.user_attrs["arch"] == ours.arch
        assert theirs.user_attrs["decision"] == json.loads(json.dumps(ours.decision))
        assert theirs.value == ours.score()
        assert set(theirs.distributions["0->1"].choices) == set(CellSpace().choices["0->1"])
    mutated = [t for t in study.trials if t.user_attrs["decision"]["kind"] == "mutation"]
    assert mutated and all("tournament" in t.user_attrs["decision"] for t in mutated)


def test_optuna_export_records_failures_and_conditional_decisions(tmp_path):
    from nasnb.runs.optuna_export import export_optuna

    run = _failing_chain_run(tmp_path)
    study = export_optuna(run, f"sqlite:///{tmp_path / 'chain.db'}")
    failed = [t for t in run.trials if not t.ok]
    assert failed, "the planted failure never happened; pick another seed"
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE" if t.ok else "FAIL" for t in run.trials]
    for ours, theirs in zip(run.trials, study.trials):
        assert set(theirs.params) == set(ChainSpace().parse(ours.arch))  # only the decisions this chain made
        if not ours.ok:
            assert "planted failure" in theirs.user_attrs["error"] and theirs.values is None
    assert study.study_name == "chain"


def test_optuna_export_refuses_to_mix_into_an_existing_study(table_run, tmp_path):
    from nasnb.runs.optuna_export import export_optuna

    storage = f"sqlite:///{tmp_path / 'twice.db'}"
    export_optuna(table_run, storage, study_name="evo")
    with pytest.raises(ValueError, match="already holds a study named 'evo'"):
        export_optuna(table_run, storage, study_name="evo")


def test_nsga2_run_exports_as_a_multi_objective_study(tmp_path):
    from nasnb.runs.optuna_export import export_optuna

    run_dir = tmp_path / "nsga"
    search = Search(CellSpace(), "nsga2", TableEvaluator("digits"), budget=12, seed=0, run_dir=run_dir)
    search.run()
    search.close()
    study = export_optuna(run_dir, f"sqlite:///{tmp_path / 'nsga.db'}")
    assert study.metric_names == ["accuracy", "params"]
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    front = {t.user_attrs["nasnb_id"] for t in study.best_trials}
    from nasnb.strategies.objectives import pareto_front

    run = load_run(run_dir)
    points = [[t.metrics["accuracy"], t.metrics["params"]] for t in run.trials]
    assert front == {run.trials[i].id for i in pareto_front(points, ["max", "min"])}


def test_cli_export_optuna(table_run, tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["export-optuna", str(table_run.path), "--storage", storage]) == 0
    out = capsys.readouterr().out
    best = table_run.best()
    assert f"25 trials (25 complete) -> study 'evo' in {storage}" in out
    assert f"best: nasnb trial {best.id} value={best.score():.4f}" in out
    assert main(["export-optuna", str(table_run.path), "--storage", storage]) == 2
    assert "already holds a study named 'evo'" in capsys.readouterr().err


def _events(directory):
    """The summary events of the one event file in ``directory``, as TensorBoard's loader reads them."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    (path,) = directory.glob("events.out.tfevents.*")
    return [e for e in EventFileLoader(str(path)).Load() if e.HasField("summary")]


def test_tensorboard_hparams_export_reads_back_as_one_session_per_trial(table_run, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
    from tensorboard.util import tensor_util

    from nasnb.runs.tensorboard_export import KIND, export_tensorboard_hparams

    logdir = export_tensorboard_hparams(table_run, tmp_path / "tb")
    (experiment_event,) = _events(logdir)
    value = experiment_event.summary.value[0]
    assert value.metadata.plugin_data.plugin_name == "hparams"
    experiment = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content).experiment
    infos = {h.name: h for h in experiment.hparam_infos}
    assert set(infos) == {*CellSpace().choices, KIND}
    assert [v.string_value for v in infos["2->3"].domain_discrete.values] == list(CellSpace().choices["2->3"])
    assert experiment.metric_infos[0].name.tag == "accuracy"

    sessions = sorted(p.name for p in logdir.iterdir() if p.is_dir())
    assert sessions == [f"trial-{t.id:05d}" for t in table_run.trials]
    best = table_run.best()
    events = _events(logdir / f"trial-{best.id:05d}")
    start = plugin_data_pb2.HParamsPluginData.FromString(events[0].summary.value[0].metadata.plugin_data.content)
    decisions = {k: v.string_value for k, v in start.session_start_info.hparams.items()}
    assert decisions == {**dict(CellSpace().parse(best.arch)), KIND: best.decision["kind"]}
    scalars = {
        v.tag: float(tensor_util.make_ndarray(v.tensor)) for v in events[1].summary.value
    }  # as TensorBoard reads them
    assert scalars["accuracy"] == pytest.approx(best.score())
    end = plugin_data_pb2.HParamsPluginData.FromString(events[2].summary.value[0].metadata.plugin_data.content)
    assert end.session_end_info.status == api_pb2.STATUS_SUCCESS
    with pytest.raises(ValueError, match="is not empty"):
        export_tensorboard_hparams(table_run, logdir)


def test_tensorboard_export_of_a_chain_run_types_each_decision(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    run = _failing_chain_run(tmp_path)
    assert main(["export-tensorboard", str(run.path), "--logdir", str(tmp_path / "tb")]) == 0
    (event,) = _events(tmp_path / "tb")
    content = event.summary.value[0].metadata.plugin_data.content
    infos = {h.name: h for h in plugin_data_pb2.HParamsPluginData.FromString(content).experiment.hparam_infos}
    assert infos["depth"].type == api_pb2.DATA_TYPE_FLOAT64
    assert infos["L1.bn"].type == api_pb2.DATA_TYPE_BOOL
    assert infos["L1.type"].type == api_pb2.DATA_TYPE_STRING
    failed = next(t for t in run.trials if not t.ok)
    events = _events(tmp_path / "tb" / f"trial-{failed.id:05d}")
    assert len(events) == 2  # session start and end, no metrics
    end = plugin_data_pb2.HParamsPluginData.FromString(events[1].summary.value[0].metadata.plugin_data.content)
    assert end.session_end_info.status == api_pb2.STATUS_FAILURE
