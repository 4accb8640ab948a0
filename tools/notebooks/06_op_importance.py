# %% [markdown]
# # 6 · Which operations matter? Per-op importance
#
# A search leaves behind hundreds of (architecture, accuracy) pairs. Beyond "which one was best",
# they can answer the question a designer really cares about: **which choices pay off?** Does a
# `conv_3x3` on edge `1->3` help? Does edge `0->1` matter at all?
#
# This notebook answers it three ways:
#
# 1. **across a population** — compare the trials that made each choice (`op_importance`);
# 2. **inside one trained network** — switch an edge off and see what breaks (`edge_importance`);
# 3. **during training** — watch each edge's weights and gradients evolve (`record_dynamics`).
#
# Every answer comes with an honest measure of doubt, because with a few dozen trials most
# differences are noise.

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch

from nasnb import CellSpace, Search
from nasnb.evaluation import TableEvaluator, Trainer
from nasnb.explain import (
    ImportanceTracker,
    agreement,
    compare_estimators,
    edge_importance,
    op_importance,
    plot_decision_importance,
    plot_dynamics,
    plot_edge_importance,
    plot_histograms,
    plot_importance,
    record_dynamics,
)
from nasnb.spaces import plot_architecture
from nasnb.strategies import EvolutionStrategy

torch.set_num_threads(1)  # small networks on a shared CPU run fastest on one thread

# %% [markdown]
# ## A population to learn from
#
# Importance is estimated from many architectures, so we use the benchmark table of notebook 2:
# every cell was trained once on *digits*, and `TableEvaluator` looks the result up instantly.
# A **random** search gives an unbiased sample of the space — keep that word in mind.

# %%
space = CellSpace()
evaluator = TableEvaluator("digits")
search = Search(space, "random", evaluator, budget=300, seed=0).run()
print(search)

# %% [markdown]
# ## The effect of each option
#
# For every decision point (an edge) and every option (an operation), `op_importance` compares
# the average accuracy of the trials that chose it with the average over that edge's options:
#
# effect(edge, op) = mean accuracy of trials with *op* on *edge* − average of those means over the ops
#
# A positive effect means "choosing this op here tends to help". A decision's **importance** is how
# much its effects spread, corrected for noise: the mean square of its effects, minus the part that
# the noise of the estimated means alone would produce ((k − 1)/k times their mean squared standard
# error, for k options), clipped at 0, then the square root. Without the correction an edge that does
# nothing would still score "a little" (any estimated means differ a bit); with it, such an edge
# scores 0. An edge whose choice barely moves accuracy is unimportant. The intervals come from the **bootstrap**: the trials are resampled 200 times
# and the estimate recomputed each time; the middle 95% of those answers is the interval.

# %%
result = op_importance(search, n_bootstrap=200, seed=0)
print(result.decisions.round(4).to_string(index=False))

# %%
# NBVAL_CHECK_OUTPUT
print("edges, most important first:", result.ranking())

# %%
plot_importance(result);

# %% [markdown]
# Read the heatmap row by row. The top rows are the edges that matter most. A red cell helps, a
# blue one hurts, and the bracket under each number is its 95% interval: when it contains 0,
# the data cannot tell whether that option helps at all.
#
# Look at the `none` column first. An edge set to `none` carries nothing, and on an edge that leaves
# the input (`0->…`) or enters the output (`…->3`) that can cut one of the cell's routes, so it
# hurts. `conv_3x3`, the op with the most weights, helps on most edges.
#
# Read the ranking with its intervals too: `0->1` and `2->3` lead, but their intervals overlap, so
# their order is not settled by 300 trials (exercise 6.3 draws another 300), and the two edges into
# node 2 score exactly 0 — the noise correction at work.
#
# ## How many trials does it take?
#
# The same estimate from only the first 30 trials:

