# %% [markdown]
# # 7 · Decision paths: why was this architecture proposed, and how does it decide?
#
# A search is a sequence of decisions, and nasnb records the reason for each one: the tournament
# an evolutionary parent won, the Q-values behind a Q-learning choice, the probabilities of a
# policy, the Gaussian process's prediction. This notebook follows those records
#
# 1. **through the search** — the family tree of an evolution run and the line of edits that led
#    to its best architecture, narrated in plain language for every strategy;
# 2. **through a network** — for one input, which edges of the cell carried the answer, which
#    pixels mattered, and what the layers saw;
# 3. **across the plane** — on a 2-D toy problem, the decision boundary each architecture draws.

# %%
import shutil
import textwrap

import torch

import nasnb
from nasnb import CellSpace, ChainSpace, Search
from nasnb.data import load_dataset
from nasnb.evaluation import TableEvaluator, Trainer
from nasnb.explain import (
    decision_boundary,
    explain_input,
    explain_path,
    explain_trial,
    lineage_graph,
    path_to_best,
    plot_decision_boundaries,
    plot_feature_maps,
    plot_input_explanation,
    plot_lineage,
    plot_training_curves,
    training_curves,
)
from nasnb.strategies import get

torch.set_num_threads(1)  # small networks on a shared CPU run fastest on one thread


def show(text: str, width: int = 96) -> None:
    """Print prose wrapped between words (a notebook's output area would otherwise cut long
    lines anywhere, even mid-word); architecture strings are never split."""
    for paragraph in text.split("\n"):
        print(textwrap.fill(paragraph, width, break_long_words=False, break_on_hyphens=False))


# %% [markdown]
# ## The family tree of an evolution run
#
# We run aging evolution on the benchmark table (instant lookups) and load the run back from
# disk, as any later session could. `lineage_graph` draws one node per trial and one link per
# recorded parent → child relation; each link holds the edit and the change in accuracy.

# %%
shutil.rmtree("runs/07_evolution", ignore_errors=True)
space = CellSpace()
evaluator = TableEvaluator("digits")
strategy = get("evolution", population_size=20, tournament_size=5, crossover_rate=0.2)
Search(space, strategy, evaluator, budget=150, seed=0, run_dir="runs/07_evolution").run()
run = nasnb.load_run("runs/07_evolution")
graph = lineage_graph(run)
kinds = [data["kind"] for _, _, data in graph.edges(data=True)]
print(
    f"{graph.number_of_nodes()} trials, {graph.number_of_edges()} parent links: "
    f"{kinds.count('mutation')} mutations, {kinds.count('crossover')} crossover links"
)

# %%
path = path_to_best(run)
plot_lineage(graph, highlight=[t.id for t in path])
# %% [markdown]
# Grey lines are all parent → child links; the red line is `path_to_best`: starting from the best
# trial, follow its (first) parent back until a trial of the random initial population. (With
# `labels=True`, `plot_lineage` writes each red link's edit beside it; below, we read them instead.)
#
# ## Each step, in words
#
# `explain_trial` turns a decision record into sentences. Here is the story of the best
# architecture, from its random ancestor to itself:

# %%
# NBVAL_CHECK_OUTPUT
for line in explain_path(run):
    show(line)
    print()

# %% [markdown]
# Notice how many steps *lost* accuracy: evolution keeps a child in the population whatever it
# scores, and improvements come from the tournaments picking good parents again and again.
#
# ## Every strategy explains itself
#
# The same function reads every strategy's records. Short searches on the table:

# %%
others = {
    "random": {},
    "qlearning": {"decay_trials": 10},
    "reinforce": {},
    "bo": {"n_initial": 5, "n_random": 30, "n_starts": 1},
    "halving": {"min_epochs": 1, "max_epochs": 9, "eta": 3},
    "nsga2": {"population_size": 6},
}
for name, params in others.items():
    s = Search(space, get(name, **params), evaluator, budget=12, seed=0).run()
    last = s.trials[-1]
    print(f"— {name} —")
    show(explain_trial(s, last.id))
    print()

# %% [markdown]
# Q-learning reports its ε and the Q-value of each choice; REINFORCE the probability of each
# choice under its policy; Bayesian optimisation the predicted mean ± std and the acquisition
# value; successive halving the rung, the epochs and which earlier trial earned the promotion;
# NSGA-II the Pareto-front rank and crowding distance of its parents.
#
# Failures are part of the record too:


# %%
def fragile(arch):
    """The table, except that cells with a pooling first edge 'run out of memory'."""
    if arch["0->1"] == "avg_pool_3x3":
        raise MemoryError("simulated: out of memory")
    return evaluator(arch)


s = Search(space, "random", fragile, budget=10, seed=0, fail_fast=None).run()  # fail_fast=None: record failures, go on
failed = next(t for t in s.trials if not t.ok)
show(explain_trial(s, failed.id))

