"""Each algorithm's core step, pinned by a small example computed by hand.

These are the lines a mutation test (tools/mutation_test.py) broke without any other test
noticing: scoring on the validation split, ageing, crowding truncation, experience replay, the
entropy bonus's sign, synflow's absolute weights and the run log's fsync. Each test states the
hand computation it checks, so a failure says which rule of the algorithm no longer holds.
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import pytest
import torch
from torch import nn

from nasnb import CellSpace, ChainSpace
from nasnb.data import Dataset, Split, load_dataset
from nasnb.evaluation import trainer as trainer_module
from nasnb.evaluation import training as training_module
from nasnb.evaluation.proxies import synflow
from nasnb.evaluation.trainer import Trainer, evaluate_model, train_model
from nasnb.nn import build_model
from nasnb.runs.files import RunWriter
from nasnb.strategies import get
from nasnb.trial import Trial

TINY = {"channels": 4, "stages": 1}


def _trial(i: int, arch: str, **metrics: float) -> Trial:
    return Trial(id=i, step=i, arch=arch, decision={}, metrics=dict(metrics))


# -- evaluation: the Trainer reports *validation* accuracy -----------------------------------------


def _poisoned_digits() -> Dataset:
    """Digits whose test labels are all shifted by one: any accuracy read from the test split is ~0.1 or less."""
    data = load_dataset("digits", subset=400, seed=0)
    wrong = Split(data.test.x, (data.test.y + 1) % data.num_classes)
    return dataclasses.replace(data, test=wrong)


def test_train_model_scores_the_validation_split_not_the_test_split():
    data = _poisoned_digits()
    arch = ChainSpace().parse("fc32-relu")
    with torch.random.fork_rng():  # a fixed initialisation: the global generator depends on the tests run before
        torch.manual_seed(0)
        model = build_model(arch, data.input_shape, data.num_classes)
    result = train_model(model, data, epochs=5, lr=0.1, test=True)  # 0.75-0.93 over ten initial seeds
    val_loss, val_acc = evaluate_model(model, data.val)
    assert result["accuracy"] == val_acc and result["val_loss"] == val_loss
    assert result["curves"]["val_accuracy"][-1] == val_acc
    assert result["accuracy"] > 0.5  # a trained net on digits; the poisoned test split gives far less
    assert result["test_accuracy"] == evaluate_model(model, data.test)[1] < 0.3


def test_trainer_accuracy_comes_from_validation(monkeypatch):
    data = _poisoned_digits()
    monkeypatch.setattr(trainer_module, "load_dataset", lambda *a, **k: data)
    result = Trainer(epochs=3, lr=0.1, test=True)(ChainSpace().parse("fc32-relu"))
    assert result["accuracy"] > 0.5 and result["test_accuracy"] < 0.3


def test_seconds_budget_stops_training_at_the_first_step_past_it(monkeypatch):
    """A fake clock that advances 1 ms per reading makes the stop point exact, on any machine."""
    now = [0.0]

    def tick() -> float:
        now[0] += 0.001
        return now[0]

    monkeypatch.setattr(training_module.time, "perf_counter", tick)
    data = load_dataset("digits", subset=400, seed=0)
    model = build_model(ChainSpace().parse("fc16-relu"), data.input_shape, data.num_classes)
    result = train_model(model, data, epochs=1000, seconds=0.5)
    # every step reads the clock a few times, so training stops within a few ms of the budget
    assert 0.5 <= result["train_seconds"] < 0.51
    assert 0 < result["steps"] < 1000 * 5


def test_learning_rate_follows_the_cosine_over_all_planned_steps(monkeypatch):
    """lr_t = lr * (1 + cos(pi t / T)) / 2 for t = 0..T-1; with T = 4 steps: lr * (1, .8536, .5, .1464)."""
    seen: list[float] = []
    real = training_module.make_optimizer

    def recording(*args, **kwargs):
        opt = real(*args, **kwargs)
        step = opt.step

        def logged_step(*a, **k):
            seen.append(opt.param_groups[0]["lr"])
            return step(*a, **k)

        opt.step = logged_step
        return opt

    monkeypatch.setattr(training_module, "make_optimizer", recording)
    data = load_dataset("digits", subset=400, seed=0)
    model = build_model(ChainSpace().parse("fc16-relu"), data.input_shape, data.num_classes)
    result = train_model(model, data, epochs=1, max_steps=4, lr=0.2, batch_size=32)
    assert result["steps"] == 4
    assert seen == pytest.approx([0.2 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(4)])
    assert seen == pytest.approx([0.2, 0.170711, 0.1, 0.029289], abs=1e-6)


class _InfiniteLogits(nn.Module):
    """Logits +-3e38: the cross-entropy of a wrong class is 6e38, which float32 rounds to +inf (not NaN)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.full((len(x), 10), -3e38) + self.w
        logits[:, 0] = 3e38
        return logits


