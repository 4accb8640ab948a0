"""PopulationTrainer: K networks in one batched pass must train each exactly as Trainer would."""

from __future__ import annotations

import json

import pytest
import torch

from nasnb import Search
from nasnb.evaluation import DivergedError, PopulationMemoryError, PopulationTrainer, Trainer
from nasnb.nn import build_model
from nasnb.nn.batched import StackError, stack
from nasnb.spaces import CellSpace, ChainSpace, HyperSpace, ProductSpace

CELLS = CellSpace()
# a mixed batch: every op on some edge, a cell with dead edges, and one with no path at all
MIXED = [
    CELLS.parse("|conv_3x3~0|+|skip_connect~0|conv_1x1~1|+|conv_3x3~0|avg_pool_3x3~1|conv_3x3~2|"),
    CELLS.parse("|avg_pool_3x3~0|+|none~0|conv_3x3~1|+|skip_connect~0|none~1|conv_1x1~2|"),
    CELLS.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
    CELLS.parse("|conv_1x1~0|+|conv_3x3~0|none~1|+|none~0|skip_connect~1|avg_pool_3x3~2|"),
]
POOLS = CELLS.parse("|avg_pool_3x3~0|+|avg_pool_3x3~0|conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|conv_3x3~2|")
QUICK = {"dataset": "digits", "device": "cpu", "network": {"channels": 4}, "keep_model": True}


def weight_gap(a: torch.nn.Module, b: torch.nn.Module) -> float:
    """Largest absolute difference over all weights and BatchNorm statistics."""
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    return max((sa[k].double() - sb[k].double()).abs().max().item() for k in sa)


def separate(archs, seeds=None, **config):
    """What K separate Trainer runs give: (results, final models)."""
    results, models = [], []
    for i, arch in enumerate(archs):
        trainer = Trainer(**{**QUICK, **config, "seed": seeds[i] if seeds else config.get("seed", 0)})
        results.append(trainer(arch))
        models.append(trainer.last_model_)
    return results, models


@pytest.mark.parametrize("size", [8, 28])  # 28x28 maps pool axis by axis
# "same": every edge's group holds all K candidates, and nodes start from a full pooling output
@pytest.mark.parametrize("archs", [MIXED, [POOLS, POOLS]], ids=["mixed", "same"])
def test_stacked_networks_compute_each_candidates_own_function(size, archs):
    nets = [build_model(a, (1, size, size), 10, channels=4).eval() for a in archs]
    for i, net in enumerate(nets):  # distinct BatchNorm statistics, so a mix-up would show
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1, generator=torch.Generator().manual_seed(i))
    population = stack(nets).eval()
    x = torch.randn(5, len(nets), 1, size, size)
    out = population(x)
    assert out.shape == (5, len(nets), 10)
    for k, net in enumerate(nets):
        torch.testing.assert_close(out[:, k], net(x[:, k]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("pool", "size"),
    [
        (torch.nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False), (8, 8)),  # the cell's pooling
        (torch.nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=True), (5, 7)),
        (torch.nn.AvgPool2d(2, stride=2, ceil_mode=True), (7, 7)),  # the reduction's shortcut, odd size
        (torch.nn.AdaptiveAvgPool2d(1), (4, 4)),  # the head
        # larger maps: pooled axis by axis
        (torch.nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False), (28, 28)),
        (torch.nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=True), (20, 17)),
        (torch.nn.AvgPool2d(2, stride=2, ceil_mode=True), (17, 17)),
        (torch.nn.AdaptiveAvgPool2d(1), (16, 20)),
    ],
)
def test_pooling_by_matmul_is_the_modules_pooling(pool, size):
    from nasnb.nn.batched_pool import PoolByMatmul

    batched = PoolByMatmul(pool)
    x = torch.randn(3, 6, *size, dtype=torch.float64, requires_grad=True)
    out, want = batched(x), pool(x)
    assert out.shape == want.shape
    assert size[0] * size[1] <= 256 or batched.axes(*size, x.device, x.dtype) is not None  # not ATen's fallback
    torch.testing.assert_close(out, want, rtol=1e-12, atol=1e-12)
    grad = torch.randn_like(want)  # and the backward pass: the transposed matrix
    got, expected = torch.autograd.grad(out, x, grad)[0], torch.autograd.grad(want, x, grad)[0]
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_pooling_matrix_of_a_3x3_map_by_hand():
    from nasnb.nn.batched_pool import PoolByMatmul

    # 3x3 average pooling, padding ignored: the corner averages its 2x2 block, the centre all nine
    p, size = PoolByMatmul(torch.nn.AvgPool2d(3, 1, 1, count_include_pad=False)).matrix(
        3, 3, torch.device("cpu"), torch.float64
    )
    assert size == (3, 3)
    assert p[:, 0].tolist() == [0.25, 0.25, 0, 0.25, 0.25, 0, 0, 0, 0]
    assert p[:, 4].tolist() == [1 / 9] * 9
    assert p[:, 1].tolist() == pytest.approx([1 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6, 0, 0, 0])


