"""Decision paths of a search: the lineage graph, the path to the best trial, and the narrated records.

Every strategy runs a few steps on a planted objective (with a planted failure) and the narrative
of each kind of proposal must mention the facts its record holds.
"""

import matplotlib
import pytest

import nasnb
from nasnb import CellSpace, Search
from nasnb.explain import explain_path, explain_trial, lineage_graph, parent_links, path_to_best, plot_lineage
from nasnb.strategies import get
from nasnb.trial import Trial

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

SPACE = CellSpace()


def planted(arch, epochs=None):
    """Known per-op effects; a pooling first edge fails."""
    if arch["0->1"] == "avg_pool_3x3":
        raise RuntimeError("planted failure")
    score = sum({"conv_3x3": 1.0, "conv_1x1": 0.6, "skip_connect": 0.3}.get(op, 0.0) for op in arch.values())
    return {"accuracy": score / 6.0 + 0.01 * (epochs or 0), "params": 100.0 * score}


class Flaky:
    """The planted objective, and the 4th call fails too, so every strategy meets a failure."""

    def __init__(self):
        self.calls = 0

    def __call__(self, arch, epochs=None):
        self.calls += 1
        if self.calls == 4:
            raise RuntimeError("planted failure")
        return planted(arch, epochs)


PARAMS = {
    "random": {},
    "evolution": {"population_size": 5, "tournament_size": 3, "crossover_rate": 0.4},
    "qlearning": {"decay_trials": 5},
    "reinforce": {},
    "bo": {"n_initial": 4, "n_random": 15, "n_starts": 1},
    "halving": {"min_epochs": 1, "max_epochs": 9, "eta": 3},
    "hyperband": {"min_epochs": 1, "max_epochs": 9, "eta": 3},
    "nsga2": {"population_size": 4},
    "prescreen": {
        "proxy": "params",
        "n_candidates": 4,
        "keep": 2,
        "base_params": {"population_size": 3, "tournament_size": 2},
    },
}


@pytest.fixture(scope="module")
def searches():
    return {
        name: Search(SPACE, get(name, **params), Flaky(), budget=16, seed=1).run() for name, params in PARAMS.items()
    }


def _first(search, kind, **where):
    for trial in search.trials:
        d = trial.decision
        if d.get("kind") == kind and all(bool(d.get(k)) == v for k, v in where.items()) and trial.ok:
            return trial
    raise AssertionError(f"no ok {kind} trial with {where} in {[t.decision.get('kind') for t in search.trials]}")


def test_evolution_mutation_names_parent_tournament_and_change(searches):
    search = searches["evolution"]
    trial = _first(search, "mutation")
    text = explain_trial(search, trial.id)
    d = trial.decision
    parent = search.trials[d["parents"][0]]
    assert f"Trial {trial.id} mutated trial {parent.id}" in text
    assert f"tournament of {len(d['tournament']['members'])}" in text
    assert f"edge {d['change']['decision']} changed from {d['change']['from']} to {d['change']['to']}" in text
    assert f"{parent.score():.3f}" in text and f"accuracy {trial.score():.3f}" in text
    assert f"{trial.score() - parent.score():+.3f}" in text


def test_evolution_crossover_and_init(searches):
    search = searches["evolution"]
    trial = _first(search, "crossover")
    a, b = trial.decision["parents"]
    text = explain_trial(search, trial.id)
    assert f"crossed trial {a}" in text and f"with trial {b}" in text
    assert "from trial" in text
    assert "5 random architectures" in explain_trial(search, 0)


