"""Pre-screening fills a queue ahead: ask() never runs a proxy, replay and resume never re-run them."""

from __future__ import annotations

import pytest

import nasnb.evaluation.proxies as proxies
from nasnb import CellSpace, Search, load_run
from nasnb.evaluation.proxies import prescreen
from nasnb.strategies import get
from nasnb.strategies import prescreen as prescreen_module

SETTINGS = {"proxy": "synflow", "n_candidates": 8, "keep": 3, "batch_size": 16}


@pytest.fixture
def proxy_calls(monkeypatch):
    """Count every proxy evaluation (ProxyEvaluator calls) and start from an empty screening cache."""
    prescreen_module._screened.cache_clear()
    calls = []
    real = proxies.ProxyEvaluator.__call__

    def counting(self, arch):
        calls.append(str(arch))
        return real(self, arch)

    monkeypatch.setattr(proxies.ProxyEvaluator, "__call__", counting)
    yield calls
    prescreen_module._screened.cache_clear()


def test_ask_never_evaluates_the_queue_is_filled_in_setup(proxy_calls):
    strategy = get("prescreen", **SETTINGS)
    strategy.setup(CellSpace(), 0)
    assert len(proxy_calls) == 8  # the screening, ahead of any ask
    proposals = [strategy.ask() for _ in range(5)]
    assert len(proxy_calls) == 8
    assert [p.decision.get("rank") for p in proposals[:3]] == [1, 2, 3]
    assert [p.decision["kind"] for p in proposals[:3]] == ["prescreen"] * 3
    assert proposals[3].decision["phase"] == "base"


def test_enqueued_candidates_are_proposed_without_any_proxy_run(proxy_calls):
    found = prescreen(CellSpace(), "synflow", n_candidates=6, keep=2, seed=5, batch_size=16)
    proxy_calls.clear()
    strategy = get("prescreen", **SETTINGS)
    strategy.enqueue(found)  # before setup, as Optuna's enqueue_trial before optimize
    strategy.setup(CellSpace(), 0)
    first = [strategy.ask() for _ in range(2)]
    assert proxy_calls == []
    assert [p.arch for p in first] == [c.arch for c in found]
    assert [p.decision["score"] for p in first] == [c.score for c in found]

    after = get("prescreen", **SETTINGS)
    after.setup(CellSpace(), 0)
    after.enqueue([str(found[1].arch)])  # after setup, before the first ask: replaces the screened queue
    assert after.ask().arch == found[1].arch and after.ask().decision["phase"] == "base"
    with pytest.raises(RuntimeError, match="before the first ask"):
        after.enqueue(found)


def test_replaying_and_resuming_a_run_do_not_rerun_the_proxies(proxy_calls, tmp_path, planted):
    run_dir = tmp_path / "pre"
    search = Search(CellSpace(), get("prescreen", **SETTINGS), planted, budget=6, seed=1, run_dir=run_dir)
    search.run()
    search.close()
    assert len(proxy_calls) == 8
    run = load_run(run_dir)
    for step in (0, 3, 6):
        replayed = run.strategy_at(step)
        assert replayed.candidates_ == search.strategy.candidates_
    assert len(proxy_calls) == 8  # replay in this process reuses the screening
    resumed = get("prescreen", **SETTINGS)
    resumed.setup(CellSpace(), 1)
    resumed.load_state_dict(search.strategy.state_dict())
    assert resumed.ask().arch == search.strategy.ask().arch
    assert len(proxy_calls) == 8


def test_bad_settings_name_the_parameter():
    with pytest.raises(ValueError, match=r"PrescreenStrategy parameter keep must be an int in \[1, 8\], got 9"):
        get("prescreen", proxy="params", n_candidates=8, keep=9).setup(CellSpace(), 0)
    with pytest.raises(ValueError, match="PrescreenStrategy parameter proxy must be one of"):
        get("prescreen", proxy="magic").setup(CellSpace(), 0)