# %%
early = op_importance(search.trials[:30], space, n_bootstrap=200, seed=0)
fig, axes = plt.subplots(1, 2, figsize=(11, 3), sharex=True)
plot_decision_importance(early, ax=axes[0])
plot_decision_importance(result, ax=axes[1])
axes[0].set_title("after 30 trials", fontsize=9)
axes[1].set_title("after 300 trials", fontsize=9);

# %% [markdown]
# With 30 trials each option of an edge has been tried only about six times, and the error bars
# say so. Trust an importance ranking only once its intervals have separated.
#
# ## A second opinion: a random forest
#
# The marginal means above look at one edge at a time and average over everything else. But
# edges interact: an edge out of node 1 only matters if something reaches node 1. A **random
# forest** fitted to the whole population can model such interactions. Its decision importance is
# *permutation importance* (how much worse it predicts when that edge's column is shuffled), its
# option effects are *partial dependence* (predict every trial with the option forced, average).

# %%
both = compare_estimators(search, n_bootstrap=10, seed=0)
print(both.decisions.round(4).to_string(index=False))
print(f"rank agreement of the decisions: Spearman {both.decision_spearman:.2f}; "
      f"of the option effects: {both.option_spearman:.2f}")

# %% [markdown]
# When the two rank the edges alike, the ranking does not hinge on the method. (The forest's
# effects are smaller: a forest averages neighbouring architectures, which shrinks every effect
# toward zero. Use it for rankings and interactions, the marginal means for sizes with intervals.)
#
# ## Watching importance while a search runs — and a trap
#
# `ImportanceTracker` keeps the answer up to date as trials finish: connect it to a search's
# `trial_finished` event. Here it watches **evolution**.

# %%
tracker = ImportanceTracker(space, n_bootstrap=50)
evolution = Search(space, EvolutionStrategy(population_size=20, tournament_size=5), evaluator, budget=300, seed=0)
evolution.on("trial_finished", tracker.update)
history = {}
for _ in range(10):
    for _ in range(30):
        evolution.step()
    history[len(tracker)] = tracker.result().decisions.set_index("decision")["importance"]
fig, ax = plt.subplots(figsize=(6, 3))
pd.DataFrame(history).T.plot(ax=ax, marker="o", ms=3)
ax.set_xlabel("trials seen"); ax.set_ylabel("importance"); ax.legend(fontsize=7, ncol=3);

# %%
# NBVAL_CHECK_OUTPUT
print("random search says:", result.ranking())
print("evolution says:    ", tracker.result().ranking())

# %% [markdown]
# The two populations disagree. Which to believe? Evolution's trials are **not a random sample**:
# after a few generations almost every cell is a mutation of a good one. Comparing options
# *within* such a population measures something else — which small changes matter once the rest
# of the cell is already good — and options that were abandoned early have few, unrepresentative
# trials. Importance from a strategy's own trials describes that search, not the space.
#
# ## Inside one network: switch an edge off
#
# Population importance says which choices *tend* to work. For a single trained network we can
# ask directly what each edge contributes. Let us train the best cell found, for real.

# %%
best = space.parse(search.best.arch)
plot_architecture(best)
trainer = Trainer("digits", epochs=4, network={"channels": 8}, keep_model=True)
metrics = trainer(best)
model = trainer.last_model_
print(f"validation accuracy after 4 epochs: {metrics['accuracy']:.3f}")

# %% [markdown]
# Two ways to measure an edge inside this network:
#
# * **ablation**: silence the edge (a hook replaces its output by zeros, in every cell) and
#   measure the drop in validation accuracy — a causal answer, but blunt;
# * **attribution** (captum's gradient × activation): how much the edge's output pushes the
#   correct class's score, to first order — one backward pass, nothing switched off.

# %%
both_ways = agreement(model, "digits")
print(both_ways.frame.round(3).to_string(index=False))
print(f"Spearman between ablation (loss increase) and attribution: {both_ways.spearman:.2f}")
fig, axes = plt.subplots(1, 2, figsize=(11, 2.8))
plot_edge_importance(both_ways.frame, ax=axes[0], column="ablation")
plot_edge_importance(both_ways.frame, ax=axes[1], column="attribution")
axes[0].set_title("accuracy drop when silenced", fontsize=9)
axes[1].set_title("gradient × activation", fontsize=9);

