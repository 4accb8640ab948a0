"""compare_strategies: regret curves as plain data, confidence bands, ratios and the plot."""

import numpy as np
import pytest

from nasnb import CellSpace
from nasnb.compare import Comparison, compare_strategies, plot_regret, regret_band, regret_ratio
from nasnb.strategies import EvolutionStrategy, RandomStrategy


@pytest.fixture(scope="module")
def comparison():
    def objective(arch):
        return {"accuracy": sum(op == "conv_3x3" for op in arch.values()) / 6}

    strategies = {
        "random": "random",
        "evolution": ("evolution", {"population_size": 5, "tournament_size": 2}),
        "evo-dict": {"name": "evolution", "params": {"population_size": 6}},
        "evo-instance": EvolutionStrategy(population_size=4, tournament_size=2),
        "factory": lambda: RandomStrategy(unique=False),
    }
    return compare_strategies(CellSpace(), strategies, objective, seeds=4, budget=25, optimum=1.0)


def test_regret_curves_are_plain_non_increasing_data(comparison):
    assert isinstance(comparison, Comparison) and comparison.optimum_known
    assert comparison.seeds == [0, 1, 2, 3] and comparison.budget == 25
    for name in comparison.strategies:
        regret = comparison.regret[name]
        assert regret.shape == (4, 25)
        assert np.all(regret >= 0) and np.all(np.diff(regret, axis=1) <= 0)
        assert np.allclose(regret, 1.0 - np.maximum.accumulate(comparison.scores[name], axis=1))
    frame = comparison.to_dataframe()
    assert len(frame) == 5 * 4 * 25 and set(frame.columns) >= {"strategy", "seed", "evaluation", "regret"}


def test_band_surrounds_the_mean_and_both_methods_agree_roughly(comparison):
    t_band = comparison.curves()["evolution"]
    boot = comparison.curves(method="bootstrap")["evolution"]
    for band in (t_band, boot):
        assert np.all(band.lower <= band.mean + 1e-12) and np.all(band.mean <= band.upper + 1e-12)
    assert np.allclose(t_band.mean, boot.mean)
    assert list(t_band.evaluations) == list(range(1, 26))


def test_t_interval_on_known_numbers():
    band = regret_band(np.array([[1.0], [2.0], [3.0]]))
    assert band.mean[0] == 2.0
    assert band.upper[0] - 2.0 == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-5)
    single = regret_band(np.array([[np.nan], [0.5]]))
    assert single.mean[0] == single.lower[0] == single.upper[0] == 0.5


def test_ratio_to_random(comparison):
    ratios = regret_ratio(comparison)
    assert ratios["random"] == pytest.approx(1.0)
    final = comparison.final()
    assert ratios["evolution"] == pytest.approx(final["evolution"] / final["random"])
    early = regret_ratio(comparison, at=5)
    assert early["random"] == pytest.approx(1.0)
    summary = comparison.summary()
    assert list(summary["strategy"]) == comparison.strategies and "ratio_to_random" in summary
    with pytest.raises(ValueError, match="baseline"):
        regret_ratio(comparison, baseline="bo")
    with pytest.raises(ValueError, match="at must be"):
        regret_ratio(comparison, at=26)


def test_unknown_optimum_uses_the_best_found_and_failures_are_nan():
    def flaky(arch):
        if arch["0->1"] == "none":
            raise RuntimeError("boom")
        return {"accuracy": sum(op == "conv_1x1" for op in arch.values()) / 6}

    result = compare_strategies(CellSpace(), {"random": "random"}, flaky, seeds=[3, 4], budget=12)
    assert not result.optimum_known
    assert result.optimum == np.nanmax(result.scores["random"])
    assert np.nanmin(result.regret["random"][:, -1]) == 0.0 and np.nanmin(result.regret["random"]) >= 0.0
    failed = ~np.isfinite(result.scores["random"])
    assert failed.any()
    first = np.argmax(np.isfinite(result.scores["random"]), axis=1)
    for row, start in enumerate(first):
        assert np.all(np.isnan(result.regret["random"][row, :start]))


def test_bad_arguments_are_explained():
    def objective(arch):
        return {"accuracy": 0.5}

    with pytest.raises(ValueError, match="unknown strategy"):
        compare_strategies(CellSpace(), {"x": "nope"}, objective, seeds=1, budget=2)
    with pytest.raises(ValueError, match="budget"):
        compare_strategies(CellSpace(), {"r": "random"}, objective, seeds=1, budget=0)
    with pytest.raises(ValueError, match="seeds"):
        compare_strategies(CellSpace(), {"r": "random"}, objective, seeds=[], budget=2)
    with pytest.raises(TypeError, match="strategy 'x'"):
        compare_strategies(CellSpace(), {"x": 3}, objective, seeds=1, budget=2)
    with pytest.raises(TypeError, match="returned"):
        compare_strategies(CellSpace(), {"x": lambda: "random"}, objective, seeds=1, budget=2)


def test_plot_regret_draws_one_line_and_band_per_strategy(comparison):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plot_regret(comparison)
    assert len(ax.get_lines()) == len(comparison.strategies)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == comparison.strategies
    assert ax.get_xlabel() == "evaluations"
    plt.close(ax.figure)


def test_log_regret_plot_keeps_zero_regret_and_low_bands_visible():
    """Runs that reach the optimum have regret 0 and t-bands can dip below 0: on a log axis both
    would vanish, so they are drawn at a stated floor instead."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def easy(arch):  # one edge in five draws is right: every seed gets there within the budget
        return {"accuracy": float(arch["0->1"] == "conv_3x3")}

    comparison = compare_strategies(CellSpace(), {"random": "random"}, easy, seeds=4, budget=30, optimum=1.0)
    curves = comparison.curves(0.95)
    assert any((c.mean == 0).any() or (c.lower <= 0).any() for c in curves.values())  # the case under test
    ax = plot_regret(comparison, log=True)
    assert ax.get_yscale() == "log"
    drawn = np.concatenate([line.get_ydata() for line in ax.get_lines()[: len(comparison.strategies)]])
    bands = np.concatenate([np.asarray(c.get_paths()[0].vertices[:, 1]) for c in ax.collections])
    assert np.all(drawn > 0) and np.all(bands[np.isfinite(bands)] > 0)
    assert "drawn at" in ax.get_ylabel()
    plt.close(ax.figure)
