"""Compression: int8 quantisation, pruning, low rank, distillation; each core step checked by hand, on real digits."""

import hashlib
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from nasnb import CellSpace, Search
from nasnb.cli import main
from nasnb.compress import (
    QuantizationError,
    distill,
    factorize_conv,
    factorize_linear,
    hinton_loss,
    low_rank,
    prune_structured,
    prune_unstructured,
    quantize_int8,
    sensitivity,
)
from nasnb.compress.record import measure
from nasnb.data import load_dataset
from nasnb.deploy.packed import load_packed, model_description, pack
from nasnb.evaluation import Trainer, evaluate_model
from nasnb.nn import build_model
from tests.helpers.trained import ARCH, trained_cell


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def trained():
    return trained_cell()


def test_hinton_loss_by_hand():
    s = torch.tensor([[2.0, 0.0, -1.0]])
    t = torch.tensor([[1.0, 1.0, 0.0]])
    y = torch.tensor([0])
    T, alpha = 2.0, 0.6
    ps = np.exp(s.numpy()[0] / T) / np.exp(s.numpy()[0] / T).sum()
    pt = np.exp(t.numpy()[0] / T) / np.exp(t.numpy()[0] / T).sum()
    kl = float((pt * np.log(pt / ps)).sum())
    ce = -math.log(math.exp(2.0) / (math.exp(2.0) + 1 + math.exp(-1.0)))
    assert float(hinton_loss(s, t, y, T, alpha)) == pytest.approx(alpha * T * T * kl + (1 - alpha) * ce, rel=1e-5)
    assert float(hinton_loss(s, t, y, T, 0.0)) == pytest.approx(ce, rel=1e-6)


def test_svd_factorisation_is_exact_at_full_rank_and_optimal_below():
    torch.manual_seed(0)
    layer = nn.Linear(6, 5)
    x = torch.randn(4, 6)
    assert torch.allclose(factorize_linear(layer, 5)(x), layer(x), atol=1e-5)
    w = layer.weight.detach()
    s = torch.linalg.svdvals(w)
    f = factorize_linear(layer, 2)
    approx = (f[1].weight @ f[0].weight).detach()
    assert float(torch.linalg.matrix_norm(w - approx)) == pytest.approx(float(s[2:].square().sum().sqrt()), rel=1e-4)
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    img = torch.randn(2, 3, 7, 7)
    assert torch.allclose(factorize_conv(conv, 4)(img), conv(img), atol=1e-5)
    assert factorize_conv(conv, 2)(img).shape == conv(img).shape


def test_low_rank_saves_parameters_and_reports_energy(trained, data):
    result = low_rank(trained, data, rank_ratio=0.25)
    baseline = measure(trained, data, "baseline", repeats=3)
    assert result.params < baseline.params
    factored = [row for row in result.layers if row["factorised"]]
    assert factored and all(
        0 < row["energy_kept"] < 1 and row["params_after"] < row["params_before"] for row in factored
    )
    with pytest.raises(ValueError, match="rank_ratio"):
        low_rank(trained, data, rank_ratio=0)


def test_int8_quantisation_is_smaller_and_keeps_accuracy(trained, data):
    result = quantize_int8(trained, data, calibration=128)
    baseline = measure(trained, data, "baseline", repeats=3)
    assert result.size_bytes < 0.75 * baseline.size_bytes
    assert result.test_accuracy >= baseline.test_accuracy - 0.05
    assert result.params == baseline.params and result.macs == baseline.macs
    kinds = {row["quantised"] for row in result.layers}
    assert kinds == {"int8 static", "int8 dynamic"}
    qtypes = {type(m).__module__ for m in result.model.modules()}
    assert any("quantized" in name for name in qtypes)
    assert evaluate_model(trained, data.test)[1] == baseline.test_accuracy  # the float model is untouched


@pytest.fixture(scope="module")
def described(data):
    """What the packed file needs to rebuild ``trained`` (the ARCH cell at 8 channels)."""
    return model_description(CellSpace().parse(ARCH), data.input_shape, data.num_classes, channels=8)


def test_interleaved_latency_times_each_model_in_turn_on_the_batch_asked(data):
    from nasnb.compress.record import interleaved_latency_ms

    seen: list[tuple[str, int]] = []

    class Recorder(nn.Module):
        def __init__(self, name):
            super().__init__()
            self.name = name

        def forward(self, x):
            seen.append((self.name, len(x)))
            return x

    medians = interleaved_latency_ms([Recorder("a"), Recorder("b")], data, batch=5, repeats=4)
    assert len(medians) == 2 and all(m > 0 for m in medians)
    # 3 warm-up passes each, then one pass of each model in turn, so a burst of load meets both alike
    assert seen == [("a", 5)] * 3 + [("b", 5)] * 3 + [("a", 5), ("b", 5)] * 4