def test_an_infinite_loss_is_a_diverged_training():
    from nasnb.evaluation.errors import DivergedError

    data = load_dataset("digits", subset=400, seed=0)
    loss = nn.functional.cross_entropy(_InfiniteLogits()(data.train.x[:8]), data.train.y[:8]).item()
    assert math.isinf(loss) and not math.isnan(loss)
    with pytest.raises(DivergedError, match="the loss became inf at epoch 1, step 1"):
        train_model(_InfiniteLogits(), data, epochs=1)


# -- nn: a node sums its incoming edges ------------------------------------------------------------


def test_a_cell_node_is_the_sum_of_its_incoming_edges():
    """Skips on 0->1, 0->3 and 1->3 (the rest none): node 1 = x, node 3 = x + node 1 = 2x."""
    from nasnb.nn.cell import Cell

    ops = {"0->1": "skip_connect", "0->2": "none", "1->2": "none", "0->3": "skip_connect"}
    cell = Cell({**ops, "1->3": "skip_connect", "2->3": "none"}, channels=3)
    x = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(cell(x), 2 * x)
    three = Cell({**ops, "1->3": "skip_connect", "2->3": "skip_connect", "1->2": "skip_connect"}, channels=3)
    assert torch.equal(three(x), 3 * x)  # node 2 = node 1 = x joins too


def test_an_edge_out_of_a_node_fed_only_through_none_is_dead():
    """0->1 is none, so node 1 gets nothing and 1->2->3 carries nothing: no edge is live, none gets weights."""
    from nasnb.nn.cell import live_edges

    ops = {"0->1": "none", "0->2": "none", "1->2": "conv_3x3", "0->3": "none", "1->3": "none", "2->3": "conv_3x3"}
    assert live_edges(ops) == ()
    assert live_edges({**ops, "0->1": "skip_connect"}) == ("0->1", "1->2", "2->3")


# -- strategies ----------------------------------------------------------------------------------


def test_evolution_the_oldest_member_dies_even_when_it_is_the_best():
    """Population 2: after trials scoring 0.9, 0.1, 0.5 the queue holds the last two (0.1, 0.5)."""
    space = CellSpace()
    strategy = get("evolution", population_size=2, tournament_size=1)
    strategy.setup(space, 0)
    arch = str(space.sample(0))
    for i, score in enumerate([0.9, 0.1, 0.5]):
        strategy.tell(_trial(i, arch, accuracy=score))
    assert strategy.population_ids() == [1, 2]
    assert [m["score"] for m in strategy.population_] == [0.1, 0.5]


def test_nsga2_truncates_the_last_front_by_crowding_keeping_the_loneliest():
    """Eight points on one front along x (accuracy = params = x, accuracy maximised, params minimised).

    Crowding of an interior point is 2 (x[i+1] - x[i-1]) / 11 (both objectives give the same gap);
    the ends are infinite. Sorted x: 0 1 2 3 4 10 10.5 11, gaps 2 2 2 7 6.5 1 for 1..10.5, so the
    four survivors are the ends 0 and 11 and the loneliest interior points 4 and 10.
    """
    space = CellSpace()
    strategy = get("nsga2", population_size=4, objectives={"accuracy": "max", "params": "min"})
    strategy.setup(space, 0)
    arch = str(space.sample(0))
    xs = [0.0, 4.0, 10.5, 3.0, 1.0, 2.0, 10.0, 11.0]
    for i, x in enumerate(xs):
        strategy.tell(_trial(i, arch, accuracy=x, params=x))
    kept = sorted(xs[i] for i in strategy.population_ids())
    assert kept == [0.0, 4.0, 10.0, 11.0]
    by_id = {m["id"]: m for m in strategy.population_}
    assert all(m["rank"] == 0 for m in by_id.values())
    assert by_id[1]["crowding"] == pytest.approx(2 * (10 - 0) / 11)  # x=4 among the survivors 0, 4, 10, 11


