"""Weights in the run, load_model, retrain, export (ONNX checked by a real onnxruntime, TorchScript, state dict).

One small real search (digits, 1 epoch, 4-channel cells) keeps every trial's weights; a second keeps only
the best. Every check runs real models on real test images.
"""

import hashlib
import json

import numpy as np
import pytest
import torch
from torch import nn

from nasnb import CellSpace, Search, load_model, load_run
from nasnb.cli import main
from nasnb.data import load_dataset
from nasnb.deploy import ExportError, TrainedModel, export, from_weights_file, load_trained, retrain
from nasnb.deploy.cli import export_lines
from nasnb.evaluation import Trainer, evaluate_model
from nasnb.evaluation.weights import MissingWeightsError
from nasnb.nn import build_model

NETWORK = {"channels": 4, "stages": 1}


def _search(run_dir, keep, budget=4):
    trainer = Trainer(epochs=1, network=NETWORK, keep_weights=keep)
    search = Search(CellSpace(), "random", trainer, budget=budget, seed=1, run_dir=run_dir)
    search.run()
    search.close()
    return search


@pytest.fixture(scope="module")
def run_all(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "all"
    _search(path, "all")
    return path


@pytest.fixture(scope="module")
def run_best(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "best"
    _search(path, "best")
    return path


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_cell_networks_script_and_match_eager():
    rng = np.random.default_rng(0)
    space = CellSpace()
    archs = [space.sample(rng) for _ in range(12)]
    archs.append(space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"))  # no path: zeros
    x = torch.randn(5, 1, 8, 8)
    for arch in archs:
        model = build_model(arch, (1, 8, 8), 10, channels=4, cells_per_stage=2).eval()
        scripted = torch.jit.script(model)
        assert torch.equal(scripted(x), model(x)), str(arch)


def test_every_kept_model_reproduces_its_recorded_accuracy(run_all):
    run = load_run(run_all)
    data = load_dataset("digits")
    assert len(run.trials) == 4
    for trial in run.trials:
        model = load_model(run_all, trial.id)
        assert not model.training
        assert evaluate_model(model, data.val)[1] == pytest.approx(trial.metrics["accuracy"], abs=1e-9)
    best = load_trained(run_all, "best")
    assert best.trial.id == run.best().id


def test_best_mode_keeps_one_file_for_the_best_trial(run_best):
    run = load_run(run_best)
    files = sorted(p.name for p in (run_best / "weights").glob("*.pt"))
    assert len(files) == 1
    data = load_dataset("digits")
    model = load_model(run_best, "best")
    assert evaluate_model(model, data.val)[1] == pytest.approx(run.best().metrics["accuracy"])
    other = next(t for t in run.trials if t.arch != run.best().arch)
    with pytest.raises(MissingWeightsError, match="retrain"):
        load_model(run_best, other.id)


def test_retrain_gives_the_searched_model_back_and_never_overwrites(run_best):
    run = load_run(run_best)
    other = next(t for t in run.trials if t.arch != run.best().arch)
    again = retrain(run_best, other.id, keep=True)
    assert evaluate_model(again.model, load_dataset("digits").val)[1] == pytest.approx(other.metrics["accuracy"])
    assert isinstance(load_model(run_best, other.id), nn.Module)  # kept now
    before = _digest(run_best)
    with pytest.raises(FileExistsError):
        retrain(run_best, other.id, keep=True)
    assert _digest(run_best) == before


def test_a_table_run_is_retrained_at_the_table_recipe_and_kept(tmp_path):
    from nasnb.evaluation import TableEvaluator

    run_dir = tmp_path / "table"
    search = Search(CellSpace(), "random", TableEvaluator("digits"), budget=3, seed=0, run_dir=run_dir)
    search.run()
    search.close()
    with pytest.raises(MissingWeightsError, match="retrain"):
        load_model(run_dir, "best")
    with pytest.raises(ValueError, match="keep=True"):
        retrain(run_dir, "best", keep=True, epochs=1)
    again = retrain(run_dir, "best", keep=True)
    assert again.record["epochs"] == 6 and again.record["network"]["channels"] == 8  # the table's recipe
    model = load_model(run_dir, "best")
    x = load_dataset("digits").test.x[:16]
    assert torch.equal(model(x), again.model(x))


def test_bad_trials_and_trainer_settings_are_named():
    with pytest.raises(ValueError, match="keep_weights"):
        Trainer(keep_weights="most").validate()
    with pytest.raises(ValueError, match="weights_dir"):
        Trainer(keep_weights="best").validate()


def test_bad_trial_ids(run_all):
    with pytest.raises(ValueError, match="no trial 99"):
        load_model(run_all, 99)
    with pytest.raises(ValueError, match="'best'"):
        load_model(run_all, "first")


def test_onnx_export_matches_onnxruntime_on_real_inputs(run_all, tmp_path):
    import onnxruntime as ort

    out = tmp_path / "model.onnx"
    result = export(run_all, out, format="onnx")
    x = load_dataset("digits").test.x[:64].numpy()
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    want = load_model(run_all, "best")(torch.from_numpy(x)).detach().numpy()
    assert np.abs(got - want).max() <= 1e-4
    card = json.loads(result.card_path.read_text())
    assert card["checks"]["onnxruntime_max_abs_diff"] <= 1e-4
    assert card["architecture"]["arch"] == load_run(run_all).best().arch
    assert card["model"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert card["preprocessing"]["scale"] == 16.0 and len(card["preprocessing"]["mean"]) == 1
    assert 0.0 < card["metrics"]["test_accuracy"] <= 1.0
    assert card["versions"]["nasnb"]


def test_int8_onnx_export_is_smaller_agrees_with_pytorch_and_is_served(run_all, tmp_path):
    import onnx
    import onnxruntime as ort

    from nasnb.deploy.monitor import serving_function
    from nasnb.deploy.onnx_int8 import QUANTISED_OPS, session_options

    float_out, int8_out = tmp_path / "model.onnx", tmp_path / "model-int8.onnx"
    export(run_all, float_out, format="onnx")
    result = export(run_all, int8_out, format="onnx-int8")
    graph = onnx.load(str(int8_out)).graph
    ops = {node.op_type for node in graph.node}
    assert {"QLinearConv", "QLinearAdd", "QGemm"} <= ops and "Conv" not in ops
    assert max(len(t.name) for t in graph.initializer) <= 3  # compact names: hex ids
    weights = sum(p.numel() for p in load_model(run_all, "best").parameters() if p.dim() > 1)  # conv, linear
    saved = float_out.stat().st_size - int8_out.stat().st_size
    assert saved >= 0.5 * 3 * weights  # at least half of the 3 bytes per weight that int8 saves, net of scales
    checks = result.card["checks"]
    assert checks["float32_onnx_bytes"] == float_out.stat().st_size
    assert checks["quantised_ops"] == list(QUANTISED_OPS) and checks["calibration_images"] > 0
    x = load_dataset("digits").test.x[:256]
    got = serving_function(str(int8_out))(x.numpy()).argmax(1)
    want = load_model(run_all, "best")(x).detach().numpy().argmax(1)
    assert (got == want).mean() == pytest.approx(checks["top1_agreement"]) and checks["top1_agreement"] >= 0.95
    assert result.card["model"]["format"] == "onnx-int8"
    levels = ort.GraphOptimizationLevel
    assert session_options(int8_out).graph_optimization_level == levels.ORT_ENABLE_BASIC  # no QLinearAveragePool
    assert session_options(float_out).graph_optimization_level == levels.ORT_ENABLE_ALL


def test_torchscript_export_scripts_and_state_dict_round_trips(run_all, tmp_path):
    x = load_dataset("digits").test.x[:32]
    model = load_model(run_all, 1)
    result = export(run_all, tmp_path / "m.pt", format="torchscript", trial=1)
    assert result.card["checks"]["torchscript_method"] == "script"
    assert torch.equal(torch.jit.load(str(tmp_path / "m.pt"))(x), model(x))
    export(run_all, tmp_path / "w.pt", format="state-dict", trial=1)
    assert torch.equal(from_weights_file(tmp_path / "w.pt").model(x), model(x))


def test_packed_exports_reload_identically_and_int8_is_smaller(run_all, tmp_path):
    from nasnb.deploy import load_packed
    from tests.helpers.trained import ARCH, trained_cell

    x = load_dataset("digits").test.x[:64]
    model = load_model(run_all, "best")
    fp32 = export(run_all, tmp_path / "m.nasnb", format="packed")
    with torch.no_grad():
        assert torch.equal(load_packed(tmp_path / "m.nasnb")(x), model(x))
    assert fp32.card["checks"]["float32_packed_bytes"] == (tmp_path / "m.nasnb").stat().st_size
    # int8 from a model trained to ~0.9 (the run's 1-epoch models sit near ties, where int8 flips answers)
    record = {**load_trained(run_all, "best").record, "arch": ARCH, "network": {"channels": 8}}
    trained = TrainedModel(trained_cell(), record)
    int8 = export(trained, tmp_path / "m8.nasnb", format="packed-int8")
    with torch.no_grad():
        got = load_packed(tmp_path / "m8.nasnb")(x)
    assert got.shape == (64, 10) and int8.card["checks"]["top1_agreement"] >= 0.95
    assert int8.card["checks"]["reload_identical"] and int8.card["model"]["format"] == "packed-int8"
    assert int8.card["model"]["bytes"] < int8.card["checks"]["float32_packed_bytes"] / 3
    # the card and the CLI give the int8 file's own test accuracy, measured by running the file
    test = load_dataset("digits").test
    with torch.no_grad():
        own = float((load_packed(tmp_path / "m8.nasnb")(test.x).argmax(1) == test.y).float().mean())
    assert int8.card["metrics"]["file_test_accuracy"] == pytest.approx(own)
    assert int8.card["metrics"]["test_accuracy"] == pytest.approx(evaluate_model(trained.model, test)[1])
    lines = export_lines(int8.card, int8.path, int8.card_path)
    assert f"test accuracy of this file: {own:.4f}" in lines[2] and "float32 model" in lines[2]
    assert lines[3] == "  checks:" and len(lines) == 4 + len(int8.card["checks"])
    assert any(line.split() == ["calibration_images", "256"] for line in lines[4:])
    with pytest.raises(FileExistsError, match="exists"):
        export(trained, tmp_path / "m8.nasnb", format="packed-int8")


class _NumpyNet(nn.Module):
    """Cannot be scripted (numpy in forward), and a trace would freeze one input's answer."""

    def forward(self, x):
        return torch.from_numpy(x.numpy().reshape(len(x), -1)[:, :10].copy())


def test_a_model_that_cannot_be_scripted_or_traced_is_refused_and_leaves_nothing(run_all, tmp_path):
    trained = load_trained(run_all, "best")
    odd = TrainedModel(_NumpyNet(), trained.record)
    with pytest.warns(UserWarning, match="falling back to tracing"), pytest.raises(ExportError, match="onnx"):
        export(odd, tmp_path / "odd.pt", format="torchscript")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_never_overwritten(run_all, tmp_path):
    out = tmp_path / "model.onnx"
    out.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="exists"):
        export(run_all, out)
    assert out.read_bytes() == b"keep me"
    with pytest.raises(ValueError, match="format must be one of"):
        export(run_all, tmp_path / "x.tflite", format="tflite")


def test_cli_search_keep_weights_then_export(tmp_path, capsys):
    run_dir = tmp_path / "run"
    args = ["search", "--strategy", "random", "--epochs", "1", "--budget", "2", "--seed", "0"]
    args += ["--eval-param", json.dumps(NETWORK).join(["network=", ""]), "--run-dir", str(run_dir)]
    assert main([*args, "--keep-weights", "best"]) == 0
    assert len(list((run_dir / "weights").glob("*.pt"))) == 1
    before = _digest(run_dir)
    out = tmp_path / "m.onnx"
    assert main(["export", str(run_dir), "--format", "onnx", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    card = json.loads((tmp_path / "m.onnx.card.json").read_text())
    # one readable line per check; the file's own accuracy beside the trained model's
    printed = text[text.index("wrote ") :].splitlines()[2:]  # after the two lines that name paths
    assert printed[1] == "  checks:" and [line.split()[0] for line in printed[2:]] == list(card["checks"])
    assert all(len(line) <= 120 for line in printed)
    assert f"test accuracy of this file: {card['metrics']['file_test_accuracy']:.4f}" in text
    # a run's network options are completed with the defaults the network was built with
    assert card["architecture"]["network"] == {**NETWORK, "cells_per_stage": 1, "dropout": 0.0}
    assert main(["export", str(run_dir), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["export", str(run_dir), "--format", "coreml", "--out", str(tmp_path / "m.x")]) == 2
    assert "format must be one of" in capsys.readouterr().err
    run = load_run(run_dir)
    other = next(t for t in run.trials if t.id != run.best().id and t.arch != run.best().arch)
    assert main(["export", str(run_dir), "--trial", str(other.id), "--out", str(tmp_path / "w.onnx")]) == 2
    assert "retrain" in capsys.readouterr().err
    assert _digest(run_dir) == before
    assert main([*args[:-1], str(tmp_path / "t"), "--evaluator", "table", "--keep-weights", "all"]) == 2
