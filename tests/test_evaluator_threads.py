"""Every evaluator runs on the same threads knob, and ProxyEvaluator scores every space it accepts."""

from __future__ import annotations

import math

import pytest
import torch

from nasnb import CellSpace, ChainSpace
from nasnb._checks import check_choice, check_float, check_int
from nasnb.evaluation.darts import DARTS
from nasnb.evaluation.proxies import PROXIES, ProxyEvaluator, prescreen
from nasnb.evaluation.threads import DEFAULT_THREADS, limited_threads
from nasnb.evaluation.trainer import Trainer
from nasnb.spaces import get_space


@pytest.fixture
def spy_threads(monkeypatch):
    """Record every torch.set_num_threads call (and still make it), starting from 2 threads."""
    calls: list[int] = []
    real = torch.set_num_threads
    before = torch.get_num_threads()
    real(2)

    def spy(n: int) -> None:
        calls.append(n)
        real(n)

    monkeypatch.setattr(torch, "set_num_threads", spy)
    yield calls
    real(before)


def test_the_knob_defaults_to_one_thread_everywhere():
    assert DEFAULT_THREADS == 1
    for evaluator in (Trainer(), ProxyEvaluator(), DARTS()):
        assert evaluator.threads == 1
    assert ProxyEvaluator(threads=3).get_config()["threads"] == 3


def test_limited_threads_sets_and_restores(spy_threads):
    with limited_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2 and spy_threads == [1, 2]
    with limited_threads(None):
        assert torch.get_num_threads() == 2
    assert spy_threads == [1, 2]  # None leaves torch alone
    with pytest.raises(ValueError, match="threads must be None or an int >= 1, got 0"):
        with limited_threads(0):
            pass


def test_proxy_evaluator_runs_on_its_threads_and_restores_them(spy_threads, monkeypatch):
    import nasnb.evaluation.proxies as proxies

    seen, real = [], proxies.synflow
    monkeypatch.setattr(proxies, "synflow", lambda model, x: seen.append(torch.get_num_threads()) or real(model, x))
    ProxyEvaluator("synflow", batch_size=8)(CellSpace().sample(0))
    assert seen == [1] and torch.get_num_threads() == 2 and spy_threads == [1, 2]


def test_trainer_and_darts_limit_threads_during_the_call(spy_threads):
    chain = ChainSpace().parse("fc16-relu")
    Trainer(epochs=1, max_steps=2, subset=200, threads=1)(chain)
    assert spy_threads == [1, 2]
    result = DARTS(epochs=1, subset=200, batch_size=64, network={"channels": 4, "stages": 1})
    with pytest.raises(ValueError, match="DARTS parameter threads must be None or an int >= 1, got 0"):
        DARTS(threads=0).search()
    spy_threads.clear()
    result.search(seed=0)
    assert spy_threads[0] == 1 and spy_threads[-1] == 2 and torch.get_num_threads() == 2


@pytest.mark.parametrize("space_name", ["chain", "cell", "mlp", "chain+hyper", "cell+hyper"])
def test_proxy_evaluator_scores_every_space_it_accepts_with_defaults(space_name):
    """It used to build every chain with the cell recipe's channels/stages and fail on all of them."""
    space = get_space(space_name)
    dataset = "moons" if space_name == "mlp" else "digits"
    evaluator = ProxyEvaluator(list(PROXIES), dataset, batch_size=16)
    for seed in range(3):
        arch = space.sample(seed)
        scores = evaluator(arch)
        assert set(scores) == {*PROXIES, "macs"}
        assert scores["params"] > 0 and scores["macs"] >= 0
        assert math.isfinite(scores["synflow"]) and scores["synflow"] >= 0
        assert math.isfinite(scores["snip"]) and math.isfinite(scores["grad_norm"])


def test_prescreen_works_on_a_chain_space():
    found = prescreen(ChainSpace(), "synflow", n_candidates=6, keep=3, seed=0, batch_size=16)
    assert [c.rank for c in found] == [1, 2, 3]
    assert found[0].score >= found[1].score >= found[2].score


def test_one_checking_helper_names_owner_parameter_rule_and_value():
    with pytest.raises(ValueError, match=r"^Trainer parameter epochs must be an int >= 1, got 0$"):
        Trainer(epochs=0).validate()
    with pytest.raises(ValueError, match=r"^DARTS parameter arch_lr must be a number > 0, got 0$"):
        DARTS(arch_lr=0).search()
    with pytest.raises(ValueError, match=r"^prescreen parameter keep must be an int in \[1, 4\], got 5$"):
        prescreen(CellSpace(), n_candidates=4, keep=5)
    with pytest.raises(ValueError, match=r"^f parameter rate must be a number in \(0, 1\], got 0$"):
        check_float("f", "rate", 0, low=0, high=1, low_open=True)
    with pytest.raises(ValueError, match=r"^f parameter n must be None or an int >= 2, got True$"):
        check_int("f", "n", True, low=2, optional=True)
    with pytest.raises(ValueError, match=r"^f parameter kind must be one of \['a', 'b'\], got \['a'\]$"):
        check_choice("f", "kind", ["a"], ["a", "b"])
    check_int("f", "n", None, optional=True)
    check_float("f", "x", 1e-9, low=0, low_open=True)