# %% [markdown]
# ## The decision path of a network for one input
#
# Now the other kind of decision: how a trained network arrives at its answer. We train the best
# cell of the run for a few epochs and explain its answer for one validation digit:
#
# * each edge gets an **attribution** — its output times the gradient of the predicted class's
#   score (captum's gradient × activation): positive edges pushed toward the answer;
# * the **strongest path** is the input → output route through the cell whose edges all carry a
#   lot (the product of their attributions, each scaled so the cell's strongest edge is 1);
# * the **saliency map** (integrated gradients) shows which pixels made the answer differ from
#   that for an average digit.

# %%
best = space.parse(run.best().arch)
trainer = Trainer("digits", epochs=4, network={"channels": 8}, keep_model=True)
print(f"accuracy after 4 epochs: {trainer(best)['accuracy']:.3f}")
model = trainer.last_model_
digits = load_dataset("digits")
x, label = digits.val.x[7], int(digits.val.y[7])
explanation = explain_input(model, x, label=label)
plot_input_explanation(explanation)
# %%
print(explanation.paths.round(3).to_string(index=False))

# %% [markdown]
# The network has two cells (one per stage), each with the same architecture but its own
# weights — and the strongest path need not be the same in both. Finally, what do the stem and the
# cells *see*? Each tile is one channel of that layer's output for this digit:

# %%
plot_feature_maps(explanation.feature_maps)
# %% [markdown]
# ## Decision boundaries on the two moons
#
# On 2-D data every architecture's decision can be drawn: colour each point of the plane by the
# class the network predicts there. We search small fully-connected chains with real training,
# and after each trial draw the boundary of the network just trained (`keep_model=True` keeps it).

# %%
chains = ChainSpace(layer_types=("fc",), max_layers=3)
trainer = Trainer("moons", epochs=30, keep_model=True)
boundaries = []
search = Search(chains, "random", trainer, budget=6, seed=1)
search.on(
    "trial_finished",
    lambda t: boundaries.append(decision_boundary(trainer.last_model_, "moons", title=t.arch, accuracy=t.score())),
)
search.run()
plot_decision_boundaries(boundaries, ncols=3)
# %% [markdown]
# Similar accuracies hide different functions: some networks wrap their boundary around both
# moons, others after 30 epochs still separate them with a gently bent line, as a linear model
# would. Width, depth, activation and dropout all change the shape. Each trial also recorded its
# per-epoch curves, which show who was still learning when training stopped:

# %%
curves = training_curves(search)
best_trial = search.best
plot_training_curves(curves, column="val_accuracy", highlight=[best_trial.id])

# %% [markdown]
# ## Exercises
#
# Replace each `...` and run the check below it: it says *correct* or gives a hint, never the answer.
#
# **7.1** How many trials lie on the line of descent from the random ancestor to the best trial of
# `run` (both ends included)?

# %%
from nasnb.grading import check

# %% [answer 7.1]
q71 = ...  # a number
### BEGIN SOLUTION
q71 = len(path_to_best(run))
### END SOLUTION

# %% [check 7.1]
check("7.1", q71, expect=15, hint="`path_to_best(run)` is that line, oldest first")

# %% [markdown]
# **7.2** On that line, how many edits (parent → child) *lost* validation accuracy?

# %% [answer 7.2]
q72 = ...  # a number
### BEGIN SOLUTION
line = path_to_best(run)
q72 = sum(child.score() < parent.score() for parent, child in zip(line, line[1:]))
### END SOLUTION

# %% [check 7.2]
check("7.2", q72, expect=7, hint="pair each trial of the path with the next one (`zip(line, line[1:])`) and compare `.score()`")

# %% [markdown]
# **7.3** The run made 150 evaluations. How many *distinct networks* (canonical keys) did they cover?
# (A strategy that re-evaluates a network spends budget without learning anything new; nasnb's
# strategies skip networks they have already evaluated, many libraries do not.)

# %% [answer 7.3]
q73 = ...  # a number
### BEGIN SOLUTION
q73 = len({space.parse(t.arch).key for t in run.trials})
### END SOLUTION

# %% [check 7.3]
check("7.3", q73, expect=150, hint="a set of `space.parse(t.arch).key` over `run.trials`")

# %% [markdown]
# **Try it yourself**
#
# - In the first section, use `crossover_rate=0.5` and look at the crossover links of the tree.
# - Explain a digit the network gets *wrong* (look for `explanation.prediction != label`): which
#   pixels misled it?
# - Pass `target=` to `explain_input` to ask why the network did *not* predict another class.
# - Search ReLU-only chains (`ChainSpace(layer_types=("fc",), activations=("relu",))`) and compare
#   their boundaries with those of `tanh` chains.
