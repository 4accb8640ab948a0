"""The multi-seed table format: means, one seed, a random seed per query, the spread, and answers per epoch.

A small table is built by hand in the format ``benchmarks/make_table.py pack`` writes (arrays over
cell x seed x epoch), so every number below can be checked by hand; the shipped single-seed table
must keep answering exactly as before through the same class.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from nasnb import Search
from nasnb.evaluation import DivergedError
from nasnb.evaluation.table import FAILED, MISSING, OK, BenchmarkTable, TableEvaluator, load_table
from nasnb.spaces import CellSpace

ROOT = Path(__file__).resolve().parents[1]


def seed_table(monkeypatch=None) -> BenchmarkTable:
    """The shipped index and keys; row 0..2 trained with three seeds by hand, row 3 half diverged, rest missing."""
    base = load_table("digits")
    n, seeds, epochs = len(base), 3, 2
    status = np.full((n, seeds), MISSING, dtype=np.uint8)
    val = np.full((n, seeds, epochs), np.nan, dtype=np.float32)
    status[:3] = OK
    val[0] = [[0.5, 0.8], [0.6, 0.9], [0.4, 0.7]]  # final 0.8, 0.9, 0.7: mean 0.8, sd 0.1
    val[1] = [[0.5, 0.6], [0.5, 0.6], [0.5, 0.6]]
    val[2] = [[0.2, 0.3], [0.1, 0.95], [0.3, 0.5]]
    status[3] = [OK, FAILED, OK]
    val[3] = [[0.5, 0.75], [np.nan, np.nan], [0.5, 0.25]]
    status[4] = FAILED
    arrays = {
        "index": base.index,
        "keys": base.keys,
        "seeds": np.array([0, 1, 2]),
        "seed_status": status,
        "params": np.arange(n),
        "macs": np.arange(n) * 10,
        "recipe": np.array(json.dumps({"epochs": epochs, "lr": 0.05})),
        "seed_val_accuracy": val,
        "seed_val_loss": np.where(np.isnan(val), np.nan, 1 - val).astype(np.float32),
        "seed_test_accuracy": np.where(status == OK, 0.5, np.nan),
        "seed_test_loss": np.full((n, seeds), 1.0, dtype=np.float32),
        "seed_train_seconds": np.where(status == OK, 2.0, np.nan).astype(np.float32),
    }
    table = BenchmarkTable("hand", arrays)
    if monkeypatch is not None:
        monkeypatch.setattr(TableEvaluator, "table", property(lambda self: table))
    return table


def test_means_spread_and_status_by_hand():
    t = seed_table()
    assert t.seeds == (0, 1, 2) and t.epochs == 2
    assert list(t.status[:6]) == [OK, OK, OK, OK, FAILED, MISSING]
    assert t.val_accuracy[0] == pytest.approx(0.8) and t.val_std[0] == pytest.approx(0.1)
    assert t.val_std[1] == pytest.approx(0.0)
    assert t.val_accuracy[3] == pytest.approx(0.5)  # the diverged seed is left out of the mean
    np.testing.assert_allclose(t.curves[0], [0.5, 0.8])
    assert t.best().key == t.keys[0] and t.optimum() == pytest.approx(0.8)  # row 2 has the best seed, not mean
    entry = t.entry(0)
    assert entry.seed_val_accuracy == (0.8, 0.9, 0.7) and entry.val_std == pytest.approx(0.1)


def test_evaluator_mean_chosen_seed_random_seed_and_epochs(monkeypatch):
    t = seed_table(monkeypatch)
    arch = t.representative(0)
    mean = TableEvaluator(test=True)(arch)
    assert mean["accuracy"] == pytest.approx(0.8) and mean["seed"] == "mean"
    assert mean["accuracy_std"] == pytest.approx(0.1) and mean["test_accuracy"] == pytest.approx(0.5)
    assert mean["curves"]["val_accuracy"] == pytest.approx([0.5, 0.8])
    assert mean["curves"]["val_loss"] == pytest.approx([0.5, 0.2])
    assert TableEvaluator(seed=1)(arch)["accuracy"] == pytest.approx(0.9)
    assert TableEvaluator(seed=2)(arch, epochs=1)["accuracy"] == pytest.approx(0.4)
    half = TableEvaluator()(arch, epochs=1)
    assert half["accuracy"] == pytest.approx(0.5) and half["train_seconds"] == pytest.approx(1.0)
    drawn = [TableEvaluator(seed="random", random_state=4)(arch) for _ in range(2)]
    assert drawn[0] == drawn[1]  # same random_state, same draw
    one = TableEvaluator(seed="random", random_state=4)
    seen = {one(arch)["seed"] for _ in range(60)}
    assert seen == {0, 1, 2}
    for answer in (one(arch) for _ in range(10)):
        assert answer["accuracy"] == pytest.approx([0.8, 0.9, 0.7][answer["seed"]])


def test_a_diverged_seed_is_never_drawn_and_asking_for_it_raises(monkeypatch):
    t = seed_table(monkeypatch)
    arch = t.representative(3)
    assert {TableEvaluator(seed="random", random_state=s)(arch)["seed"] for s in range(30)} == {0, 2}
    with pytest.raises(DivergedError, match="seed 1"):
        TableEvaluator(seed=1)(arch)
    with pytest.raises(DivergedError):
        TableEvaluator()(t.representative(4))


def test_bad_seed_settings_are_named(monkeypatch):
    t = seed_table(monkeypatch)
    arch = t.representative(0)
    with pytest.raises(ValueError, match=r"training seeds \[0, 1, 2\], got seed=7"):
        TableEvaluator(seed=7)(arch)
    with pytest.raises(ValueError, match="'mean', 'random'"):
        TableEvaluator(seed="median")(arch)


def test_repeatability_by_hand():
    t = seed_table()
    r = t.repeatability()  # rows 0-2 have every seed: per seed pair, Spearman over three cells
    assert r["cells"] == 3
    # seeds (0,1): [0.8,0.6,0.3] vs [0.9,0.6,0.95] -> ranks [3,2,1] vs [2,1,3]: rho -0.5
    # seeds (0,2): [0.8,0.6,0.3] vs [0.7,0.6,0.5] -> rho 1; seeds (1,2): [2,1,3] vs [3,2,1] -> rho -0.5
    assert r["rho"] == pytest.approx(0.0)
    assert np.isnan(load_table("digits").repeatability()["rho"])


def test_search_and_halving_run_on_the_seed_table(monkeypatch):
    t = seed_table(monkeypatch)
    rows = [0, 1, 2, 3]
    cells = [t.representative(r) for r in rows]
    search = Search(CellSpace(), "random", TableEvaluator(seed="random"), budget=4, seed=0)
    search.strategy.ask = lambda: __import__("nasnb").Proposal(cells.pop(0), {"kind": "test"})
    trials = search.run().trials
    assert all(t.ok for t in trials) and {tr.metrics["seed"] for tr in trials} <= {0, 1, 2}


def test_the_old_single_seed_table_keeps_its_numbers():
    t = load_table("digits")
    assert t.seeds == (0,) and t.seed_val_accuracy.shape == (len(t), 1)
    ok = np.flatnonzero(t.status == OK)
    np.testing.assert_array_equal(t.val_accuracy[ok], t.seed_val_accuracy[ok, 0])
    answer = TableEvaluator()(t.representative(int(ok[0])))
    assert "seed" not in answer and "accuracy_std" not in answer  # one seed: no spread to report


def _make_table_module():
    spec = importlib.util.spec_from_file_location("make_table", ROOT / "benchmarks" / "make_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_order_is_fixed_and_shards_are_byte_stable(tmp_path, monkeypatch):
    mt = _make_table_module()
    reps = [(f"k{i}", f"cell{i}") for i in range(70)]
    plan = mt.chunk_order(reps)
    assert plan == mt.chunk_order(reps) and [len(c) for c in plan] == [16, 16, 16, 16, 6]
    assert sorted(k for c in plan for k, _ in c) == sorted(k for k, _ in reps)
    monkeypatch.setattr(mt, "HERE", tmp_path)
    (tmp_path / "tables" / "t").mkdir(parents=True)
    rows = [{"key": "k1", "seed": 0, "status": "ok"}]
    first = mt.write_shard("t", 3, rows, {"epochs": 2}).read_bytes()
    again = mt.write_shard("t", 3, rows, {"epochs": 2}).read_bytes()
    assert first == again  # a rerun of the same chunk commits no change
    assert mt.read_shards("t") == {3: rows}
    partial = tmp_path / "tables" / "t" / "partial.jsonl"
    partial.write_text(json.dumps({"key": "k2", "seed": 1}) + "\n" + '{"key": "k3", "se')  # torn by a kill
    assert list(mt.read_partial("t")) == [("k2", 1)]
    with gzip.open(tmp_path / "tables" / "t" / "chunk-0003.json.gz", "rt") as f:
        assert json.load(f)["chunk"] == 3


def test_committed_shards_pack_and_load_through_load_table(tmp_path, monkeypatch):
    """The real path: committed shard -> make_table.py pack -> load_table -> TableEvaluator, on every seed."""
    import nasnb.evaluation.table_files as table_module  # where load_table reads TABLES_DIR

    mt = _make_table_module()
    shards = mt.read_shards("digits-seeds")
    if not shards:
        pytest.skip("no digits-seeds shard committed yet")
    monkeypatch.setattr(mt, "PACKAGE_TABLES", tmp_path)
    monkeypatch.setattr(mt, "read_partial", lambda table: {})  # only what is committed
    mt.pack_seeds("digits-seeds", partial=True)
    monkeypatch.setattr(table_module, "TABLES_DIR", tmp_path)
    table = table_module.load_table.__wrapped__("digits-seeds")
    rows = [r for rs in shards.values() for r in rs if r["status"] == "ok"]
    assert table.n_trained == len({r["key"] for r in rows}) // 1 and table.seeds == (0, 1, 2)
    for r in rows[:6]:
        row = int(np.flatnonzero(table.keys == r["key"])[0])
        arch = CellSpace().parse(r["arch"])
        assert table.row(arch) == row
        monkeypatch.setattr(TableEvaluator, "table", property(lambda self: table))
        answer = TableEvaluator(seed=r["seed"], test=True)(arch)
        assert answer["accuracy"] == pytest.approx(r["curves"]["val_accuracy"][-1], abs=1e-6)
        assert answer["curves"]["train_loss"] == pytest.approx(r["curves"]["train_loss"], abs=1e-5)
        assert answer["test_accuracy"] == pytest.approx(r["test_accuracy"], abs=1e-6)
        assert answer["params"] == r["params"] and answer["macs"] == r["macs"]


def test_compare_answers_is_this_difference_real_by_hand():
    t = seed_table()
    got = t.compare(t.representative(0), t.representative(1))  # [0.8, 0.9, 0.7] vs [0.6, 0.6, 0.6]
    assert got["a"] == pytest.approx([0.8, 0.9, 0.7]) and got["mean_b"] == pytest.approx(0.6)
    assert got["difference"] == pytest.approx(0.2) and got["std_a"] == pytest.approx(0.1) and got["std_b"] == 0
    # Welch: t = 0.2 / sqrt(0.01 / 3) = 3.464 with 2 degrees of freedom -> two-sided p = 0.0742
    assert got["p_value"] == pytest.approx(0.0742, abs=5e-4)
    one_seed = load_table("digits")
    ok = np.flatnonzero(one_seed.status == OK)
    assert np.isnan(one_seed.compare(one_seed.representative(ok[0]), one_seed.representative(ok[1]))["p_value"])