def test_int8_record_has_the_packed_size_over_3x_smaller_where_torch_save_is_not(trained, data, described):
    baseline = measure(trained, data, "baseline", repeats=3, description=described)
    int8 = quantize_int8(trained, data, calibration=128, description=described)
    assert baseline.packed_bytes == len(pack(trained, described))
    assert int8.packed_bytes == len(pack(int8.model, described))
    with torch.no_grad():  # the size is that of a file which gives the int8 model back
        x = data.test.x[:64]
        assert torch.equal(load_packed(pack(int8.model, described))(x), int8.model(x))
    ratios = int8.ratios(baseline)
    assert ratios["packed_size_ratio"] == pytest.approx(baseline.packed_bytes / int8.packed_bytes)
    assert ratios["packed_size_ratio"] >= 3.0 and ratios["packed_size_ratio"] > ratios["size_ratio"]
    assert ratios["size_ratio"] < 2.5  # torch.save's per-tensor records: why the packed size is reported too
    assert "packed_bytes" in int8.to_dict() and measure(trained, data, "plain", repeats=1).packed_bytes is None


def test_pruned_and_factorised_models_have_packed_sizes_of_files_that_give_them_back(trained, data, described):
    baseline = measure(trained, data, "baseline", repeats=1, description=described)
    narrower = prune_structured(trained, data, ratio=0.5, finetune_epochs=0, description=described)
    factored = low_rank(trained, data, rank_ratio=0.25, description=described)
    zeroed = prune_unstructured(trained, data, amount=0.5, description=described)
    x = data.test.x[:64]
    for result in (narrower, factored):
        payload = pack(result.model, described, changed_layers=True)  # the layers it changed, described
        assert result.packed_bytes == len(payload) < baseline.packed_bytes
        with torch.no_grad():
            assert torch.equal(load_packed(payload)(x), result.model(x))
        assert result.ratios(baseline)["packed_size_ratio"] > 1.0
    # same shapes, zeros stored like any number (only BatchNorm's batch counter, a header scalar, changes)
    assert abs(zeroed.packed_bytes - baseline.packed_bytes) <= 16
    state = torch.random.get_rng_state()
    measure(trained, data, "again", repeats=1, description=described)  # rebuilding to check leaves the seed alone
    assert torch.equal(torch.random.get_rng_state(), state)


def test_a_model_the_packed_file_cannot_rebuild_has_no_packed_size(trained, data, described):
    narrower = prune_structured(trained, data, ratio=0.5, finetune_epochs=0)
    assert narrower.packed_bytes is None  # nothing to measure it with: no description
    pruned_int8 = quantize_int8(narrower.model, data, calibration=64, description=described)
    assert pruned_int8.packed_bytes is None  # int8 files rebuild the architecture's own widths
    baseline = measure(trained, data, "baseline", repeats=1, description=described)
    assert pruned_int8.ratios(baseline)["packed_size_ratio"] is None
    assert measure(_Branchy(), data, "not a cell", repeats=1, description=described).packed_bytes is None
    incomplete = {k: v for k, v in described.items() if k != "arch"}
    assert measure(trained, data, "no arch", repeats=1, description=incomplete).packed_bytes is None


class _Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow: torch.fx cannot trace it
            return self.fc(x.flatten(1))
        return -self.fc(x.flatten(1))


def test_an_untraceable_model_is_refused_with_a_reason(data):
    with pytest.raises(QuantizationError, match="trace"):
        quantize_int8(_Branchy(), data)


