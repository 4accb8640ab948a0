# %% [markdown]
# # 15 · Architecture and hyperparameters, searched together — and which of them mattered
#
# Every cell in the table was trained with one fixed recipe: the same learning rate, batch size,
# weight decay and dropout. A real project does not know the recipe in advance, and a cell that
# looks poor may only be poorly trained. So this notebook searches the cell **and** its training
# hyperparameters at once, with real training on the digits, and then asks the question of
# notebook 6 of the joint space: *which decisions mattered — an edge of the cell, or the learning
# rate?*
#
# After it you can build a joint space, say how the `Trainer` reads the hyperparameter part,
# estimate the importance of hyperparameters and operations from one random search, and check the
# strongest claim with a paired experiment over seeds instead of trusting one ranking.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.stats import wilcoxon

from nasnb import CellSpace, HyperSpace, ProductSpace, Search
from nasnb.evaluation import Trainer
from nasnb.explain import compare_estimators, plot_decision_importance
from nasnb.spaces import hyperparameters, network_part

torch.set_num_threads(1)  # small networks on a shared CPU run fastest on one thread

# %% [markdown]
# ## One space for the cell and its recipe
#
# `ProductSpace` joins named spaces into one: each decision point keeps its name, so the six edges
# of the cell and the four hyperparameters are ten decisions of the same kind. A strategy does not
# know which of them are "architecture": it samples, mutates and crosses over all ten alike. We
# keep the grid of each hyperparameter small (2–3 values) so that a short search still sees every
# value several times.

# %%
# NBVAL_CHECK_OUTPUT
joint = ProductSpace(
    arch=CellSpace(),
    hp=HyperSpace(lr=(0.01, 0.03, 0.1), batch_size=(32, 128), weight_decay=(0.0, 0.001), dropout=(0.0, 0.3)),
)
for name, options in joint.choices.items():
    print(f"{name:>12}: {options}")
print(f"{len(CellSpace())} cells x {len(joint) // len(CellSpace())} recipes = {len(joint)} configurations")

# %% [markdown]
# One configuration is a cell and a recipe. `network_part` gives the cell the network is built from;
# `hyperparameters` gives the recipe, and the `Trainer` uses those values **instead of its own**
# (`Trainer(lr=0.05)` is only the default for spaces without a hyperparameter part):

# %%
# NBVAL_CHECK_OUTPUT
example = joint.sample(np.random.default_rng(3))
print("cell  ", network_part(example))
print("recipe", hyperparameters(example))

# %% [markdown]
# ## A random search with real training
#
# To *explain* a space we want an unbiased sample of it. Notebook 6 showed that a strategy's own
# trials are not one: evolution keeps proposing near its winners, so their ops look good whether
# they cause the accuracy or not. So: a **random** search of 40 configurations, each trained for two
# epochs on the digits with a small network (4 channels). It is the slow cell of this notebook,
# a fraction of a second per training on an idle core.

# %%
trainer = Trainer("digits", epochs=2, network={"channels": 4}, threads=1, device="cpu")
search = Search(joint, "random", trainer, budget=40, seed=0).run()
frame = search.to_dataframe()
for name in ("lr", "batch_size", "weight_decay", "dropout"):
    frame[name] = [hyperparameters(joint.parse(a))[name] for a in frame["arch"]]

# %%
print(f"validation accuracy from {frame['accuracy'].min():.2f} to {frame['accuracy'].max():.2f}")
by_lr = frame.groupby("lr")["accuracy"].agg(["count", "mean"])
print(by_lr.round(3).to_string())

# %% [markdown]
# Printed numbers from real training can differ in their last digit on another CPU (floating-point
# kernels differ), so the cells this notebook's tests compare print only what must hold:

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(search.trials)} trainings, {sum(t.ok for t in search.trials)} ok; "
      f"the best mean accuracy at lr = {by_lr['mean'].idxmax()}")