def test_one_step_matches_separate_trainers():
    pop = PopulationTrainer(**QUICK, epochs=1, max_steps=1)
    results = pop.evaluate_batch(MIXED)
    ref, models = separate(MIXED, epochs=1, max_steps=1)
    for got, want, model, mine in zip(results, ref, models, pop.last_models_):
        assert weight_gap(mine, model) < 1e-6
        assert set(got) == set(want)
        assert got["steps"] == want["steps"] == 1
        assert got["val_loss"] == pytest.approx(want["val_loss"], rel=1e-5)


def test_two_epochs_with_own_seeds_match_separate_trainers():
    """Each candidate keeps its own data split, initialisation and data order (seeds differ)."""
    seeds = [0, 3, 0, 7]
    pop = PopulationTrainer(**QUICK, epochs=2)
    results = pop.evaluate_batch(MIXED, seeds=seeds)
    ref, models = separate(MIXED, seeds, epochs=2)
    for got, want, model, mine in zip(results, ref, models, pop.last_models_):
        # rounding differs (grouped kernels sum in another order); training may amplify it a little
        assert weight_gap(mine, model) < 2e-3
        assert got["accuracy"] == pytest.approx(want["accuracy"], abs=0.012)
        assert got["curves"]["val_loss"] == pytest.approx(want["curves"]["val_loss"], rel=2e-3)
        assert (got["steps"], got["epochs"], got["params"], got["macs"]) == (
            want["steps"],
            want["epochs"],
            want["params"],
            want["macs"],
        )


def test_hyperparameters_vary_per_candidate_within_one_batch():
    space = ProductSpace(
        arch=CellSpace(), hp=HyperSpace(lr=(0.2, 0.01), batch_size=(64,), weight_decay=(0.0, 1e-3), dropout=(0.0,))
    )
    cell = dict(MIXED[0])
    archs = [space.complete({**cell, "lr": lr, "weight_decay": wd}) for lr in (0.2, 0.01) for wd in (0.0, 1e-3)]
    pop = PopulationTrainer(**QUICK, epochs=1, max_steps=4)
    pop.evaluate_batch(archs)
    _, models = separate(archs, epochs=1, max_steps=4)
    for mine, model in zip(pop.last_models_, models):
        assert weight_gap(mine, model) < 1e-5


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_stacked_optimizer_step_is_torchs_step_per_candidate(kind):
    """The core step, on planted gradients: each candidate's rows move as torch.optim moves its own net."""
    from nasnb.evaluation.population_optim import _StackedOptimizer

    nets = [build_model(ChainSpace().parse("fc8-relu-bn > fc8-relu"), (3,), 2) for _ in range(3)]
    population = stack(nets)
    lrs, wds = [0.1, 0.01, 0.1], [0.0, 1e-3, 1e-3]
    ours = _StackedOptimizer(population, kind, wds, frozen=set())
    make = torch.optim.SGD if kind == "sgd" else torch.optim.Adam
    extra = {"momentum": 0.9} if kind == "sgd" else {}
    theirs = [make(net.parameters(), lr=lr, weight_decay=wd, **extra) for net, lr, wd in zip(nets, lrs, wds)]
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        for p in ours.params:
            p.grad = torch.randn(p.shape, generator=g)
            link = population.link(p)
            for original, row in zip(link.originals, p.grad.view(len(link.originals), -1)):
                original.grad = row.view_as(original).clone()
        ours.step(lrs, failed=[])
        for opt in theirs:
            opt.step()
    for link in population.links:
        if link.stacked.requires_grad:
            for original, row in zip(link.originals, link.stacked.detach().view(len(link.originals), -1)):
                torch.testing.assert_close(row.view_as(original), original.detach(), rtol=1e-6, atol=1e-7)