def test_unstructured_pruning_zeroes_the_global_smallest_half(trained, data):
    result = prune_unstructured(trained, data, amount=0.5)
    weights = sum(row["weights"] for row in result.layers)
    zeros = sum(round(row["sparsity"] * row["weights"]) for row in result.layers)
    assert zeros == round(0.5 * weights)
    layers = [m for m in trained.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    threshold = torch.cat([m.weight.detach().abs().flatten() for m in layers]).kthvalue(zeros).values
    kept = [m for m in result.model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert all(float(m.weight.detach().abs()[m.weight != 0].min()) >= float(threshold) for m in kept)
    tuned = prune_unstructured(trained, data, amount=0.5, finetune_epochs=1)
    assert tuned.nonzero_params <= result.nonzero_params + 10  # masks held during fine-tuning (biases may move)


def test_structured_pruning_halves_coupled_channels_and_still_runs(trained, data):
    result = prune_structured(trained, data, ratio=0.5, finetune_epochs=1)
    widths = {row["layer"]: (row["channels_before"], row["channels_after"]) for row in result.layers}
    assert widths["stem.0"] == (8, 4)
    assert widths["head.4"] == (10, 10)  # the classes are never pruned
    assert result.model(data.test.x[:5]).shape == (5, 10)
    assert result.params < 0.4 * sum(p.numel() for p in trained.parameters())
    assert "val_accuracy_after_finetune" in result.settings


def test_sensitivity_rows_for_layers_and_live_edges(trained, data):
    rows = sensitivity(trained, data, ratios=(0.5, 0.9))
    base = evaluate_model(trained, data.val)[1]
    layers = [r for r in rows if r["kind"] == "layer"]
    edges = [r for r in rows if r["kind"] == "edge"]
    assert len(layers) == 2 * sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in trained.modules())
    assert {(r["cell"], r["edge"]) for r in edges} == {
        (c, e) for c in (0, 1) for e in ("0->1", "0->2", "1->2", "0->3", "1->3", "2->3")
    }
    assert all(r["drop"] == pytest.approx(base - r["accuracy"]) for r in rows)
    assert max(r["drop"] for r in edges) > 0.05  # some edge carries the accuracy


def test_distillation_trains_student_and_twin_from_the_same_start(trained, data):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        student = build_model(CellSpace().parse(ARCH), data.input_shape, data.num_classes, channels=4)
    result = distill(trained, student, data, epochs=2, temperature=3.0, alpha=0.7)
    assert result.student.params == result.alone.params
    assert result.gain_points == pytest.approx(100 * (result.student.test_accuracy - result.alone.test_accuracy))
    assert sum(row["n"] for row in result.per_class) == len(data.test)
    assert 0.0 <= result.agreement <= 1.0 and result.teacher_accuracy == evaluate_model(trained, data.test)[1]
    with pytest.raises(ValueError, match="alpha"):
        distill(trained, student, data, alpha=0.0)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("c") / "run"
    trainer = Trainer(epochs=1, network={"channels": 4, "stages": 1}, keep_weights="best")
    search = Search(CellSpace(), "random", trainer, budget=3, seed=2, run_dir=path)
    search.run()
    search.close()
    return path


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_cli_compress_prints_records_and_refuses_bad_input(run_dir, capsys):
    before = _digest(run_dir)
    assert main(["compress", str(run_dir), "--method", "int8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["result"]["method"] == "int8" and out["ratios"]["tensor_size_ratio"] > 1.5
    packed = out["baseline"]["packed_bytes"], out["result"]["packed_bytes"]
    assert out["ratios"]["packed_size_ratio"] == pytest.approx(packed[0] / packed[1])
    assert out["ratios"]["packed_size_ratio"] > out["ratios"]["size_ratio"]
    assert {
        "size_bytes",
        "tensor_bytes",
        "params",
        "macs",
        "latency_ms_b1",
        "latency_ms_b64",
        "test_accuracy",
        "layers",
        "packed_bytes",
    } <= set(out["result"])
    assert main(["compress", str(run_dir), "--method", "int8"]) == 0
    text = capsys.readouterr().out
    assert "packed B" in text and "torch.save file" in text and "nasnb export --format packed-int8" in text
    # the like-for-like reference: float32 pooled as the int8 model pools, timed and named in the output
    settings = out["result"]["settings"]
    assert settings["pooling"] == "matmul" and settings["float32_same_pooling_ms_b64"] > 0
    assert settings["like_for_like_speedup_b64"] > 0 and settings["like_for_like_speedup_b1"] > 0
    assert "float32 pooled the same way" in text and "timed in turn" in text and "like for like" in text
    assert main(["compress", str(run_dir), "--method", "lowrank", "--param", "rank_ratio=0.5"]) == 0
    text = capsys.readouterr().out
    assert "smaller" in text and "as a packed file" in text and "changed_layers=True" in text
    assert main(["compress", str(run_dir), "--method", "zip"]) == 2
    assert "must be one of" in capsys.readouterr().err
    assert main(["compress", str(run_dir), "--method", "prune", "--param", "speed=11"]) == 2
    assert "speed" in capsys.readouterr().err
    assert main(["compress", str(run_dir), "--method", "int8", "--trial", "77"]) == 2
    assert _digest(run_dir) == before


def test_compress_trial_names_the_baseline_and_the_result(run_dir):
    from nasnb.compress import compress_trial

    measured = compress_trial(run_dir, "best", "lowrank", rank_ratio=0.5)
    assert measured.baseline.method == "baseline" and measured.result.method != "baseline"
    assert measured.result.params < measured.baseline.params


def test_timed_in_turn_retimes_both_records_and_keeps_everything_else(trained, data):
    from nasnb.compress.run import timed_in_turn

    baseline = measure(trained, data, "baseline", repeats=3)
    result = prune_unstructured(trained, data, amount=0.5, finetune_epochs=0)
    new_baseline, new_result = timed_in_turn(baseline, result, data)
    for old, new in ((baseline, new_baseline), (result, new_result)):
        assert new.latency_ms_b1 > 0 and new.latency_ms_b64 > 0 and new.model is old.model
        assert {**new.to_dict(), "latency_ms_b1": 0, "latency_ms_b64": 0} == {
            **old.to_dict(),
            "latency_ms_b1": 0,
            "latency_ms_b64": 0,
        }


# -- explanations: data first, renderers draw it ----------------------------------------------------


def test_pruned_cell_graph_labels_what_went(trained, data):
    from nasnb.compress import pruned_cell_graph

    arch = CellSpace().parse(ARCH)
    structured = prune_structured(trained, data, ratio=0.5, finetune_epochs=0)
    graph = pruned_cell_graph(arch, structured, cell=0)
    by_edge = {e["decision"]: e for e in graph.edges}
    assert by_edge["0->1"]["kept"] == 0.5 and "8->4 ch" in by_edge["0->1"]["label"]
    assert by_edge["1->2"]["kept"] == 0.5 and by_edge["1->2"]["kind"] == "skip_connect"  # the stage's channels
    assert "8 -> 4 channels" in graph.title
    loose = prune_unstructured(trained, data, amount=0.5)
    sparsity = {row["layer"]: row["sparsity"] for row in loose.layers}
    edge = next(e for e in pruned_cell_graph(arch, loose, cell=1).edges if e["decision"] == "2->3")
    assert edge["kept"] == pytest.approx(1 - sparsity["body.2.edges.2_3.1"])
    with pytest.raises(ValueError, match="cell must be"):
        pruned_cell_graph(arch, loose, cell=5)


def test_pruned_cell_graph_widths_are_the_channels_each_edge_carries_after_pruning(trained, data):
    from dataclasses import replace

    from nasnb.compress import pruned_cell_graph
    from nasnb.compress.explain import stage_channels

    arch = CellSpace().parse(ARCH)
    structured = prune_structured(trained, data, ratio=0.5, finetune_epochs=0)
    for cell, (before, after) in ((0, (8, 4)), (1, (16, 8))):
        graph = pruned_cell_graph(arch, structured, cell=cell)
        kinds = {e["kind"] for e in graph.edges}
        assert {"skip_connect", "avg_pool_3x3", "conv_3x3"} <= kinds
        for edge in graph.edges:  # weightless edges too: a skip passes on the stage's (now fewer) channels
            assert edge["kept"] == after / before, edge
            assert f"{before}->{after} ch" in edge["label"]
    # a cell without convolutions takes its stage's width from the last convolution before it
    # (the stem, or the reduction opening the stage), never from the classifier after it
    cells_alone = replace(structured, layers=tuple(r for r in structured.layers if ".edges." not in r["layer"]))
    assert stage_channels(cells_alone, 0) == (8, 4)
    assert stage_channels(cells_alone, 2) == (16, 8)
    # unstructured pruning zeroes weights only: edges without weights are untouched
    loose = pruned_cell_graph(arch, prune_unstructured(trained, data, amount=0.5), cell=0)
    assert {e["kept"] for e in loose.edges if e["kind"] in ("skip_connect", "avg_pool_3x3")} == {1.0}


def test_pruned_cell_is_drawn_by_the_architecture_renderer_with_widths_for_what_is_left(trained, data):
    import matplotlib

    matplotlib.use("Agg")
    from nasnb.compress import plot_pruned_cell, pruned_cell_graph
    from nasnb.spaces import plot_architecture

    arch = CellSpace().parse(ARCH)
    graph = pruned_cell_graph(arch, prune_structured(trained, data, ratio=0.5, finetune_epochs=0), cell=0)
    ax = plot_pruned_cell(graph)
    halos, arrows = ax.patches[0::2], ax.patches[1::2]
    assert len(arrows) == len(graph.edges) and {p.get_linewidth() for p in halos} == {5.0}
    assert [p.get_linewidth() for p in arrows] == pytest.approx([0.6 + 4.4 * e["kept"] for e in graph.edges])
    plain = plot_architecture(arch, show_none=False)
    assert {p.get_linewidth() for p in plain.patches} == {2.0}  # the shared renderer's default


def test_tradeoff_and_sensitivity_data_and_renderers(trained, data):
    import matplotlib

    matplotlib.use("Agg")
    from nasnb.compress import edge_sensitivity, plot_edge_sensitivity, plot_tradeoff, tradeoff_points
    from nasnb.compress.explain import tradeoff_range

    baseline = measure(trained, data, "baseline", repeats=3)
    sweep = [low_rank(trained, data, rank_ratio=r) for r in (0.25, 0.75)]
    points = tradeoff_points(baseline, sweep)
    assert [p["method"] for p in points] == ["baseline", "lowrank", "lowrank"]
    assert [p["setting"] for p in points] == ["", "rank_ratio=0.25", "rank_ratio=0.75"]
    assert [p["label"] for p in points] == ["baseline", "rank 0.25", "rank 0.75"]
    axes = plot_tradeoff(points)
    texts = [t for t in axes[0].texts if t.get_text()]
    assert sorted(t.get_text().split(" (")[0] for t in texts) == ["baseline", "rank 0.25", "rank 0.75"]
    renderer = axes[0].figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])  # labels never collide
    low, high = axes[0].get_ylim()
    assert (low, high) == pytest.approx(tradeoff_range(points))
    rows = sensitivity(trained, data, ratios=(0.5,))
    ranked = edge_sensitivity(rows)
    assert [r["drop"] for r in ranked] == sorted((r["drop"] for r in ranked), reverse=True)
    assert len(plot_edge_sensitivity(rows).patches) == len(ranked)


# -- compression-aware objective --------------------------------------------------------------------


def test_tradeoff_range_shows_the_points_near_the_baseline():
    from nasnb.compress.explain import tradeoff_range

    def point(method, accuracy):
        return {"method": method, "test_accuracy": accuracy}

    points = [point("baseline", 0.95), point("int8", 0.96), point("lowrank", 0.90), point("lowrank", 0.18)]
    low, high = tradeoff_range(points)  # 90-96 % shown (0.18 is far below), padded by 1 point
    assert (low, high) == pytest.approx((89.0, 97.0))
    assert tradeoff_range([point("baseline", 0.995), point("int8", 0.99)])[1] == 100.0  # never above 100 %


def test_tradeoff_labels_never_collide_when_points_crowd():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.text import Text

    from nasnb.compress import plot_tradeoff

    def point(method, size, ms, accuracy, label):
        return {"method": method, "size_bytes": size, "latency_ms_b64": ms, "test_accuracy": accuracy, "label": label}

    # a run a newcomer saw: two techniques at the same accuracy a few thousand bytes apart near the left
    # edge, the baseline under unstructured pruning, two low ranks far below and at the same latency
    points = [
        point("baseline", 72361, 12.3, 0.9806, "baseline"),
        point("int8", 42300, 2.7, 0.9778, "int8"),
        point("prune-structured", 33800, 5.4, 0.9778, "structured 0.5"),
        point("prune-unstructured", 72361, 4.2, 0.9833, "unstructured 0.5"),
        point("lowrank", 40800, 9.8, 0.3389, "rank 0.25"),
        point("lowrank", 55000, 9.8, 0.6806, "rank 0.5"),
        point("lowrank", 67800, 10.4, 0.9611, "rank 0.75"),
    ]
    axes = plot_tradeoff(points)
    renderer = axes[0].figure.canvas.get_renderer()
    for ax in axes:
        notes = [t for t in ax.texts if t.get_text()]
        assert len(notes) == len(points)
        assert [t.get_text() for t in notes if "(" in t.get_text()] == ["rank 0.25 (34 %)", "rank 0.5 (68 %)"]
        boxes = [Text.get_window_extent(t, renderer) for t in notes]
        frame = ax.get_window_extent(renderer)
        assert all(frame.contains(b.x0, b.y0) and frame.contains(b.x1, b.y1) for b in boxes)
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_objective_t_by_hand():
    from nasnb.compress import objective_t

    assert objective_t(0.9, -0.05, 2.0, 0.1) == pytest.approx(0.65)


def test_compression_aware_search_ranks_by_int8_accuracy():
    from nasnb.compress import CompressionAwareEvaluator

    trainer = Trainer(epochs=1, network={"channels": 4, "stages": 1})
    evaluator = CompressionAwareEvaluator(trainer, lam=0.01, complexity="params", normalize=1000.0, calibration=64)
    search = Search(CellSpace(), "random", evaluator, budget=3, seed=4, metric="int8_accuracy")
    search.run()
    ok = [t for t in search.trials if t.ok]
    assert len(ok) == 3
    for t in ok:
        m = t.metrics
        assert m["generalisation"] == pytest.approx(m["accuracy"] - m["train_accuracy"])
        want = m["int8_accuracy"] + m["generalisation"] - 0.01 * m["params"] / 1000.0
        assert m["objective"] == pytest.approx(want)
    assert search.best.metrics["int8_accuracy"] == max(t.metrics["int8_accuracy"] for t in ok)
    with pytest.raises(ValueError, match="complexity"):
        CompressionAwareEvaluator(trainer, complexity="watts")(CellSpace().parse(ARCH))


def _lines_fit(text):
    return all(len(line) <= 120 for line in text.splitlines())


def test_cli_int8_says_batch_1_like_for_like_and_its_packed_size_is_the_exported_file(run_dir, capsys, tmp_path):
    assert main(["compress", str(run_dir), "--method", "int8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    summary, result = out["summary"], out["result"]
    # batch 1 is reported as well as batch 64, with both models' milliseconds, in the plain and like-for-like lines
    assert f"({result['latency_ms_b1']:.2f} vs {out['baseline']['latency_ms_b1']:.2f} ms)" in summary["speed"]
    assert "batch 64:" in summary["speed"] and "at batch 1" in summary["like_for_like"]
    speedup1 = result["settings"]["like_for_like_speedup_b1"]  # int8 and float32 pooled alike, timed in turn
    assert f"{speedup1:.2f}x at batch 1" in summary["like_for_like"]
    assert "calibrated on 256 training images" in summary["did"] and "no training" in summary["did"]
    assert summary["written"] is None and summary["save"][0].startswith("nasnb export ")
    # the save command, run as printed, writes a file of exactly the packed size compress reported
    command = summary["save"][0].split()
    out_file = tmp_path / "model-int8.nasnb"
    assert main([*command[1:-1], str(out_file)]) == 0
    capsys.readouterr()
    assert out_file.stat().st_size == result["packed_bytes"]
    assert main(["compress", str(run_dir), "--method", "int8"]) == 0
    text = capsys.readouterr().out
    assert "nothing was written" in text and "like for like:" in text and _lines_fit(text)


def test_cli_prune_says_it_fine_tuned_that_the_baseline_did_not_and_how_to_save(run_dir, capsys, tmp_path, monkeypatch):
    assert main(["compress", str(run_dir), "--method", "prune", "--param", "finetune_epochs=1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    summary, settings = out["summary"], out["result"]["settings"]
    assert "removed 50% of the channels" in summary["did"] and "fine-tuned 1 epoch " in summary["did"]
    assert f"{settings['val_accuracy_after_finetune']:.4f} after" in summary["did"]
    assert out["baseline"]["settings"]["train_epochs"] == 1
    (note,) = [n for n in summary["notes"] if "not trained further" in n]
    assert "trained 1 epoch and not trained further" in note and "finetune_epochs=0" in note
    # the Python lines of the hint, run as printed, write a packed file that gives the pruned model back
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec("\n".join(summary["save"]), namespace)
    restored = load_packed(tmp_path / "model.nasnb")
    x = load_dataset("digits").test.x[:16]
    with torch.no_grad():
        assert torch.equal(restored(x), namespace["c"].result.model(x))
    assert (tmp_path / "model.nasnb").stat().st_size == out["result"]["packed_bytes"]
    # without fine-tuning there is no extra training to warn about
    assert main(["compress", str(run_dir), "--method", "prune", "--param", "finetune_epochs=0"]) == 0
    text = capsys.readouterr().out
    assert "no fine-tuning" in text and "not trained further" not in text and _lines_fit(text)
    # recalibrating BatchNorm alone moves the accuracy of a briefly trained network: said too
    assert "BatchNorm statistics were re-estimated" in text
