"""Zero-cost proxies on cases whose answer is known, the proxy evaluator, pre-screening and correlations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from nasnb import Search
from nasnb.evaluation.proxies import (
    PROXIES,
    ProxyEvaluator,
    build_proxy_model,
    loss_gradients,
    naswot,
    prescreen,
    proxy_batch,
    score_model,
    synflow,
)
from nasnb.evaluation.proxy_analysis import (
    plot_proxy_correlation,
    proxy_correlation_data,
    proxy_correlations,
    score_cells,
)
from nasnb.evaluation.table import load_table
from nasnb.nn import count_params
from nasnb.spaces import CellSpace
from nasnb.strategies import PrescreenStrategy, get

ZERO = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
DEAD_END = "|conv_3x3~0|+|none~0|conv_3x3~1|+|none~0|none~1|none~2|"  # computes, but never reaches node 3
CONV = "|conv_3x3~0|+|conv_3x3~0|conv_1x1~1|+|skip_connect~0|conv_3x3~1|conv_3x3~2|"


@pytest.fixture(scope="module")
def batch():
    return proxy_batch("digits", batch_size=32, seed=0)


def model_of(text: str, data) -> nn.Module:
    return build_proxy_model(CellSpace().parse(text), data)


def test_synflow_is_zero_when_no_path_reaches_the_output(batch):
    x, y, data = batch
    for text in (ZERO, DEAD_END):
        assert synflow(model_of(text, data), x) == 0.0
    assert synflow(model_of(CONV, data), x) > 0.0


def test_scoring_leaves_the_model_unchanged(batch):
    x, y, data = batch
    model = model_of(CONV, data)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    score_model(model, x, y, PROXIES)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_params_proxy_equals_count_params(batch):
    x, y, data = batch
    for text in (ZERO, CONV):
        model = model_of(text, data)
        assert score_model(model, x, y, ["params"])["params"] == count_params(model)
    assert ProxyEvaluator("params")(CellSpace().parse(CONV))["params"] == count_params(model_of(CONV, data))


def test_snip_and_grad_norm_match_their_definitions():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    x, y = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
    nn.functional.cross_entropy(model(x), y).backward()
    scores = loss_gradients(model, x, y)
    assert scores["snip"] == pytest.approx(float((model.weight.grad * model.weight).abs().sum().detach()))
    assert scores["grad_norm"] == pytest.approx(float(model.weight.grad.norm()))


def test_naswot_is_log_det_of_the_hamming_kernel():
    model = nn.Sequential(nn.Identity(), nn.ReLU())  # codes are the signs of the inputs
    x = torch.tensor([[1.0, -1.0], [1.0, 1.0], [-1.0, -1.0]])
    # codes 10, 11, 00 -> shared bits K = [[2,1,1],[1,2,0],[1,0,2]], det K = 4
    assert naswot(model, x) == pytest.approx(math.log(4.0))
    assert naswot(model, torch.ones(3, 2)) == -math.inf  # all inputs share one code


def test_naswot_prefers_networks_that_tell_inputs_apart(batch):
    x, y, data = batch
    assert naswot(model_of(ZERO, data), x) == -math.inf
    assert math.isfinite(naswot(model_of(CONV, data), x))


def test_proxy_evaluator_is_deterministic_and_reports_no_accuracy():
    arch = CellSpace().parse(CONV)
    first = ProxyEvaluator(list(PROXIES), batch_size=32)(arch)
    again = ProxyEvaluator(list(PROXIES), batch_size=32)(arch)
    assert first == again
    assert "accuracy" not in first and {"params", "macs", *PROXIES} <= set(first)
    with pytest.raises(ValueError, match="proxy must be"):
        ProxyEvaluator("flops")(arch)
    with pytest.raises(ValueError, match="batch_size"):
        ProxyEvaluator("snip", batch_size=1)(arch)


def test_search_can_rank_by_a_proxy():
    search = Search(
        CellSpace(), "random", ProxyEvaluator("synflow", batch_size=16), budget=3, seed=0, metric="synflow"
    ).run()
    assert all(t.ok for t in search.trials)
    assert search.best.metrics["synflow"] == max(t.metrics["synflow"] for t in search.trials)


def test_prescreen_keeps_the_best_candidates_sorted():
    found = prescreen(CellSpace(), "synflow", n_candidates=12, keep=4, seed=1, batch_size=16)
    assert len(found) == 4 and [c.rank for c in found] == [1, 2, 3, 4]
    scores = [c.score for c in found]
    assert scores == sorted(scores, reverse=True)
    assert len({c.arch.key for c in found}) == 4
    assert [c.arch for c in prescreen(CellSpace(), "synflow", n_candidates=12, keep=4, seed=1, batch_size=16)] == [
        c.arch for c in found
    ]
    everything = prescreen(CellSpace(), "synflow", n_candidates=12, keep=12, seed=1, batch_size=16)
    assert [c.score for c in everything[:4]] == scores and min(c.score for c in everything) <= scores[-1]
    with pytest.raises(ValueError, match="keep"):
        prescreen(CellSpace(), "synflow", n_candidates=3, keep=4)


def test_prescreen_strategy_proposes_candidates_then_the_base(planted):
    strategy = get(
        "prescreen",
        n_candidates=10,
        keep=3,
        base="evolution",
        base_params={"population_size": 4, "tournament_size": 2},
        batch_size=16,
    )
    assert isinstance(strategy, PrescreenStrategy)
    search = Search(CellSpace(), strategy, planted, budget=9, seed=2).run()
    decisions = [t.decision for t in search.trials]
    assert [d["kind"] for d in decisions[:3]] == ["prescreen"] * 3
    assert [d["rank"] for d in decisions[:3]] == [1, 2, 3] and all(d["proxy"] == "synflow" for d in decisions[:3])
    assert decisions[0]["score"] >= decisions[1]["score"] >= decisions[2]["score"]
    assert all(d["phase"] == "base" for d in decisions[3:])
    assert decisions[3]["kind"] == "init" and decisions[4]["kind"] == "mutation"  # candidates filled the population

    resumed = get(
        "prescreen",
        n_candidates=10,
        keep=3,
        base="evolution",
        base_params={"population_size": 4, "tournament_size": 2},
        batch_size=16,
    )
    resumed.setup(CellSpace(), 2)
    resumed.load_state_dict(json.loads(json.dumps(search.strategy.state_dict())))
    assert resumed.ask().arch == search.strategy.ask().arch


def test_correlations_and_their_plot_data():
    table = load_table("digits")
    scores = score_cells(table, ["synflow", "params", "snip"], n=12, seed=0, batch_size=16)
    assert len(scores) == 12 and {"key", "arch", "val_accuracy", "synflow", "params", "snip"} <= set(scores)
    frame = proxy_correlations(table, ["synflow", "params", "snip"], scores=scores)
    assert set(frame.index) == {"synflow", "params", "snip", "vote"}
    assert frame["spearman"].between(-1, 1).all() and (frame["n"] == 12).all()
    panels = proxy_correlation_data(scores, ["synflow", "params", "snip"])
    assert [p.proxy for p in panels] == ["synflow", "params", "snip", "vote"]
    for panel in panels:
        assert panel.rank.min() >= 0 and panel.rank.max() <= 1 and len(panel.accuracy) == 12
        assert panel.spearman == pytest.approx(frame.loc[panel.proxy, "spearman"])
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_proxy_correlation(scores, ["synflow", "params", "snip"])
    assert len(fig.axes) == 4
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_vote_of_identical_proxies_ranks_like_them():
    table = load_table("digits")
    scores = score_cells(table, ["grad_norm", "snip"], n=10, seed=3, batch_size=16)
    scores["snip"] = scores["grad_norm"]
    frame = proxy_correlations(table, ["grad_norm", "snip"], scores=scores)
    assert frame.loc["vote", "spearman"] == pytest.approx(frame.loc["grad_norm", "spearman"])
    assert np.isfinite(frame["spearman"]).all()


class _HalfSquare(nn.Module):
    """f(x) = |x|^2 / 2 per input, so the Jacobian of input i is x_i itself."""

    def forward(self, x):
        return (x**2).sum(dim=1, keepdim=True) / 2


def test_jacov_by_hand():
    from nasnb.evaluation.proxies import jacov

    k = 1e-5
    # orthogonal zero-mean rows: correlation matrix I, eigenvalues 1, 1, 1
    x = torch.tensor([[1.0, -1, 0, 0], [0, 0, 1, -1], [1, 1, -1, -1]])
    assert jacov(_HalfSquare(), x) == pytest.approx(-3 * (math.log(1 + k) + 1 / (1 + k)))
    # a linear map: every input has the same Jacobian, correlation all ones, eigenvalues 3, 0, 0
    linear = nn.Linear(4, 3)
    expected = -(math.log(3 + k) + 1 / (3 + k) + 2 * (math.log(k) + 1 / k))
    assert jacov(linear, torch.randn(3, 4)) == pytest.approx(expected, rel=1e-6)
    x_, _, data = proxy_batch("digits", batch_size=16, seed=0)
    assert jacov(model_of(ZERO, data), x_) == -math.inf  # the input never reaches the output
    assert math.isfinite(jacov(model_of(CONV, data), x_))


def test_learned_proxy_is_judged_out_of_fold_and_finds_a_planted_combination():
    import pandas as pd

    from nasnb.evaluation.proxy_analysis import learned_proxy, proxy_features

    rng = np.random.default_rng(0)
    n = 200
    a, b = rng.normal(size=n), rng.normal(size=n)
    frame = pd.DataFrame({"synflow": np.exp(a), "naswot": b, "val_accuracy": a + b})  # each alone: rho ~0.7
    frame.loc[0, "naswot"] = -math.inf
    features = proxy_features(frame, ["synflow", "naswot"])
    assert features[0, 1] == pytest.approx(frame["naswot"][1:].min() - 1.0)  # -inf sits just below the rest
    assert features[1, 0] == pytest.approx(math.log1p(math.exp(a[1])))
    predicted = learned_proxy(frame, ["synflow", "naswot"], folds=5, seed=0)
    from scipy.stats import spearmanr

    single = max(abs(spearmanr(frame[c], frame["val_accuracy"])[0]) for c in ("synflow", "naswot"))
    assert spearmanr(predicted, frame["val_accuracy"])[0] > single + 0.1
    shuffled = frame.assign(val_accuracy=rng.permutation(frame["val_accuracy"].to_numpy()))
    assert abs(spearmanr(learned_proxy(shuffled, ["synflow", "naswot"]), shuffled["val_accuracy"])[0]) < 0.25
    with pytest.raises(ValueError, match="folds"):
        learned_proxy(frame, ["synflow"], folds=1)


def test_ceiling_follows_spearman_brown():
    from nasnb.evaluation.proxy_analysis import proxy_ceiling

    table = load_table("digits")  # one seed: the retraining rho must be given
    one = proxy_ceiling(table, single_seed_rho=0.52)
    assert one["reliability"] == pytest.approx(0.52) and one["ceiling"] == pytest.approx(0.52**0.5)
    with pytest.raises(ValueError, match="single_seed_rho"):
        proxy_ceiling(table)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_table_seeds import seed_table

    three = seed_table()
    three_rho = 0.5
    got = proxy_ceiling(three, single_seed_rho=three_rho)
    assert got["reliability"] == pytest.approx(3 * 0.5 / (1 + 2 * 0.5)) and got["ceiling"] == pytest.approx(0.75**0.5)


def test_cell_features_are_one_hot_edges_then_op_counts():
    from nasnb.evaluation.proxy_analysis import cell_features

    text = "|conv_3x3~0|+|conv_3x3~0|none~1|+|skip_connect~0|conv_1x1~1|conv_3x3~2|"
    row = cell_features([text])[0]
    ops = ["none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3"]
    assert row.shape == (6 * 5 + 5,)
    edges = row[:30].reshape(6, 5)
    assert edges.sum(axis=1).tolist() == [1.0] * 6
    assert [ops[i] for i in edges.argmax(axis=1)] == [
        "conv_3x3",
        "conv_3x3",
        "none",
        "skip_connect",
        "conv_1x1",
        "conv_3x3",
    ]
    assert dict(zip(ops, row[30:].tolist())) == {
        "none": 1.0,
        "skip_connect": 1.0,
        "conv_1x1": 1.0,
        "conv_3x3": 3.0,
        "avg_pool_3x3": 0.0,
    }


def test_learned_proxy_with_the_cell_finds_a_planted_operation_effect_the_proxies_miss():
    import pandas as pd
    from scipy.stats import spearmanr

    from nasnb import CellSpace
    from nasnb.evaluation.proxy_analysis import learned_proxy

    space, rng = CellSpace(), np.random.default_rng(1)
    archs = [space.sample(rng) for _ in range(150)]
    convs = np.array([sum(op == "conv_3x3" for op in dict(a).values()) for a in archs], dtype=float)
    frame = pd.DataFrame(
        {
            "arch": [str(a) for a in archs],
            "synflow": np.exp(rng.normal(size=150)),  # proxies that know nothing
            "naswot": rng.normal(size=150),
            "val_accuracy": convs + 0.3 * rng.normal(size=150),  # accuracy grows with the 3x3 convolutions
        }
    )
    target = frame["val_accuracy"]
    blind = spearmanr(learned_proxy(frame, ["synflow", "naswot"], seed=0), target)[0]
    seeing = spearmanr(learned_proxy(frame, ["synflow", "naswot"], seed=0, cell=True), target)[0]
    assert abs(blind) < 0.3
    assert seeing > 0.8
