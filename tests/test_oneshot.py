"""One-shot weight sharing: uniform seeded path sampling, a supernet trained one path at a time, cells read off it
as the table's own networks, scores that come from the shared weights, and the ranking measures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from nasnb.data import load_dataset
from nasnb.evaluation import Control, EvaluationInterrupted, controlled, load_table
from nasnb.evaluation.oneshot import OneShot, OneShotResult, path_forward, rank_agreement, recalibrate
from nasnb.evaluation.trainer import evaluate_model
from nasnb.nn import count_params
from nasnb.nn.cell import edge_key
from nasnb.spaces import EDGES, OPS, CellSpace

SMALL = {"epochs": 2, "batch_size": 32, "network": {"channels": 4}, "calibration": 64}
# dead edges: 0->1 is none, so node 1 gets nothing and 1->2, 1->3 are cut off from the input
DEAD = "|none~0|+|avg_pool_3x3~0|conv_3x3~1|+|conv_1x1~0|skip_connect~1|conv_3x3~2|"


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits", subset=300)


@pytest.fixture(scope="module")
def result(data) -> OneShotResult:
    return OneShot(**SMALL).fit(data, seed=0)


def test_paths_are_uniform_per_edge_and_seeded():
    sampler = OneShot()
    rng = np.random.default_rng(3)
    paths = [sampler.sample_path(rng) for _ in range(5000)]
    assert paths[:20] == [sampler.sample_path(r) for r in [np.random.default_rng(3)] for _ in range(20)]
    assert paths[:20] != [sampler.sample_path(r) for r in [np.random.default_rng(4)] for _ in range(20)]
    for edge in EDGES:
        counts = [sum(p[edge] == op for p in paths) for op in OPS]
        assert chisquare(counts).pvalue > 1e-3, (edge, counts)  # 1000 expected each
    pairs = [sum(p["0->1"] == a and p["2->3"] == b for p in paths) for a in OPS for b in OPS]
    assert chisquare(pairs).pvalue > 1e-3  # edges drawn independently: 25 pairs, 200 each


def test_training_counts_one_path_per_step_and_is_deterministic(result, data):
    steps = SMALL["epochs"] * (len(data.train.y) // SMALL["batch_size"])
    assert all(sum(ops.values()) == steps for ops in result.op_counts.values())
    assert [h.epoch for h in result.history] == [1, 2]
    assert all(0 <= h.train_accuracy <= 1 and np.isfinite(h.train_loss) for h in result.history)
    again = OneShot(**SMALL).fit(data, seed=0)
    assert again.op_counts == result.op_counts
    for p, q in zip(result.supernet.parameters(), again.supernet.parameters()):
        assert torch.equal(p, q)
    other = OneShot(**SMALL).fit(data, seed=1)
    assert other.op_counts != result.op_counts
    assert torch.equal(result.supernet.alpha, again.supernet.alpha)  # no architecture weights are trained


def test_only_the_sampled_operations_learn_in_a_step(data):
    """One SPOS step: the weights of the sampled path move; an operation off the path keeps its weights."""
    oneshot = OneShot(**SMALL)
    result = oneshot.fit(data, seed=0)
    net = result.supernet
    path = dict.fromkeys(EDGES, "conv_1x1")
    assert all(p.grad is None for p in net.parameters())  # fit leaves no gradients behind
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    net.train()
    loss = torch.nn.functional.cross_entropy(path_forward(net, path, data.train.x[:16]), data.train.y[:16])
    loss.backward()
    torch.optim.SGD(net.weight_parameters(), lr=0.1).step()
    moved = {n for n, p in net.named_parameters() if not torch.equal(p, before[n])}
    conv3 = OPS.index("conv_3x3")
    assert f"body.0.edges.0_1.ops.{OPS.index('conv_1x1')}.1.weight" in moved
    assert not any(f".ops.{conv3}." in n for n in moved)
    assert "stem.0.weight" in moved and "alpha" not in moved


def test_a_cell_read_off_the_supernet_is_the_tables_network(data):
    table = load_table("digits")
    result = OneShot(epochs=1, batch_size=64).fit(data, seed=0)  # default network: the table recipe's
    space = CellSpace()
    for text in (DEAD, "|conv_3x3~0|+|conv_3x3~0|conv_3x3~1|+|conv_3x3~0|conv_3x3~1|conv_3x3~2|"):
        arch = space.parse(text)
        assert count_params(result.inherit(arch)) == table.lookup(arch).params


def test_inherited_network_computes_the_path_and_holds_copies(result, data):
    arch = CellSpace().parse(DEAD)
    net, shared = result.inherit(arch), result.supernet
    x = data.val.x[:32]
    net.train(), shared.train()
    assert torch.allclose(net(x), path_forward(shared, dict(arch), x), atol=1e-6)
    j = OPS.index("conv_3x3")
    mine, theirs = net.body[2].edges["2_3"][1].weight, shared.body[2].edges["2_3"].ops[j][1].weight
    assert torch.equal(mine, theirs) and mine.data_ptr() != theirs.data_ptr()
    assert isinstance(net.body[0].edges[edge_key("1->2")], torch.nn.Module)
    assert not list(net.body[0].edges[edge_key("1->2")].parameters())  # a dead edge holds no weights


def test_scores_come_from_the_shared_weights(result, data):
    oneshot = OneShot(**SMALL)
    space = CellSpace()
    arch = space.parse(DEAD)
    (score,) = oneshot.score(result, [arch], data)
    net = result.inherit(arch)
    recalibrate(net, data.train.x[:64])
    assert score == evaluate_model(net, data.val).accuracy
    fresh = OneShot(**{**SMALL, "epochs": 1}).fit(data, seed=5)
    with torch.no_grad():  # fresh weights on the cell's path: another score
        for p in fresh.supernet.parameters():
            p.mul_(0)
    assert oneshot.score(fresh, [arch], data)[0] != score
    # weights of an operation the cell does not use do not change its score; its own do
    unused = result.supernet.body[0].edges["0_1"].ops[OPS.index("conv_3x3")][1].weight
    used = result.supernet.body[2].edges["2_3"].ops[OPS.index("conv_3x3")][1].weight
    with torch.no_grad():
        unused.add_(1.0)
    assert oneshot.score(result, [arch], data)[0] == score
    with torch.no_grad():
        unused.sub_(1.0)
        used.neg_()
    assert oneshot.score(result, [arch], data)[0] != score
    with torch.no_grad():
        used.neg_()


def test_recalibrate_sets_plain_batch_statistics():
    bn = torch.nn.Sequential(torch.nn.BatchNorm2d(2))
    bn[0].running_mean.fill_(5.0)
    x = torch.arange(2 * 2 * 3 * 3, dtype=torch.float32).reshape(2, 2, 3, 3)
    recalibrate(bn, x)
    assert torch.allclose(bn[0].running_mean, x.mean(dim=(0, 2, 3)))
    assert torch.allclose(bn[0].running_var, x.transpose(0, 1).reshape(2, -1).var(dim=1))
    assert not bn.training and bn[0].momentum == 0.1


def test_rank_agreement_by_hand():
    same = rank_agreement([1, 2, 3, 4], [10, 20, 30, 40], k=2)
    assert (same.spearman, same.kendall, same.top_overlap) == (1.0, 1.0, 1.0)
    flipped = rank_agreement([4, 3, 2, 1], [10, 20, 30, 40], k=2)
    assert (flipped.spearman, flipped.kendall, flipped.top_overlap) == (-1.0, -1.0, 0.0)
    # one swapped pair of 6 among 4 items: tau = (5 - 1) / 6, rho = 1 - 6*2/(4*15) = 0.8; top-2 {3, 2} vs {3, 2}
    one = rank_agreement([1, 2, 4, 3], [1, 2, 3, 4], k=2)
    assert one.kendall == pytest.approx(4 / 6) and one.spearman == pytest.approx(0.8) and one.top_overlap == 1.0
    assert rank_agreement([5, 5, 1, 0], [0, 9, 8, 1], k=1).top_overlap == 0.0  # tie: the first 5 wins
    with pytest.raises(ValueError, match="k must be an int in"):
        rank_agreement([1, 2, 3], [1, 2, 3], k=4)
    with pytest.raises(ValueError, match="equally long"):
        rank_agreement([1, 2, 3], [1, 2])


def test_clear_errors(result, data):
    with pytest.raises(ValueError, match="OneShot parameter epochs must be an int"):
        OneShot(epochs=0).fit(data)
    narrow = OneShot(**{**SMALL, "epochs": 1, "ops": ("skip_connect", "conv_3x3")}).fit(data, seed=0)
    with pytest.raises(ValueError, match="never trained"):
        narrow.inherit(CellSpace().parse(DEAD))
    assert "epochs=2" in repr(OneShot(epochs=2))


def test_a_search_can_stop_training(data):
    control = Control()
    control.stop_requested.set()
    with controlled(control), pytest.raises(EvaluationInterrupted):
        OneShot(**SMALL).fit(data, seed=0)


def test_progress_reaches_a_search_and_the_notebook(data, capsys):
    seen = []
    with controlled(Control(on_progress=seen.append)):
        result = OneShot(**{**SMALL, "verbose": 1}).fit(data, seed=0)
        OneShot(**{**SMALL, "verbose": 1}).score(result, [CellSpace().parse(DEAD)] * 3, data)
    assert [i["epoch"] for i in seen if "epoch" in i] == [1, 2]
    assert [i["scored"] for i in seen if "scored" in i] == [1, 2, 3]
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("epoch 1/2: sampled paths' loss") and out[-1] == "scored 3/3 cells"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=3, max_size=30, unique=True), st.integers(1, 3))
def test_rank_agreement_depends_on_ranks_only(values, k):
    truth = np.arange(len(values), dtype=float)
    plain = rank_agreement(values, truth, k=k)
    stretched = rank_agreement(np.exp(np.asarray(values) / 10**5), truth**3, k=k)  # same orders
    assert plain == stretched
    assert rank_agreement(truth, values, k=k).top_overlap == plain.top_overlap  # symmetric without ties
    assert 0.0 <= plain.top_overlap <= 1.0 and -1.0 <= plain.kendall <= 1.0