def test_adam_trains_like_trainer():
    pop = PopulationTrainer(**QUICK, epochs=1, optimizer="adam", lr=0.01)
    results = pop.evaluate_batch(MIXED[:2])
    ref, _ = separate(MIXED[:2], epochs=1, optimizer="adam", lr=0.01)
    for got, want in zip(results, ref):
        # Adam divides by the gradient's own size, so rounding noise on near-zero gradients moves a
        # weight by up to lr per step: weights drift apart more than with SGD, the outcome does not
        assert got["accuracy"] == pytest.approx(want["accuracy"], abs=0.03)


def test_a_diverging_candidate_fails_alone():
    chain = dict(ChainSpace().parse("fc64-relu > fc64-relu"))
    space = ProductSpace(arch=ChainSpace(), hp=HyperSpace(lr=(0.1, 100.0)))
    calm = space.complete({**chain, "lr": 0.1, "batch_size": 64, "weight_decay": 0.0, "dropout": 0.0})
    wild = calm.replace({"lr": 100.0})
    config = {**QUICK, "network": None, "epochs": 1}
    pop = PopulationTrainer(**config)
    results = pop.evaluate_batch([calm, wild, calm], seeds=[0, 0, 1])
    with pytest.raises(DivergedError) as err:
        Trainer(**config)(wild)
    assert results[1]["error"] == f"DivergedError: {err.value}"  # same step, same message
    assert set(results[1]) == {"error", "params", "macs"}
    ref, models = separate([calm, calm], seeds=[0, 1], **config)
    for got, want, mine, model in zip(
        [results[0], results[2]], ref, [pop.last_models_[0], pop.last_models_[2]], models
    ):
        assert got["accuracy"] == pytest.approx(want["accuracy"], abs=0.006) and got["accuracy"] > 0.5
        assert weight_gap(mine, model) < 1e-3
    with pytest.raises(DivergedError, match="diverged"):
        pop(wild)  # one at a time it raises, exactly as Trainer does


def test_chains_of_one_shape_train_together_and_others_apart():
    same = ChainSpace().parse("conv3x3-8-relu-bn > maxpool > fc32-relu")
    other = ChainSpace().parse("conv5x5-8-tanh > avgpool > fc16-relu")
    archs = [same, other, same]
    pop = PopulationTrainer(**{**QUICK, "network": None}, epochs=1, max_steps=5)
    results = pop.evaluate_batch(archs, seeds=[0, 0, 4])
    ref, models = separate(archs, seeds=[0, 0, 4], network=None, epochs=1, max_steps=5)
    for got, want, mine, model in zip(results, ref, pop.last_models_, models):
        assert weight_gap(mine, model) < 1e-5
        assert got["val_loss"] == pytest.approx(want["val_loss"], rel=1e-4)


def test_chains_of_different_shapes_cannot_be_stacked():
    a = build_model(ChainSpace().parse("fc32-relu"), (1, 8, 8), 10)
    b = build_model(ChainSpace().parse("fc16-relu"), (1, 8, 8), 10)
    with pytest.raises(StackError, match="linear layers differ"):
        stack([a, b])