def test_qlearning_mentions_epsilon_and_q_values(searches):
    search = searches["qlearning"]
    mixed = [t for t in search.trials if 0 < sum(c["greedy"] for c in t.decision["choices"]) < 6]
    assert mixed, "expected a trial that mixes greedy and random choices"
    trial = mixed[-1]
    d = trial.decision
    text = explain_trial(search, trial.id)
    assert f"ε = {d['epsilon']:.3f}" in text
    greedy = sum(c["greedy"] for c in d["choices"])
    assert f"{greedy} of {len(d['choices'])} choices were greedy" in text
    assert "all 6 choices were explored at random" in explain_trial(search, 0)
    first = d["choices"][0]
    chosen_q = first["q_values"][first["options"].index(first["chosen"])]
    assert f"{first['decision']} = {first['chosen']}" in text and f"Q {chosen_q:.3f}" in text


def test_reinforce_mentions_probabilities_and_baseline(searches):
    search = searches["reinforce"]
    trial = search.trials[-1]
    d = trial.decision
    text = explain_trial(search, trial.id)
    assert f"baseline {d['baseline']:.3f}" in text
    c = d["choices"][2]
    assert f"{c['decision']} = {c['chosen']} (p = {c['probs'][c['options'].index(c['chosen'])]:.2f})" in text


def test_bo_mentions_prediction_and_acquisition(searches):
    search = searches["bo"]
    trial = _first(search, "bo")
    d = trial.decision
    text = explain_trial(search, trial.id)
    assert "Gaussian process predicted" in text and f"{d['mean']:.3f} ± {d['std']:.3f}" in text
    assert "expected improvement" in text and f"{d['best_so_far']:.3f}" in text
    assert "4 random architectures the Gaussian process is first fitted to" in explain_trial(search, 0)


@pytest.mark.parametrize("name", ["halving", "hyperband"])
def test_halving_mentions_rung_epochs_and_promotion(searches, name):
    search = searches[name]
    start = search.trials[0]
    assert "rung 0" in explain_trial(search, 0) and f"{start.decision['epochs']} epoch" in explain_trial(search, 0)
    trial = _first(search, "halving", promoted_from=True)
    origin = trial.decision["promoted_from"]
    text = explain_trial(search, trial.id)
    assert f"trial {origin['trial']}" in text and f"rung {trial.decision['rung']}" in text
    assert f"trains for {trial.decision['epochs']} epochs" in text
    assert f"{trial.score() - origin['score']:+.3f} vs {origin['epochs']} epoch" in text
    assert ("Hyperband s = " in text) == (name == "hyperband")


def test_nsga2_mentions_parents_fronts_and_mutation(searches):
    search = searches["nsga2"]
    trial = _first(search, "offspring")
    d = trial.decision
    text = explain_trial(search, trial.id)
    assert f"trial {d['parents'][0]['id']} (front {d['parents'][0]['rank']}" in text
    assert f"generation {d['generation']}" in text and d["mutation"]["decision"] in text


def test_prescreen_mentions_proxy_rank_and_hands_over(searches):
    search = searches["prescreen"]
    text = explain_trial(search, 0)
    assert "params proxy ranked it 1st of 4" in text
    later = next(t for t in search.trials if t.decision.get("phase") == "base" and t.decision["kind"] == "mutation")
    assert explain_trial(search, later.id).startswith("After pre-screening, the evolution strategy took over.")


@pytest.mark.parametrize("name", list(PARAMS))
def test_every_strategy_narrates_every_trial_and_failures(searches, name):
    search = searches[name]
    failures = [t for t in search.trials if not t.ok]
    assert failures
    for trial in search.trials:
        text = explain_trial(search, trial.id)
        assert text.startswith(("Trial", "After pre-screening")) and f"Trial {trial.id}" in text
        assert "the strategy recorded" not in text  # never the generic fallback
    assert "It failed: RuntimeError: planted failure" in explain_trial(search, failures[0].id)