# %% [markdown]
# Edges with `none` (or cut off from input or output) never run, so both methods give them 0.
# Gentler than zeros is **mean ablation**: replace the edge's output by its average output, which
# removes only what depends on the input.

# %%
print(edge_importance(model, "digits", ablation="mean")[["unit", "op", "importance", "loss_increase"]]
      .round(3).to_string(index=False))

# %% [markdown]
# ## Training dynamics: which edges learn?
#
# `record_dynamics` trains the same architecture again and records, after every epoch, each edge's
# weight norm and the size of its gradients. Parameter-free operations (skip, pooling) have none.

# %%
dynamics = record_dynamics(best, "digits", epochs=4, network={"channels": 8})
plot_dynamics(dynamics);

# %%
conv_edges = dynamics.norms[dynamics.norms["op"].str.startswith("conv")]["unit"].unique()
if len(conv_edges):
    plot_histograms(dynamics, conv_edges[0], kind="weight")

# %% [markdown]
# Compare the edges with each other rather than over time: with BatchNorm inside every
# convolution, the weight norms barely move, but an edge whose gradients stay far below the others'
# is one the loss hardly depends on — set that against the ablation above. With
# `pip install tensorboard`, `export_tensorboard(dynamics, "runs/tb")` writes the same numbers for
# TensorBoard.
#
# ## Exercises
#
# Replace each `...` and run the check below it: it says *correct* or gives a hint, never the answer.
#
# **6.1** For the edge that `result` ranks first, compute the *uncorrected* spread of its option
# effects: the square root of the mean of the squared effects (4 decimals). It is a little larger
# than that edge's `importance`; the difference is the noise correction.

# %%
import numpy as np

from nasnb.grading import check

# %% [answer 6.1]
q61 = ...  # a number
### BEGIN SOLUTION
top_effects = result.options.loc[result.options["decision"] == result.ranking()[0], "effect"]
q61 = float(np.sqrt(np.nanmean(top_effects**2)))
### END SOLUTION

# %% [check 6.1]
check("6.1", q61, expect=0.0264, decimals=4, hint="rows of `result.options` whose decision is `result.ranking()[0]`; sqrt(mean(effect²))")

# %% [markdown]
# **6.2** How many edges does `result` give an importance of exactly 0 (the noise correction clipped them)?

# %% [answer 6.2]
q62 = ...  # a number
### BEGIN SOLUTION
q62 = int((result.decisions["importance"] == 0).sum())
### END SOLUTION

# %% [check 6.2]
check("6.2", q62, expect=2, hint="count the rows of `result.decisions` whose importance is 0")

# %% [markdown]
# **6.3 (re-seed)** Run the same random search with `seed=2` (budget 300) and `op_importance(...,
# n_bootstrap=200, seed=0)`. Which edge does it rank **second**? (A string such as `"0->3"`.)

# %% [answer 6.3]
q63 = ...  # a string
### BEGIN SOLUTION
reseeded = op_importance(Search(space, "random", evaluator, budget=300, seed=2).run(), n_bootstrap=200, seed=0)
q63 = reseeded.ranking()[1]
### END SOLUTION

# %% [check 6.3]
check("6.3", q63, expect="1->2", hint="`op_importance(Search(..., seed=2).run(), n_bootstrap=200, seed=0).ranking()[1]`")

# %% [markdown]
# **Try it yourself**
#
# - Re-run the importance with 60 and 150 random trials: when do the top two edges separate?
# - Change `seed=` of the random search: does the ranking stay the same?
# - Silence an edge of your choice by hand (`model.cells[0].edges["1_3"]`) with a forward hook,
#   and check your result against `edge_importance`.
