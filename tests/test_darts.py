"""DARTS on CellSpace: the supernet's mixed ops, the bilevel steps, both selection rules and the records."""

from __future__ import annotations

import pytest
import torch

from nasnb.evaluation import Control, EvaluationInterrupted, controlled
from nasnb.evaluation.darts import DARTS, DartsResult, argmax_cell, param_free_share
from nasnb.evaluation.darts_plots import alpha_trajectories, plot_alphas
from nasnb.evaluation.table import OK, cell_number, load_table
from nasnb.nn.supernet import MixedOp, SuperNetwork
from nasnb.spaces import EDGES, OPS, CellSpace

SMALL = {"epochs": 2, "subset": 300, "batch_size": 32, "network": {"channels": 4}}


@pytest.fixture(scope="module")
def result() -> DartsResult:
    return DARTS(**SMALL).search(seed=0)


def test_mixed_op_is_the_weighted_sum_of_its_operations():
    torch.manual_seed(0)
    mixed = MixedOp(OPS, 3).train()
    x = torch.randn(4, 3, 5, 5)
    weights = torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15])
    expected = sum(w * op(x) for w, op in zip(weights, mixed.ops))
    assert torch.allclose(mixed(x, weights, [True] * 5), expected, atol=1e-6)
    skipped = mixed(x, weights, [True, True, True, False, True])  # an inactive op is not computed
    assert torch.allclose(skipped, expected - weights[3] * mixed.ops[3](x), atol=1e-6)


def test_masking_and_projection_change_the_edge_weights():
    net = SuperNetwork((1, 8, 8), 10, channels=4)
    weights = net.edge_weights()
    assert torch.allclose(weights.sum(dim=-1), torch.ones(len(EDGES)))
    with net.without("1->2", "conv_3x3"):
        assert net.edge_weights()[EDGES.index("1->2"), OPS.index("conv_3x3")] == 0
    assert net.edge_weights()[EDGES.index("1->2"), OPS.index("conv_3x3")] > 0
    net.project("0->3", "skip_connect")
    row = net.edge_weights()[EDGES.index("0->3")]
    assert row.tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]


def test_one_architecture_step_moves_alpha():
    torch.manual_seed(0)
    net = SuperNetwork((1, 8, 8), 10, channels=4)
    before = net.alpha.detach().clone()
    opt = torch.optim.Adam(net.arch_parameters(), lr=0.01)
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,))
    torch.nn.functional.cross_entropy(net(x), y).backward()
    weights_before = [p.detach().clone() for p in net.weight_parameters()]
    opt.step()
    assert not torch.equal(net.alpha.detach(), before)
    assert all(torch.equal(p, q) for p, q in zip(net.weight_parameters(), weights_before))  # only alpha moved


def test_records_hold_softmax_rows_and_the_parameter_free_share(result):
    assert [r.epoch for r in result.records] == [0, 1, 2]
    assert result.records[0].train_accuracy is None
    for record in result.records:
        assert set(record.alphas) == set(EDGES)
        for probs in record.alphas.values():
            assert set(probs) == set(OPS) and sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
        assert 0 <= record.val_accuracy <= 1
        assert record.param_free_share == pytest.approx(param_free_share(record.alphas))
        assert 0 <= record.param_free_share <= 1
    assert result.records[0].alphas != result.records[-1].alphas
    assert result.param_free_shares() == [r.param_free_share for r in result.records]
    frame = result.to_frame()
    assert len(frame) == 3 and "0->1:skip_connect" in frame


def test_both_selection_rules_return_valid_cells(result):
    space = CellSpace()
    for cell in (result.argmax_cell, result.perturbation_cell):
        assert space.validate(dict(cell)) == cell
        assert space.parse(str(cell)) == cell
    last = result.records[-1].alphas
    assert dict(result.argmax_cell) == {e: max(last[e], key=last[e].get) for e in EDGES}


def test_perturbation_drops_cover_every_edge_and_op(result):
    assert set(result.perturbation_drops) == set(EDGES)
    for edge, drops in result.perturbation_drops.items():
        assert set(drops) == set(OPS)
        assert drops["none"] == 0.0  # removing an op that adds zero changes nothing
        assert result.perturbation_cell[edge] == max(OPS, key=lambda o: drops[o])


def test_table_accuracies_come_from_the_three_seed_table(result):
    table = load_table("digits-seeds")
    for cell, value in (
        (result.argmax_cell, result.argmax_table_accuracy),
        (result.perturbation_cell, result.perturbation_table_accuracy),
    ):
        row = table.index[cell_number(cell)]
        if table.status[row] == OK:
            assert value == pytest.approx(float(table.val_accuracy[row]))
        else:
            assert value is None


def test_same_seed_same_search(result):
    again = DARTS(**SMALL).search(seed=0)
    assert again.records == result.records
    assert again.perturbation_drops == result.perturbation_drops


def test_argmax_cell_of_a_hand_set_alpha():
    net = SuperNetwork((1, 8, 8), 10, channels=4)
    with torch.no_grad():
        net.alpha.zero_()
        net.alpha[:, OPS.index("skip_connect")] = 1.0
    assert set(argmax_cell(net).values()) == {"skip_connect"}


def test_stop_is_cooperative_and_bad_settings_are_named():
    control = Control()
    control.stop_requested.set()
    with controlled(control), pytest.raises(EvaluationInterrupted):
        DARTS(**SMALL).search()
    with pytest.raises(ValueError, match="epochs must be an int >= 1, got 0"):
        DARTS(epochs=0).search()
    with pytest.raises(ValueError, match="arch_lr must be a number > 0"):
        DARTS(arch_lr=0).search()
    assert "epochs=2" in repr(DARTS(**SMALL))


def test_alpha_plot_data_and_figure(result):
    data = alpha_trajectories(result)
    assert data.epochs == [0, 1, 2]
    assert all(len(values) == 3 for ops in data.probabilities.values() for values in ops.values())
    assert data.argmax == dict(result.argmax_cell) and data.perturbation == dict(result.perturbation_cell)
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plot_alphas(result)
    assert len(fig.axes) == 8
    plt.close(fig)