# %% [markdown]
# Two epochs are not many: at the smallest learning rate most networks have barely left chance
# (0.10 for ten classes). That is the regime of every cheap search — short training — and in it
# the recipe can matter as much as the cell. How much, and which part of it?
#
# ## Which decisions mattered?
#
# `op_importance` (notebook 6) works on any space with named decisions, so it treats `lr` exactly
# like edge `1->3`; `compare_estimators` runs it with both of its estimators. The **marginal** one:
# an option's *effect* is how much the trials that chose it beat the average option of the same
# decision; a decision's *importance* is the spread of its option effects, after subtracting what
# sampling noise alone would give (clipped at 0), with a bootstrap interval.
# The **forest** estimator fits a random forest that predicts accuracy from all ten decisions, the
# model fANOVA (Hutter et al. 2014) is built on. fANOVA then splits the variance of the forest's
# predictions among the decisions; nasnb's forest asks a simpler question of it — how much worse does
# the forest predict trials it has not seen when one decision's column is shuffled? — and reports that
# in the same units as the marginal importance. A forest sees interactions that a difference of
# means averages away, such as a learning rate that only works with some batch sizes.

# %%
both = compare_estimators(search, n_bootstrap=200, seed=0)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=False)
plot_decision_importance(both.marginal, ax=axes[0])
plot_decision_importance(both.forest, ax=axes[1])
axes[0].set_title("marginal (differences of means)", fontsize=9)
axes[1].set_title("random forest (permutation)", fontsize=9)
fig.tight_layout()

# %%
table = both.marginal.decisions[["decision", "importance", "low", "high"]].rename(columns={"importance": "marginal"})
table = table.merge(both.decisions[["decision", "forest"]], on="decision")
print(table.round(3).to_string(index=False))
print(f"rank agreement of the two estimators over the ten decisions: {both.decision_spearman:.2f}")

# %%
# NBVAL_CHECK_OUTPUT
edges = [d for d in joint.choices if "->" in d]
print("top two, marginal:", list(table["decision"][:2]), "| forest:", list(table.sort_values("forest")["decision"][-2:][::-1]))
print("batch_size's interval excludes 0:", bool(table.set_index("decision").loc["batch_size", "low"] > 0))
print("every edge's interval reaches 0:", bool((table.set_index("decision").loc[edges, "low"] <= 0).all()))

# %% [markdown]
# Read the intervals before the ranking. With 40 trainings spread over ten decisions, each option is
# seen by a handful to two dozen trials of very mixed quality, so most decisions' intervals reach down to 0: this
# sample cannot tell them apart from "no effect at all". Only the batch size's interval stays clear of
# 0 (at a fixed number of epochs, batch 32 means four times as many optimiser steps as batch 128), and
# both estimators put the batch size and the learning rate above every edge of the cell. The learning
# rate's own interval reaches 0, and its table above is not even in order (0.03 below 0.01): every
# trial varies nine other decisions at the same time, and a few dead cells (chance whatever the recipe)
# land in any group. That is what one random search of 40 can say — a *screening*. Before telling
# anyone "tune the learning rate before the cell", test it directly.
#
# ## A paired experiment over seeds
#
# The cleanest test changes one decision and keeps everything else. For each seed 0–7 we draw a
# random configuration and train it twice — once with `lr = 0.1` and once with `lr = 0.01`, the cell
# and the rest of the recipe unchanged, on the same data split and initialisation (`Trainer(seed=...)`)
# — and keep the difference. Pairing cancels what the two trainings share (a good cell stays good, a
# dead cell stays dead), which is exactly the variation that blurred the screening. Wilcoxon's
# signed-rank test asks whether the differences are centred on zero (it sets exact ties aside).

# %%
def paired(decision, a, b, seeds):
    """accuracy with ``decision = a`` minus with ``decision = b``: one random configuration per seed, all else equal."""
    gaps = []
    for seed in seeds:
        config = dict(joint.sample(np.random.default_rng(1000 + seed)))
        train = Trainer("digits", epochs=2, network={"channels": 4}, threads=1, device="cpu", seed=seed)
        with_a = train(joint.validate({**config, decision: a}))["accuracy"]
        with_b = train(joint.validate({**config, decision: b}))["accuracy"]
        gaps.append(with_a - with_b)
    return np.array(gaps)


gaps = paired("lr", 0.1, 0.01, range(8))

# %%
print("lr 0.1 − lr 0.01, per seed:", np.round(gaps, 2), f"mean {gaps.mean():+.3f}")