@pytest.mark.parametrize("replay_size", [0, 1, 3])
def test_qlearning_experience_replay_repeats_the_update(replay_size):
    """α = 0.5, γ = 1, Q starts at 0, reward 1, one episode told and then replayed k times.

    Last edge (2->3): each update moves Q halfway to 1: 0.5, 0.75, 0.875, 0.9375, so after 1 + k
    updates Q = 1 - 0.5^(k+1). The edge before it (1->3) moves halfway to the last edge's new
    value in the same backward pass: 0.25, then 0.5, 0.6875, 0.8125.
    """
    space = CellSpace()
    strategy = get(
        "qlearning",
        learning_rate=0.5,
        q_init=0.0,
        replay_size=replay_size,
        state="position",
        credit="final",
        discount=1.0,
    )
    strategy.setup(space, 0)
    arch = space.sample(0)
    strategy.tell(_trial(0, str(arch), accuracy=1.0))
    assert strategy.q_value("2->3", arch["2->3"]) == pytest.approx(1 - 0.5 ** (replay_size + 1))
    assert strategy.q_value("1->3", arch["1->3"]) == pytest.approx({0: 0.25, 1: 0.5, 3: 0.8125}[replay_size])


def test_qlearning_epsilon_is_the_chance_to_explore():
    """ε = 0: every choice of the episode is greedy; ε = 1: every choice is random (MetaQNN's ε-greedy)."""
    space = CellSpace()
    for eps, greedy in ((0.0, True), (1.0, False)):
        strategy = get("qlearning", epsilon_schedule=[(10, eps)])
        strategy.setup(space, 0)
        choices = strategy.ask().decision["choices"]
        assert len(choices) == 6 and all(c["greedy"] is greedy for c in choices)


def test_reinforce_entropy_bonus_pushes_the_policy_toward_uniform():
    """With advantage 0 (the first reward sets the baseline) only the entropy term moves the logits.

    Two options with logits (ln 3, 0): p = (3/4, 1/4), H = -(3/4 ln 3/4 + 1/4 ln 1/4) = 0.5623.
    dH/dθ_i = -p_i (ln p_i + H) = (-0.2060, +0.2060): with lr = β = 1 the likelier option loses
    0.2060 and the other gains it, so the policy becomes more uncertain.
    """
    space = CellSpace(ops=("conv_3x3", "skip_connect"))
    strategy = get("reinforce", learning_rate=1.0, entropy_weight=1.0)
    strategy.setup(space, 0)
    strategy.logits_["0->1"] = np.array([math.log(3.0), 0.0])
    arch = space.parse("|conv_3x3~0|+|conv_3x3~0|conv_3x3~1|+|conv_3x3~0|conv_3x3~1|conv_3x3~2|")
    strategy.tell(_trial(0, str(arch), accuracy=0.7))
    p = np.array([0.75, 0.25])
    h = -float(np.sum(p * np.log(p)))
    step = -p * (np.log(p) + h)
    assert step == pytest.approx([-0.20599, 0.20599], abs=1e-5)
    assert strategy.logits_["0->1"] == pytest.approx([math.log(3.0) + step[0], step[1]])
    after = np.exp(strategy.logits_["0->1"]) / np.exp(strategy.logits_["0->1"]).sum()
    assert -np.sum(after * np.log(after)) > h
    assert strategy.logits_["1->2"] == pytest.approx([0.0, 0.0])  # uniform already: entropy is at its peak


# -- zero-cost proxies ---------------------------------------------------------------------------


