# %% [markdown]
# # 13 · One-shot weight sharing: one supernet for every cell
#
# Training each candidate from scratch is what makes architecture search expensive. **Weight
# sharing** trains *one* network that contains every candidate, a **supernet**, and then judges any
# cell by the weights it *inherits* from it, with no training of its own. Notebook 05 met one version,
# DARTS, which mixes all operations on every edge and learns mixing weights α. Here is the other
# main family, **single-path one-shot** (SPOS, Guo et al. 2020; ENAS, Pham et al. 2018, shares weights
# the same way but samples with a learned controller):
#
# 1. every training step draws **one operation per edge** at random and trains only that path;
# 2. afterwards, score a cell by copying its operations' weights out of the supernet and measuring
#    its validation accuracy.
#
# Whether this works hinges on one question, which the table can answer exactly: **do inherited
# weights rank cells the way training each cell alone does?**

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import spearmanr

from nasnb import CellSpace
from nasnb.data import load_dataset
from nasnb.evaluation import OneShot, load_table, rank_agreement
from nasnb.nn import count_params

space = CellSpace()
digits = load_dataset("digits")
table = load_table("digits")
oneshot = OneShot(epochs=20, calibration=256, verbose=5)
print(oneshot, "|", table)

# %% [markdown]
# ## Sampling a path
#
# The sampler draws each edge's operation uniformly from the five, independently of the other
# edges: every one of the 5⁶ = 15,625 cells is equally likely, and every (edge, operation) pair is
# trained on about a fifth of the steps. Three draws:

# %%
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(0)
for _ in range(3):
    print(space.validate(oneshot.sample_path(rng)))

# %% [markdown]
# ## Training the supernet
#
# 20 epochs of digits, one random path per batch of 64, with SGD. Each step costs about as much as a
# step of one small network, so the whole supernet costs about as much as training a few cells.

# %%
result = oneshot.fit(digits, seed=0)
fig, ax = plt.subplots(figsize=(5, 2.8))
ax.plot([h.epoch for h in result.history], [h.train_accuracy for h in result.history], "o-")
ax.set_xlabel("epoch"); ax.set_ylabel("accuracy of the sampled paths")
ax.set_title(f"supernet training: {result.seconds:.1f} s on one thread", fontsize=9);

# %% [markdown]
# The accuracy is that of whichever path was drawn for each batch: the shared weights have learned
# to work for *random* cells. How evenly were the operations trained? The sampler is seeded, so
# these counts are exact:

# %%
# NBVAL_CHECK_OUTPUT
steps = sum(result.op_counts["0->1"].values())
print(f"{steps} steps; times each operation was trained on edge 0->1: {result.op_counts['0->1']}")

# %% [markdown]
# ## Reading a cell off the supernet
#
# `result.inherit(cell)` builds the cell's stand-alone network (the same class, skeleton and
# parameters as the network the table trained for 6 epochs) and copies the shared weights of its
# operations into it. Only where the weights come from differs:

# %%
# NBVAL_CHECK_OUTPUT
best = space.parse(table.best().arch)
network = result.inherit(best)
print(best)
print(f"{type(network).__name__}: {count_params(network)} parameters; the table's network: {table.lookup(best).params}")

# %% [markdown]
# Before scoring, `OneShot.score` re-estimates the network's BatchNorm statistics on 256 training
# images: the supernet's running averages describe a mixture of all the paths it trained, not this
# cell (SPOS does the same). Then it measures validation accuracy.
#
# ## Ranking 60 cells by inherited weights
#
# A random sample of 60 distinct cells from the table, scored by the supernet, against the accuracy
# each reached when trained alone:

# %%
rows = np.sort(np.random.default_rng(0).choice(len(table), 60, replace=False))
cells = [table.representative(int(row)) for row in rows]
truth = table.val_accuracy[rows]
scores = oneshot.score(result, cells, digits)
agreement = rank_agreement(scores, truth, k=10)
p = spearmanr(scores, truth).pvalue
print(agreement, f"Spearman p = {p:.2f}")

fig, ax = plt.subplots(figsize=(5, 3.8))
ax.scatter(truth, scores, s=14)
ax.set_xlabel("trained alone (table, validation)"); ax.set_ylabel("inherited weights (validation)")
ax.set_title(f"ρ = {agreement.spearman:.2f} (p = {p:.2f}), τ = {agreement.kendall:.2f}, "
             f"top-10 overlap {agreement.top_overlap:.0%}", fontsize=9);

# %% [markdown]
# The ranking is weak: with 60 cells, a Spearman ρ this close to zero is no evidence of any
# agreement (read its p-value), and the top-10 sets share about what two random top-10s would
# (exercise 13.2). On other supernet seeds, and on a sample of 100 cells, we measured ρ between
# about −0.15 and 0.15 for this recipe; exercise 13.3 lets you try one.
#
# ## Free and cheap rankers on the same cells
#
# Is that bad? Compare with two rankers that need no supernet: the **parameter count** (free) and
# the table's accuracy after **one epoch** of training each cell alone (60 cells × 1 of 6 epochs:
# the cost of 10 full trainings). And look at each ranker's top pick:

