"""One input's decision path, decision boundaries on moons, and training dynamics."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from nasnb import CellSpace, ChainSpace, Search
from nasnb.data import load_dataset
from nasnb.evaluation import Trainer, train_model
from nasnb.explain import (
    Dynamics,
    decision_boundary,
    explain_input,
    export_tensorboard,
    plot_cell_paths,
    plot_decision_boundaries,
    plot_dynamics,
    plot_feature_maps,
    plot_histograms,
    plot_input_explanation,
    plot_training_curves,
    population_boundaries,
    record_dynamics,
    strongest_paths,
    training_curves,
)
from nasnb.nn import build_model

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

CELL = "|conv_3x3~0|+|skip_connect~0|conv_3x3~1|+|none~0|conv_1x1~1|avg_pool_3x3~2|"


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def cell_model():
    trainer = Trainer("digits", epochs=1, network={"channels": 4}, keep_model=True)
    trainer(CellSpace().parse(CELL))
    return trainer.last_model_


def test_explain_input_returns_every_view(cell_model, digits):
    x, label = digits.val.x[3], int(digits.val.y[3])
    result = explain_input(cell_model, x, label=label, n_steps=8)
    assert result.saliency.shape == tuple(x.shape) == result.input.shape
    assert result.probabilities.shape == (10,) and result.prediction == int(result.probabilities.argmax())
    assert result.target == result.prediction and result.label == label
    assert set(result.edges["cell"]) == {0, 1} and len(result.edges) == 12
    dead = result.edges[result.edges["unit"] == "0->3"]
    assert (dead["attribution"] == 0).all() and not dead["live"].any()
    assert result.edges.groupby("cell")["magnitude"].max().eq(1.0).all()
    # 0->3 is none, so only the three paths through nodes 1 and 2 remain, ranked per cell
    assert set(result.paths["path"]) == {"0->1->3", "0->2->3", "0->1->2->3"}
    assert result.paths.groupby("cell")["rank"].apply(list).map(sorted).eq([[1, 2, 3]] * 2).all()
    assert set(result.feature_maps) == {"stem", "body.0", "body.2"}
    assert all(grid.ndim == 2 for grid in result.feature_maps.values())
    other = explain_input(cell_model, x.numpy()[None], target=(result.prediction + 1) % 10, n_steps=4)
    assert other.target != other.prediction
    plot_input_explanation(result)
    plot_cell_paths(result, cell=1)
    plot_feature_maps(result.feature_maps)


def test_strongest_paths_combine_edge_magnitudes():
    edges = pd.DataFrame(
        {
            "cell": 0,
            "unit": ["0->1", "0->2", "1->2", "0->3", "1->3", "2->3"],
            "op": "conv_3x3",
            "live": True,
            "attribution": 0.0,
            "magnitude": [1.0, 0.1, 0.9, 0.5, 0.9, 0.9],
        }
    )
    product = strongest_paths(edges).set_index("path")
    assert product["strength"].idxmax() == "0->1->3" and product.loc["0->1->3", "strength"] == pytest.approx(0.9)
    assert product.loc["0->3", "strength"] == 0.5 and len(product) == 4
    total = strongest_paths(edges, combine="sum").set_index("path")
    assert total["strength"].idxmax() == "0->1->2->3"
    with pytest.raises(ValueError, match="combine must be one of"):
        strongest_paths(edges, combine="max")


def test_chain_input_path_is_the_whole_chain(digits):
    trainer = Trainer("digits", epochs=1, keep_model=True)
    trainer(ChainSpace().parse("conv3x3-8-relu > maxpool > fc16-relu"))
    result = explain_input(trainer.last_model_, digits.val.x[0], n_steps=4)
    assert list(result.edges["unit"]) == ["L1", "L2", "L3"]
    assert list(result.paths["path"]) == ["L1 > L2 > L3"]
    assert list(result.feature_maps) == ["layers.L1"]
    with pytest.raises(ValueError, match="one input"):
        explain_input(trainer.last_model_, digits.val.x[:2])


def test_decision_boundaries_of_a_population():
    space = ChainSpace(layer_types=("fc",), max_layers=2)
    archs = [space.parse("fc8-tanh"), space.parse("fc16-relu > fc8-relu")]
    results = population_boundaries(archs, Trainer("moons", epochs=2, keep_model=True), resolution=25)
    assert len(results) == 2
    for arch, result in zip(archs, results):
        assert result.title == str(arch) and 0.0 <= result.accuracy <= 1.0
        assert result.xx.shape == result.yy.shape == result.predicted.shape == result.confidence.shape == (25, 25)
        assert set(np.unique(result.predicted)) <= {0, 1} and result.num_classes == 2
        assert result.points.shape == (200, 2) and result.labels.shape == (200,)
        assert (result.confidence >= 0.5 - 1e-6).all()
    assert results[0].xx.min() < results[0].points[:, 0].min()
    figure = plot_decision_boundaries(results, ncols=2)
    assert len([ax for ax in figure.axes if ax.get_title()]) == 2
    with pytest.raises(ValueError, match="keep its trained model"):
        population_boundaries(archs, Trainer("moons", epochs=1))


def test_decision_boundary_needs_two_dimensional_data(cell_model):
    with pytest.raises(ValueError, match="2-D inputs"):
        decision_boundary(cell_model, "digits")


def test_training_dynamics_frame(digits):
    arch = CellSpace().parse(CELL)
    dynamics = record_dynamics(arch, digits, epochs=2, network={"channels": 4}, bins=10)
    assert isinstance(dynamics, Dynamics) and dynamics.arch == CELL
    assert list(dynamics.norms.columns) == ["epoch", "unit", "op", "weight_norm", "grad_norm"]
    assert sorted(set(dynamics.norms["epoch"])) == [0, 1, 2]
    live = ["0->1", "0->2", "1->2", "1->3", "2->3"]  # 0->3 is none
    assert list(dynamics.norms[dynamics.norms["epoch"] == 0]["unit"]) == live
    convs = dynamics.norms[dynamics.norms["op"].str.startswith("conv")]
    assert convs[convs["epoch"] == 0]["grad_norm"].isna().all()
    assert (convs[convs["epoch"] > 0]["grad_norm"] > 0).all() and (convs["weight_norm"] > 0).all()
    assert dynamics.norms[dynamics.norms["op"] == "skip_connect"]["weight_norm"].isna().all()
    assert list(dynamics.curves.columns) == ["epoch", "train_loss", "val_loss", "val_accuracy"]
    assert list(dynamics.curves["epoch"]) == [1, 2]
    assert dynamics.metrics["epochs"] == 2 and "curves" not in dynamics.metrics
    weights = [h for h in dynamics.histograms if h.kind == "weight" and h.unit == "0->1"]
    assert [h.epoch for h in weights] == [0, 1, 2] and all(h.counts.sum() == h.num for h in weights)
    assert {h.epoch for h in dynamics.histograms if h.kind == "grad"} == {1, 2}
    plot_dynamics(dynamics)
    plot_histograms(dynamics, "1->2", kind="grad")
    with pytest.raises(ValueError, match="units with parameters"):
        plot_histograms(dynamics, "0->2")


def test_export_tensorboard_says_what_to_install(tmp_path, digits):
    dynamics = record_dynamics(ChainSpace().parse("fc8-relu"), digits, epochs=1)
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install tensorboard"):
            export_tensorboard(dynamics, tmp_path / "tb")
    else:
        path = export_tensorboard(dynamics, tmp_path / "tb")
        assert any(path.iterdir())


def test_training_curves_from_trials(planted):
    trainer = Trainer("digits", epochs=2, network={"channels": 4}, subset=300)
    search = Search(CellSpace(), "random", trainer, budget=2, seed=0).run()
    curves = training_curves(search)
    assert list(curves.columns) == ["trial", "arch", "epoch", "train_loss", "val_loss", "val_accuracy"]
    assert len(curves) == 4 and set(curves["trial"]) == {0, 1}
    ax = plot_training_curves(curves, highlight=[1])
    assert [list(line.get_ydata()) for line in ax.lines] == [
        list(curves[curves["trial"] == t]["val_accuracy"]) for t in (0, 1)
    ]
    assert [line.get_color() for line in ax.lines][0] == "#b0b0b0" and ax.lines[1].get_label() == "trial 1"
    plt.close(ax.figure)
    table_like = Search(
        CellSpace(), "random", lambda a: {"accuracy": 0.5, "curves": {"val_accuracy": [0.4, 0.5]}}, budget=1
    ).run()
    assert list(training_curves(table_like)["epoch"]) == [1, 2]
    assert training_curves(Search(CellSpace(), "random", planted, budget=1).run()).empty


def test_train_model_reports_each_epoch(digits):
    seen = []
    model = build_model(ChainSpace().parse("fc8-relu"), digits.input_shape, digits.num_classes)
    result = train_model(model, digits, epochs=3, on_epoch=seen.append)
    assert [info["epoch"] for info in seen] == [1, 2, 3] and all(info["model"] is model for info in seen)
    assert seen[-1]["val_accuracy"] == result["accuracy"]