def test_synflow_uses_absolute_weights():
    """x -> W1 (1x2) -> W2 (1x1), W1 = (1, -2), W2 = (-3), no biases, input all ones.

    With |W|: h = 1 + 2 = 3, R = 3 * 3 = 9; dR/dW1 = |W2| * 1 = (3, 3), dR/dW2 = h = 3;
    score = |1*3| + |2*3| + |3*3| = 18. (Signed weights would give 3 + 6 + 3 = 12.)
    """
    model = nn.Sequential(nn.Linear(2, 1, bias=False), nn.Linear(1, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, -2.0]]))
        model[1].weight.copy_(torch.tensor([[-3.0]]))
    assert synflow(model, torch.zeros(5, 2)) == pytest.approx(18.0)
    assert model[0].weight.tolist() == [[1.0, -2.0]]  # the caller's model is left unchanged


# -- the run log -----------------------------------------------------------------------------------


def test_run_log_fsyncs_each_trial_line_after_writing_it(tmp_path, monkeypatch):
    writer = RunWriter(tmp_path / "run", {"space": "cell"})
    trials_path = tmp_path / "run" / "trials.jsonl"
    synced: list[tuple[int, int]] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append((fd, os.fstat(fd).st_size))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    try:
        writer.append(_trial(0, "a", accuracy=0.5))
        first = trials_path.stat().st_size
        writer.append(_trial(1, "b", accuracy=0.6))
        fd = writer._file.fileno()
        assert synced == [(fd, first), (fd, trials_path.stat().st_size)]
        assert os.fstat(fd).st_ino == trials_path.stat().st_ino
    finally:
        writer.close()


# -- records: named results, still unpackable --------------------------------------------------------


def test_public_results_are_named_records():
    from nasnb.evaluation import ProxyBatch, SplitScore
    from nasnb.evaluation.proxies import proxy_batch
    from nasnb.nn.cell import Cell, MacroBody, macro_body
    from nasnb.spaces import EdgeNodes, Offspring, edge_nodes

    space = CellSpace()
    parent = space.sample(0)
    mutated = space.mutate(parent, 0)
    assert isinstance(mutated, Offspring) and mutated.arch != parent
    assert mutated.change["from"] == parent[mutated.change["decision"]] == tuple(mutated)[1]["from"]
    crossed = space.crossover(parent, space.sample(1), 0)
    assert isinstance(crossed, Offspring) and crossed.change["kind"] == "crossover"
    assert edge_nodes("1->3") == EdgeNodes(source=1, target=3) == (1, 3)
    batch = proxy_batch(batch_size=4)
    assert isinstance(batch, ProxyBatch) and batch.x.shape[0] == len(batch.y) == 4 and batch.data.name == "digits"
    data = load_dataset("digits", subset=200, seed=0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    score = evaluate_model(model, data.val)
    assert isinstance(score, SplitScore) and 0 <= score.accuracy <= 1 and score.loss > 0
    body = macro_body(lambda c: Cell(parent, c), channels=4, stages=2, cells_per_stage=1)
    assert isinstance(body, MacroBody) and body.width == 8 and len(body.modules) == 3


def test_records_of_the_pictures_and_the_surrogate_are_named():
    """The tuples these return unpack as before, and each field has a name (issue 16, records)."""
    from nasnb.strategies import GPPrediction, HammingGP
    from nasnb.widgets.views.common import Ticks, nice_ticks
    from nasnb.widgets.views.detail import LearningCurve, MetricRow, learning_curve, metric_rows

    x = np.eye(3)
    prediction = HammingGP().fit(x, np.array([0.1, 0.5, 0.9])).predict(x)
    mean, std = prediction
    assert isinstance(prediction, GPPrediction) and prediction.mean is mean and prediction.std is std
    assert np.all(std > 0) and np.argsort(mean).tolist() == [0, 1, 2]
    assert nice_ticks([0, 29], integer=True) == Ticks(low=0, high=30, ticks=[0, 10, 20, 30])
    trial = Trial(
        id=0, step=0, arch="a", decision={}, metrics={"accuracy": 0.5, "curves": {"val_accuracy": [0.2, 0.4]}}
    )
    curve = learning_curve(trial)
    assert (
        isinstance(curve, LearningCurve) and curve.epochs.tolist() == [1.0, 2.0] and curve.values.tolist() == [0.2, 0.4]
    )
    assert metric_rows(trial)[0] == MetricRow(name="accuracy", text="0.5000")