# %%
# NBVAL_CHECK_OUTPUT
print(f"lr 0.1 better on {int((gaps > 0).sum())}, worse on {int((gaps < 0).sum())}, "
      f"tied on {int((gaps == 0).sum())} of {len(gaps)} seeds; Wilcoxon p = {wilcoxon(gaps).pvalue:.3f}")

# %% [markdown]
# The larger learning rate is better on every seed where the two trainings differ at all; the ties are
# configurations that stayed at the same accuracy with either rate. With six untied pairs, all of one
# sign, the signed-rank test gives the smallest p it can (2/2⁶ ≈ 0.03). So the claim that survives
# is narrow and honest: **at two epochs of SGD on the digits, `lr = 0.1` beats `lr = 0.01` for the
# same random configuration** — not "the learning rate matters more than the cell" in general (with
# longer training the gap closes), and nothing at all about the decisions whose intervals include zero.
# Exercises 15.3 and 15.4 put the batch size through the same test and the learning rate through other
# seeds.
#
# What to take away:
#
# - Searching the recipe with the cell costs nothing extra per trial, and it changes the answer:
#   a cell judged at the wrong learning rate is judged wrongly. The table's fixed recipe is a choice.
# - Importance from one random search is a *screening*: it says where to look, with intervals that
#   are wide at small budgets. A paired experiment on the decision it points to is the evidence.
# - Explain a space from a random sample; a strategy's own trials (notebook 6) are biased.
#
# ## Exercises
#
# Replace each `...` and run the check below it: it says *correct* or gives a hint, never the answer.
#
# **15.1** How many configurations would the joint space have with the **default** `HyperSpace()` (its
# four grids as shipped) in place of the small one above?

# %%
from nasnb.grading import check

# %% [answer 15.1]
q151 = ...  # a number
### BEGIN SOLUTION
q151 = len(ProductSpace(arch=CellSpace(), hp=HyperSpace()))
### END SOLUTION

# %% [check 15.1]
check("15.1", q151, expect=1687500, hint="build `ProductSpace(arch=CellSpace(), hp=HyperSpace())` and take its `len`")

# %% [markdown]
# **15.2** In the random search above, what was the mean validation accuracy of the trials with
# `batch_size = 32` minus that of the trials with `batch_size = 128` (2 decimals)?

# %% [answer 15.2]
q152 = ...  # a number
### BEGIN SOLUTION
by_batch = frame.groupby("batch_size")["accuracy"].mean()
q152 = by_batch[32] - by_batch[128]
### END SOLUTION

# %% [check 15.2]
check("15.2", q152, expect=0.33, decimals=2, hint="`frame.groupby('batch_size')['accuracy'].mean()`, then subtract the two values")

# %% [markdown]
# **15.3** Put the screening's clearest result to the paired test: `paired("batch_size", 32, 128, range(8))`.
# On how many of the eight seeds is batch 32 better than batch 128?

# %% [answer 15.3]
q153 = ...  # a number
### BEGIN SOLUTION
q153 = int((paired("batch_size", 32, 128, range(8)) > 0).sum())
### END SOLUTION

# %% [check 15.3]
check("15.3", q153, expect=7, hint="count the positive entries of the array `paired` returns: `(gaps > 0).sum()`")

# %% [markdown]
# **15.4 (re-seed)** Repeat the learning-rate experiment on seeds 8–15: `paired("lr", 0.1, 0.01, range(8, 16))`.
# On how many of them is `lr = 0.1` better? Does the claim survive?

# %% [answer 15.4]
q154 = ...  # a number
### BEGIN SOLUTION
q154 = int((paired("lr", 0.1, 0.01, range(8, 16)) > 0).sum())
### END SOLUTION

# %% [check 15.4]
check("15.4", q154, expect=6, hint="the same count as above, on the array for seeds `range(8, 16)`")

# %% [markdown]
# **Try it yourself**
#
# - Train for 6 epochs instead of 2 (in the search and in `paired`). Does the learning rate still sit
#   above the edges, and does the paired gap shrink?
# - Run the search with `"evolution"` instead of `"random"` and compare the importance tables: which
#   decisions does evolution's biased sample promote?
# - Pair `dropout = 0.0` against `0.3` the same way. What does a p-value above 0.05 allow you to say?
