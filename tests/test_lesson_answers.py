"""The graded answers of lessons 02, 05 and 09 that depend on the multi-seed table agree with the table.

An exercise's expected value is a literal in its outline (``check("5.3", q53, expect=...)`` in
``tools/notebooks/``). When the ``digits-seeds`` table is rebuilt or finished, such a literal goes stale
without any fast test noticing (only nbgrader's slow autograde of the instructor's notebook would).
These tests recompute the cheap table-dependent answers the way the solutions do and pass them to the
same ``check`` the course uses, with the outline's own ``expect=`` and ``decimals=``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from nasnb import CellSpace, Search
from nasnb.evaluation import TableEvaluator, load_table
from nasnb.grading import check
from nasnb.strategies import NSGA2Strategy

OUTLINES = Path(__file__).resolve().parents[1] / "tools" / "notebooks"


def expected(outline: str, question: str) -> tuple[object, int | None]:
    """The ``expect=`` and ``decimals=`` literals of ``check(question, ...)`` in ``tools/notebooks/<outline>``."""
    tree = ast.parse((OUTLINES / outline).read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "check"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == question
        ):
            keywords = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg in ("expect", "decimals")}
            return keywords["expect"], keywords.get("decimals")
    raise AssertionError(f"{outline} has no check({question!r}, ...) call")


def assert_answer(outline: str, question: str, answer: object) -> None:
    expect, decimals = expected(outline, question)
    assert check(question, answer, expect=expect, decimals=decimals), (
        f"{outline} expects {expect!r} for question {question}, the table gives {answer!r}: update the outline's "
        "expect= (and any prose quoting it), rebuild with tools/make_notebook.py and re-execute the notebook"
    )


@pytest.fixture(scope="module")
def table():
    return load_table("digits-seeds")


def test_expected_reads_the_literal_of_the_named_check_only():
    assert expected("05_cheap_evaluation.py", "5.2")[1] == 3
    assert expected("09_multi_objective.py", "9.1") == (["D", "E"], None)
    with pytest.raises(AssertionError, match="no check"):
        expected("09_multi_objective.py", "9.9")


def test_lesson_02_best_cell_against_the_fifth(table):
    frame = table.frame()
    top = frame[frame["status"] == "ok"].sort_values("val_accuracy", ascending=False, kind="stable").head(5)
    space = CellSpace()
    p_value = table.compare(space.parse(top.iloc[0]["arch"]), space.parse(top.iloc[4]["arch"]))["p_value"]
    assert 0 <= p_value <= 1
    assert_answer("02_evolution.py", "2.4", p_value)


def test_lesson_05_seeds_needed_for_a_ceiling_of_095(table):
    r = table.repeatability()["rho"]
    seeds = next(s for s in range(1, 1000) if (s * r / (1 + (s - 1) * r)) ** 0.5 >= 0.95)
    assert (seeds * r / (1 + (seeds - 1) * r)) ** 0.5 >= 0.95 > ((seeds - 1) * r / (1 + (seeds - 2) * r)) ** 0.5
    assert_answer("05_cheap_evaluation.py", "5.1", seeds)


def test_lesson_05_cells_with_a_higher_test_accuracy_than_the_validation_winner(table):
    ok = table.frame().query("status == 'ok'")
    winner_test = ok.loc[ok["val_accuracy"].idxmax(), "test_accuracy"]
    assert_answer("05_cheap_evaluation.py", "5.3", int((ok["test_accuracy"] > winner_test).sum()))


def test_lesson_09_best_cell_for_lambda_001(table):
    cells = table.frame().query("status == 'ok'").reset_index(drop=True)
    assert_answer(
        "09_multi_objective.py",
        "9.2",
        int(cells.loc[(cells["val_accuracy"] - 0.01 * cells["params"] / 1000).idxmax(), "params"]),
    )


def test_lesson_09_nsga2_on_the_table_never_repeats_a_network():
    space = CellSpace()
    strategy = NSGA2Strategy(population_size=20, objectives={"accuracy": "max", "params": "min"})
    search = Search(space, strategy, TableEvaluator("digits-seeds"), budget=300, seed=0).run()
    assert_answer("09_multi_objective.py", "9.3", len({space.parse(t.arch).key for t in search.trials}))


@pytest.mark.slow
def test_lesson_02_reseeded_comparison(table):
    from scipy.stats import wilcoxon

    from nasnb.compare import compare_strategies, regret_ratio
    from nasnb.strategies import EvolutionStrategy

    strategies = {
        "random": "random",
        "tournament 5": EvolutionStrategy(population_size=20, tournament_size=5),
        "tournament 5 + crossover": EvolutionStrategy(population_size=20, tournament_size=5, crossover_rate=0.5),
    }
    reseeded = compare_strategies(
        CellSpace(),
        strategies,
        TableEvaluator("digits-seeds"),
        seeds=range(20, 40),
        budget=150,
        optimum=table.optimum(),
    )
    assert_answer("02_evolution.py", "2.2", regret_ratio(reseeded, "random", at=150)["tournament 5 + crossover"])
    area = {name: curves.mean(axis=1) for name, curves in reseeded.regret.items()}
    assert_answer("02_evolution.py", "2.3", wilcoxon(area["tournament 5"], area["random"]).pvalue)


@pytest.mark.slow
def test_lesson_04_reseeded_bayesian_optimisation(table):
    from nasnb.compare import compare_strategies, regret_ratio
    from nasnb.strategies import BayesianStrategy

    reseeded = compare_strategies(
        CellSpace(),
        {"random": "random", "BO (EI)": BayesianStrategy(n_initial=10)},
        TableEvaluator("digits-seeds"),
        seeds=range(10, 20),
        budget=60,
        optimum=table.optimum(),
    )
    assert_answer("04_bayesian_optimisation.py", "4.3", regret_ratio(reseeded, "random", at=60)["BO (EI)"])


@pytest.mark.slow
def test_lesson_05_params_against_the_seed_mean(table):
    from scipy.stats import spearmanr

    from nasnb.evaluation.proxy_analysis import score_cells

    scores = score_cells(table, ["synflow", "snip", "grad_norm", "naswot", "params"], n=150, seed=0)
    assert_answer("05_cheap_evaluation.py", "5.2", spearmanr(scores["params"], scores["val_accuracy"]).statistic)
