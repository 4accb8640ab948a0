"""Per-edge importance inside one trained network, checked on a network with an edge silenced by construction."""

import copy

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from nasnb import CellSpace, ChainSpace
from nasnb.data import load_dataset
from nasnb.evaluation import Trainer, train_model
from nasnb.explain import agreement, edge_importance, plot_edge_importance
from nasnb.nn import build_model
from nasnb.spaces import EDGES

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

CELL = "|conv_3x3~0|+|skip_connect~0|conv_3x3~1|+|none~0|conv_1x1~1|avg_pool_3x3~2|"


class Times(nn.Module):
    """Multiplies its input by a constant: times zero silences whatever feeds it."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def trained():
    trainer = Trainer("digits", epochs=2, network={"channels": 4}, keep_model=True)
    trainer(CellSpace().parse(CELL))
    return trainer.last_model_


@pytest.fixture(scope="module")
def silenced(digits):
    """A network trained with edge 1->3's output multiplied by 0 in every cell: the edge exists but is unused."""
    torch.manual_seed(0)
    model = build_model(CellSpace().parse(CELL), digits.input_shape, digits.num_classes, channels=4)
    for cell in model.cells:
        cell.edges["1_3"] = nn.Sequential(cell.edges["1_3"], Times(0.0))
    train_model(model, digits, epochs=2, seed=0)
    return model


def test_ablation_of_a_silenced_edge_changes_nothing(silenced, digits):
    frame = edge_importance(silenced, digits, method="ablation").set_index("unit")
    assert list(frame.index) == list(EDGES)
    assert frame.loc["1->3", "importance"] == 0.0
    assert abs(frame.loc["1->3", "loss_increase"]) < 1e-6
    assert frame.loc[["0->1", "2->3"], "loss_increase"].min() > 0.01


def test_attribution_of_a_silenced_edge_is_zero(silenced, digits):
    frame = edge_importance(silenced, digits, method="attribution", n_samples=128).set_index("unit")
    assert frame.loc["1->3", "importance"] < 1e-6 * frame["importance"].max()
    assert frame.loc[["0->1", "1->2", "2->3"], "importance"].min() > 0
    assert frame["share"].sum() == pytest.approx(1.0)


def test_conductance_agrees_on_the_silenced_edge(silenced, digits):
    frame = edge_importance(
        silenced, digits, method="attribution", attribution="conductance", n_samples=32, n_steps=4
    ).set_index("unit")
    assert frame.loc["1->3", "importance"] < 1e-6 * frame["importance"].max()


def test_dead_edges_are_reported_as_unused(trained, digits):
    for method in ("ablation", "attribution"):
        frame = edge_importance(trained, digits, method=method, n_samples=64).set_index("unit")
        assert not frame.loc["0->3", "live"] and frame.loc["0->3", "importance"] == 0.0
        assert frame.loc["0->3", "op"] == "none"


def test_skip_edges_get_their_own_gradient_not_their_nodes(trained, digits):
    """A skip edge's output tensor is its input node; attribution must not count the node's other uses."""
    frame = edge_importance(trained, digits, method="attribution", n_samples=64).set_index("unit")
    model = copy.deepcopy(trained)
    for cell in model.cells:
        cell.edges["0_2"] = nn.Sequential(nn.Identity(), Times(1.0))  # same function, a fresh output tensor
    wrapped = edge_importance(model, digits, method="attribution", n_samples=64).set_index("unit")
    assert frame.loc["0->2", "importance"] == pytest.approx(wrapped.loc["0->2", "importance"], rel=1e-4)


def test_agreement_and_single_cells(trained, digits):
    result = agreement(trained, digits, n_samples=128)
    assert result.n_live == 5 and -1.0 <= result.spearman <= 1.0
    assert {"ablation", "loss_increase", "attribution", "share"} <= set(result.frame.columns)
    one = edge_importance(trained, digits, cell=1, ablation="mean", n_samples=64)
    assert one["method"].iloc[0] == "ablation (mean)" and len(one) == 6
    with pytest.raises(ValueError, match="cell must be"):
        edge_importance(trained, digits, cell=5)
    with pytest.raises(ValueError, match="method must be one of"):
        edge_importance(trained, digits, method="shapley")
    ax = plot_edge_importance(result.frame, column="attribution")
    assert [p.get_height() for p in ax.patches] == pytest.approx(list(result.frame["attribution"]))
    assert ax.get_ylabel() == "attribution" and ax.get_title() == "attribution"  # the agreement frame has no method
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        f"{u}\n{op}" for u, op in zip(result.frame["unit"], result.frame["op"])
    ]
    plt.close(ax.figure)


def test_chain_networks_are_explained_per_layer_block(digits):
    trainer = Trainer("digits", epochs=1, keep_model=True)
    trainer(ChainSpace().parse("conv3x3-8-relu > maxpool > fc16-relu"))
    model = trainer.last_model_
    for method in ("ablation", "attribution"):
        frame = edge_importance(model, digits.val, method=method, n_samples=64)
        assert list(frame["unit"]) == ["L1", "L2", "L3"]
        assert list(frame["op"]) == ["conv3x3", "maxpool", "fc16"]
        assert (frame["importance"] > 0).all()
    with pytest.raises(TypeError, match="CellNetwork or ChainNetwork"):
        edge_importance(nn.Linear(2, 2), digits)


def test_measurements_leave_the_model_as_they_found_it(trained, digits):
    trained.train()
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    edge_importance(trained, digits, method="attribution", n_samples=32)
    edge_importance(trained, digits, method="ablation", n_samples=32)
    assert trained.training
    after = trained.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert np.isfinite(edge_importance(trained, digits, n_samples=8)["importance"]).all()
    trained.eval()