def test_incomplete_or_unknown_records_fall_back_to_what_was_recorded():
    trials = [
        Trial(0, 0, str(SPACE.sample(0)), {"kind": "mutation", "parents": [7]}, {"accuracy": 0.5}),
        Trial(1, 1, str(SPACE.sample(1)), {"kind": "oracle", "hint": 42}, {"accuracy": 0.6}),
        Trial(2, 2, str(SPACE.sample(2)), {}, {"loss": 0.1}),
    ]
    assert "kind 'mutation'" in explain_trial(trials, 0) and "parents=[7]" in explain_trial(trials, 0)
    assert "hint=42" in explain_trial(trials, 1) and "accuracy 0.600" in explain_trial(trials, 1)
    assert "without a usable 'accuracy'" in explain_trial(trials, 2)
    with pytest.raises(KeyError, match="trial_id 9"):
        explain_trial(trials, 9)


def test_lineage_graph_of_an_evolution_run(searches):
    search = searches["evolution"]
    graph = lineage_graph(search.trials)
    assert graph.number_of_nodes() == len(search.trials)
    expected = sum(len(parent_links(t)) for t in search.trials)
    assert graph.number_of_edges() == expected > 0
    for parent, child, data in graph.edges(data=True):
        assert parent < child and data["kind"] in ("mutation", "crossover")
        before, after = search.trials[parent].score(), search.trials[child].score()
        if before is not None and after is not None:
            assert data["delta"] == pytest.approx(after - before)
        if data["kind"] == "mutation":
            assert data["change"]["decision"] in data["label"]
    failed = [n for n, d in graph.nodes(data=True) if d["status"] == "failed"]
    assert failed and all(graph.nodes[n]["score"] is None for n in failed)
    path = [t.id for t in path_to_best(search.trials)]
    ax = plot_lineage(graph, highlight=path, labels=True)
    assert ax.get_title() == f"lineage: {graph.number_of_nodes()} trials, {graph.number_of_edges()} links"
    assert len(ax.lines) == graph.number_of_edges()  # one drawn link per parent -> child edge
    red = [line for line in ax.lines if line.get_color() == "tab:red"]
    assert len(red) == len(path) - 1 and len(ax.texts) == len(path) - 1  # the path to the best, labelled
    for line, (u, v) in zip(red, zip(path, path[1:])):
        assert list(line.get_xdata()) == [graph.nodes[u]["step"], graph.nodes[v]["step"]]
    plt.close(ax.figure)


def test_path_to_best_ends_at_the_best_and_follows_parents(searches):
    for name in ("evolution", "halving", "nsga2", "random"):
        trials = searches[name].trials
        path = path_to_best(trials)
        best = max((t for t in trials if t.ok), key=lambda t: t.score())
        assert path[-1].score() == best.score()
        assert not [link for link in parent_links(path[0]) if link["parent"] in {t.id for t in trials}]
        for parent, child in zip(path, path[1:]):
            assert parent_links(child)[0]["parent"] == parent.id
    assert len(path_to_best(searches["random"].trials)) == 1
    assert path_to_best([]) == []
    assert len(explain_path(searches["evolution"])) == len(path_to_best(searches["evolution"].trials))


def test_halving_promotions_and_parentless_strategies(searches):
    trials = searches["halving"].trials
    graph = lineage_graph(trials)
    promoted = [t for t in trials if t.decision.get("promoted_from")]
    assert graph.number_of_edges() == len(promoted) > 0
    assert all(d["kind"] == "promotion" for _, _, d in graph.edges(data=True))
    for name in ("random", "qlearning", "reinforce", "bo"):
        graph = lineage_graph(searches[name].trials)
        assert graph.number_of_nodes() == 16 and graph.number_of_edges() == 0


def test_a_loaded_run_is_narrated_with_its_config(tmp_path):
    Search(
        SPACE,
        get("evolution", population_size=4, tournament_size=2),
        planted,
        budget=8,
        seed=0,
        run_dir=tmp_path / "run",
    ).run()
    run = nasnb.load_run(tmp_path / "run")
    assert "4 random architectures" in explain_trial(run, 0)
    assert lineage_graph(run).number_of_nodes() == 8