# %%
rankers = {"one-shot\n(inherited)": scores, "parameter\ncount": table.params[rows].astype(float),
           "1 epoch\neach": table.curves[rows, 0]}
final_rank = (-truth).argsort(kind="stable").argsort() + 1  # 1 = best of the 60 when trained alone
fig, ax = plt.subplots(figsize=(6, 3.2))
for i, (name, values) in enumerate(rankers.items()):
    rho, p_value = spearmanr(values, truth)
    pick = final_rank[int(np.argmax(values))]
    ax.bar(i, rho, color="tab:blue" if p_value < 0.05 else "tab:grey")
    ax.text(i, max(rho, 0) + 0.02, f"ρ={rho:.2f}, p={p_value:.3f}\ntop pick: {pick} of 60", ha="center", fontsize=8)
    print(f"{name.replace(chr(10), ' '):24s} rho {rho:5.2f} (p = {p_value:.3f}); its top pick ranks {pick} of 60")
ax.set_xticks(range(len(rankers)), list(rankers)); ax.set_ylabel("Spearman ρ with the table")
ax.set_ylim(min(-0.2, ax.get_ylim()[0]), 0.7); ax.axhline(0, c="k", lw=0.8)
ax.set_title("blue: distinguishable from no correlation (p < 0.05)", fontsize=9);

# %% [markdown]
# On this sample the parameter count's correlation with the table is clearly above zero and the
# supernet's is not. (We have not tested whether the two correlations *differ* from each other; what
# we can say is that the supernet shows no evidence of ranking at all.) Yet the parameter count's
# top pick is one of the worst cells: a correlation over all 60 cells says little about the very
# top, which is what a search keeps. One epoch of training each (ρ = 0.22, p ≈ 0.09: not
# distinguishable from zero on 60 cells either) costs about three times the supernet: 10 full
# trainings' worth against about 3.
#
# ### Why weight sharing ranks badly
#
# - **Weight coupling.** The shared weights of a 3×3 convolution on edge 0→1 must serve all 3,125
#   cells around it; trained alone, the same convolution would adapt to its own cell. What the
#   supernet rewards is "works with weights trained for everyone".
# - **Every path is undertrained.** Each operation gets a fifth of 320 steps, and a given cell's
#   whole path is almost never trained as a unit (exercise 13.1).
# - **It is consistent, not random.** When we trained supernets with seeds 0, 1 and 2, their scores
#   agreed with each other (ρ ≈ 0.5–0.7 between pairs) far better than with the table: the supernet
#   measures something real, just not stand-alone quality.
#
# This matches the literature: Yu et al. (2020, "Evaluating the search phase of neural architecture
# search") found weight-sharing rankings close to random, and the NAS-Bench-201 paper found
# weight-sharing searches often doing worse than random search on its benchmark.
# What helps: fine-tune the top candidates alone before trusting their order, use the supernet only
# to discard clearly broken cells, or split the supernet (few-shot NAS). And always check the ranking
# against ground truth, as we just did, before using it.
#
# ## Exercises
#
# Replace each `...` and run the check below it: it says *correct* or gives a hint, never the answer.
#
# **13.1** The supernet made 320 training steps (16 batches × 20 epochs). By hand: how many steps,
# **on average**, trained the complete path of one particular cell, all six edges as in that cell
# (4 decimals)?

# %%
from nasnb.grading import check

# %% [answer 13.1]
q131 = ...  # a number
### BEGIN SOLUTION
q131 = 320 / 5**6
### END SOLUTION

# %% [check 13.1]
check("13.1", q131, expect=0.0205, decimals=4, hint="each step draws one of 5 operations on each of 6 edges independently: how likely is one given cell?")

# %% [markdown]
# **13.2** If the one-shot scores were pure noise, how many of the 10 best cells by score would, on
# average, also be among the 10 best in the table? The sample has 60 cells (2 decimals).

# %% [answer 13.2]
q132 = ...  # a number
### BEGIN SOLUTION
q132 = 10 * 10 / 60
### END SOLUTION

# %% [check 13.2]
check("13.2", q132, expect=1.67, decimals=2, hint="each of the 10 table-best cells lands in a random top-10 of 60 with probability 10/60")

# %% [markdown]
# **13.3 (re-seed)** Train a second supernet with `seed=1`, score the same 60 `cells`, and give
# Spearman's ρ between its scores and the table's accuracies `truth`, rounded to **1 decimal**
# (neighbouring values count as correct: training numbers vary a little between machines).
# Is it any better than seed 0's?

# %% [answer 13.3]
q133 = ...  # a number
### BEGIN SOLUTION
scores_seed1 = oneshot.score(oneshot.fit(digits, seed=1), cells, digits)
q133 = spearmanr(scores_seed1, truth).statistic
### END SOLUTION

# %% [check 13.3]
check("13.3", q133, expect=0.1, decimals=1, hint="`oneshot.fit(digits, seed=1)`, then `oneshot.score(that, cells, digits)` and `spearmanr(..., truth)`")