@pytest.mark.parametrize(
    ("archs", "seeds", "error", "match"),
    [
        ([], None, ValueError, "K = 0"),
        ([MIXED[0], ChainSpace().parse("fc32-relu")], None, ValueError, "one space.*archs\\[1\\]"),
        (MIXED[:2], [0], ValueError, "1 seeds for 2 architectures"),
        (MIXED[:2], [0, -1], ValueError, "seeds\\[1\\]"),
        (MIXED[:2], 3, TypeError, "seeds must be a list"),
        ([MIXED[0], "not an arch"], None, TypeError, "archs\\[1\\] is a str"),
    ],
)
def test_bad_batches_are_refused_by_name(archs, seeds, error, match):
    with pytest.raises(error, match=match):
        PopulationTrainer(**QUICK, epochs=1).evaluate_batch(archs, seeds)


def test_a_batch_that_does_not_fit_names_the_largest_k_that_does():
    archs = [CELLS.sample(i) for i in range(64)]
    pop = PopulationTrainer(**QUICK, epochs=1, memory_limit="40MB")
    with pytest.raises(PopulationMemoryError, match="K = 64 candidates need .* at most K = ") as err:
        pop.evaluate_batch(archs)
    largest = err.value.largest_k
    assert 1 <= largest < 64
    assert f"at most K = {largest} fit" in str(err.value)
    # and the K it names does fit under the same limit (trained for one step to keep this fast)
    ok = PopulationTrainer(**QUICK, epochs=1, max_steps=1, memory_limit="40MB").evaluate_batch(archs[:largest])
    assert len(ok) == largest and all("accuracy" in r for r in ok)


def test_memory_limit_is_checked():
    with pytest.raises(ValueError, match="memory_limit"):
        PopulationTrainer(**QUICK, memory_limit="lots").evaluate_batch(MIXED[:1])


def test_config_is_a_trainers_so_run_logs_look_the_same():
    pop = PopulationTrainer(epochs=3, memory_limit="1GB")
    assert pop.name == Trainer.name
    assert pop.get_config() == Trainer(epochs=3).get_config()


def test_search_trains_batches_through_the_executor_seam(tmp_path):
    config = {**QUICK, "keep_model": False, "epochs": 1, "max_steps": 3}
    pop = PopulationTrainer(**config)
    with pop.executor(4) as executor:
        batched = Search(CELLS, "random", pop, budget=8, seed=5, run_dir=tmp_path / "pop", executor=executor).run()
    plain = Search(CELLS, "random", Trainer(**config), budget=8, seed=5, run_dir=tmp_path / "one").run()
    assert len(batched.trials) == 8 and all(t.status == "ok" for t in batched.trials)
    ours = {t.arch: t.metrics for t in batched.trials}
    theirs = {t.arch: t.metrics for t in plain.trials}
    assert set(ours) == set(theirs)  # random search proposes the same architectures either way
    for key, metrics in ours.items():
        assert set(metrics) == set(theirs[key])
        assert metrics["val_loss"] == pytest.approx(theirs[key]["val_loss"], rel=1e-4)
    runs = [json.loads((tmp_path / name / "run.json").read_text()) for name in ("pop", "one")]
    assert runs[0]["evaluator"] == runs[1]["evaluator"] == {"name": "trainer", "config": Trainer(**config).get_config()}


def test_kept_weights_are_each_candidates_own_and_load_as_trainers_would(tmp_path):
    """keep_weights='all' writes one file per candidate (its own seed in the record), diverged ones skipped."""
    from nasnb.evaluation.weights import read_weights, weights_name

    seeds = [0, 5]
    pop = PopulationTrainer(**QUICK, epochs=1, max_steps=3, keep_weights="all", weights_dir=str(tmp_path))
    results = pop.evaluate_batch(MIXED[:2], seeds=seeds)
    for arch, seed, result, model in zip(MIXED[:2], seeds, results, pop.last_models_):
        saved = read_weights(tmp_path / weights_name(arch.key, 1))
        assert saved["data_seed"] == seed and saved["arch"] == str(arch)
        assert saved["metrics"]["accuracy"] == result["accuracy"]
        rebuilt = build_model(arch, (1, 8, 8), 10, channels=4)
        rebuilt.load_state_dict(saved["state_dict"])
        assert weight_gap(rebuilt, model) == 0.0
