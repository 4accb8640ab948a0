# %% [markdown]
# # 5 · Cheap evaluation: benchmark tables, zero-cost proxies and DARTS
#
# Every search strategy you have met so far spends almost all of its time in one place: **training**
# each proposed network to find out how good it is. On a laptop or a free Binder machine (one CPU, a
# few minutes) that limits a search to a few dozen architectures. This notebook shows three ways NAS
# research makes evaluation cheap, and what each one costs you in *truthfulness*:
#
# 1. **A tabulated benchmark** — train every architecture of a small space *once*, store the results,
#    and let searches look them up. Exact, instant, but only for that space and that training recipe.
# 2. **Zero-cost proxies** — score an *untrained* network from one mini-batch. Milliseconds per
#    architecture, but only a rough guess.
# 3. **DARTS** — train *one* supernet that contains every architecture and read a cell off its
#    architecture weights. One training instead of thousands, but the read-off can mislead.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from nasnb import CellSpace, Search
from nasnb.data import load_dataset
from nasnb.evaluation import DARTS, ProxyEvaluator, TableEvaluator, Trainer, load_table, plot_alphas, prescreen
from nasnb.evaluation.proxy_analysis import (
    learned_proxy,
    plot_proxy_correlation,
    proxy_ceiling,
    proxy_correlations,
    score_cells,
    vote_score,
)
from nasnb.evaluation.recipes import recipe
from nasnb.evaluation.table import regret_curve

torch.set_num_threads(1)  # these networks are tiny: one thread is fastest and leaves the machine responsive
space = CellSpace()

# %% [markdown]
# ## 1 · The benchmark table
#
# nasnb ships a table in the style of NAS-Bench-201: every cell of `CellSpace` was trained on the 8×8
# `digits` images with one fixed recipe, and, as NAS-Bench-201 does, **with three training seeds**,
# keeping each epoch's training and validation accuracy and loss. Many of the 15,625 cells compute
# the same function (an edge into a node that never reaches the output changes nothing, parallel
# edges can be swapped), so the table stores one row per **distinct** cell, and every cell points to
# its row.

# %%
# NBVAL_CHECK_OUTPUT
table = load_table("digits-seeds")
lookup = TableEvaluator("digits-seeds")  # answers the mean over the three seeds
print(len(space), "cells,", len(table), "distinct ones, trained for", table.epochs, "epochs each with seeds",
      table.seeds)
print({k: v for k, v in table.recipe.items() if k in ("epochs", "batch_size", "lr", "optimizer", "network")})

# %%
frame = table.frame()
frame[frame.status == "ok"].sort_values("val_accuracy", ascending=False).head(5)[
    ["arch", "val_accuracy", "val_std", "test_accuracy", "params", "train_seconds", "n_cells"]]

# %% [markdown]
# `val_accuracy` is the mean over the seeds and `val_std` how much the seeds disagreed (their
# standard deviation); notebook 2 showed that the top cells cannot be told apart by it.
# `n_cells` says how many of the 15,625 cells share that row. Two cells that differ only in a
# dead edge are the *same network*, so the table must — and does — give them the same answer:

# %%
# NBVAL_CHECK_OUTPUT
a = space.parse("|conv_3x3~0|+|none~0|none~1|+|skip_connect~0|conv_3x3~1|none~2|")
b = space.parse("|conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|conv_3x3~1|none~2|")  # 0->2 never reaches node 3
print(a.key == b.key, lookup(a) == lookup(b))

# %% [markdown]
# ### Lookup versus training
#
# A `TableEvaluator` is a drop-in evaluator like `Trainer`. Let us time both on the table's best cell.
# The trainer uses the table's own recipe with seed 0, so it should land among the table's three
# seeds: close to seed 0 (exactly on the machine that made the table), and well within the seed spread
# elsewhere.

# %%
best = space.parse(table.best().arch)
trainer = Trainer(**recipe("digits-seeds"))
load_dataset("digits")  # read the images once first, so that we time training and not file reading

t0 = time.perf_counter()
trained = trainer(best)
train_time = time.perf_counter() - t0

t0 = time.perf_counter()
for _ in range(1000):
    looked_up = lookup(best)
lookup_time = (time.perf_counter() - t0) / 1000

seeds = ", ".join(f"{v:.4f}" for v in table.lookup(best).seed_val_accuracy)
print(f"training: accuracy {trained['accuracy']:.4f} in {train_time:.2f} s")
print(f"table:    accuracy {looked_up['accuracy']:.4f} ± {looked_up['accuracy_std']:.4f} (seeds {seeds}) "
      f"in {lookup_time * 1e6:.0f} µs ({train_time / lookup_time:,.0f}× faster)")
print(f"the table also remembers how long training took: {looked_up['train_seconds']:.2f} s")

# %% [markdown]
# Because lookups are free, we can now afford what papers do: run each strategy with *many seeds*
# and compare averages. **Regret** is how far the best cell found so far is from the best cell in the
# table. `train_seconds` lets us draw it against the *simulated* time that real training would have
# taken.

# %%
def regrets(strategy, seeds=5, budget=100):
    curves = []
    for seed in range(seeds):
        search = Search(space, strategy, lookup, budget=budget, seed=seed).run()
        curves.append(regret_curve(search.trials, table))
    return curves

fig, ax = plt.subplots(figsize=(6, 3))
for name, color in (("random", "tab:gray"), ("evolution", "tab:red")):
    for i, curve in enumerate(regrets(name)):
        ax.plot(curve["simulated_seconds"] / 60, curve["regret"], color=color, alpha=0.6,
                label=name if i == 0 else None)
ax.set_xlabel("simulated training time (min)"); ax.set_ylabel("regret (val. accuracy)"); ax.legend()
ax.set_yscale("symlog", linthresh=1e-3);

# %% [markdown]
# Keep the catch in mind: the table knows *one* dataset, *one* recipe and *one* space. Ask it about
# a chain network or a cell with a different learning rate and it refuses (try
# `lookup(nasnb.ChainSpace().sample(0))`) — for those you are back to `Trainer`.
#
# ## 2 · Zero-cost proxies
#
# A proxy scores a network **at initialisation** from a single mini-batch:
#
# | proxy | idea |
# |---|---|
# | `synflow` | how much "signal" flows from input to output when every weight is made positive (no data needed) |
# | `snip` | how much the loss would change if each weight were removed |
# | `grad_norm` | how large the loss gradients are |
# | `naswot` | how differently the ReLUs respond to different images (log-determinant of a code-overlap kernel) |
# | `params` | the number of parameters — the baseline every proxy must beat |
#
# A `ProxyEvaluator` returns scores but deliberately **no accuracy**: a search then ranks by the proxy
# you name with `metric=`.

# %%
proxies = ProxyEvaluator(["synflow", "snip", "grad_norm", "naswot", "params"])
t0 = time.perf_counter()
print(proxies(best))
print(f"{(time.perf_counter() - t0) * 1e3:.0f} ms for all five proxies")

# %% [markdown]
# Do the proxies rank cells the way training does? We score 150 distinct trained cells and compute
# **Spearman's ρ** between each proxy and the table's accuracy, the **mean of the three seeds** (1 =
# same ranking, 0 = unrelated). The `vote` averages the ranks given by the four real proxies, and
# `learned (cv)` is a small model (gradient-boosted trees) that learns how to combine all five scores
# from cells whose accuracy it was shown, judged only on cells it was *not* shown (5-fold
# cross-validation). For reference, synflow reaches ρ ≈ 0.74 on NAS-Bench-201's CIFAR-10.

# %%
proxy_names = ["synflow", "snip", "grad_norm", "naswot", "params"]
scores = score_cells(table, proxy_names, n=150, seed=0)
correlations = proxy_correlations(table, proxy_names, scores=scores, learned=True)
correlations.round(3)

# %%
plot_proxy_correlation(scores);

# %% [markdown]
# Each dot is a cell: its rank under the proxy (x) against its trained accuracy (y). A good proxy
# gives a cloud rising to the right. Look at *where* the proxies fail: on 8×8 digits, stacking `conv_1x1`
# layers adds parameters (which synflow and `params` reward) but no spatial context, and those cells
# train worst in the table's short recipe. A proxy is a hypothesis about what makes networks good, and
# it can be wrong for *your* data. A hand-made "proxy" that only counts `conv_3x3` edges shows it:

# %%
from scipy.stats import spearmanr

n_conv3 = scores["arch"].str.count("conv_3x3")
print(f"Spearman rho of 'number of conv_3x3 edges': {spearmanr(n_conv3, scores['val_accuracy']).statistic:.3f}")

# %% [markdown]
# ### How high could ρ go?
#
# The table is itself a measurement. Its three seeds rank the cells with a Spearman ρ of about 0.5
# against each other (notebook 2): that is the agreement of two *noisy* measurements, each with its
# own training noise. Averaging S seeds shrinks that noise; the **reliability** of the mean is
# S·r / (1 + (S − 1)·r) (the Spearman–Brown formula, for a seed-to-seed correlation r). A perfect
# predictor — one that knew every cell's expected accuracy, free of noise — would still meet the noise
# left in the mean, and so correlate with it at about √reliability (the classical attenuation
# argument). `proxy_ceiling` computes that from the table's own seeds:

# %%
# NBVAL_CHECK_OUTPUT
ceiling = proxy_ceiling(table)
print(f"seed-to-seed rho r = {ceiling['seed_rho']:.3f}")
print(f"reliability of the {ceiling['seeds']}-seed mean = {ceiling['reliability']:.3f}, "
      f"ceiling for any predictor = {ceiling['ceiling']:.3f}")
print(f"against a single seed the ceiling would be only sqrt(r) = {ceiling['seed_rho'] ** 0.5:.3f}")

# %% [markdown]
# The picture below puts the proxies next to both ceilings. Bars: each proxy's ρ against the 3-seed
# mean (what the table above reports). Dots: the same proxy scored against each single seed instead.

# %%
rows = [table.row(space.parse(text)) for text in scores["arch"]]
per_seed = table.seed_val_accuracy[rows]  # 150 cells x 3 seeds


def against(target):
    """Each proxy's, the vote's and the learned combination's rho with one column of accuracies."""
    columns = {p: scores[p] for p in proxy_names}
    columns["vote"] = vote_score(scores, [p for p in proxy_names if p != "params"])
    columns["learned (cv)"] = learned_proxy(scores.assign(val_accuracy=target), proxy_names)
    return {name: spearmanr(values, target).statistic for name, values in columns.items()}


names = list(correlations.index)  # best first
single = [against(per_seed[:, j]) for j in range(len(table.seeds))]
fig, ax = plt.subplots(figsize=(9, 3.4))
x = np.arange(len(names))
ax.bar(x, correlations.loc[names, "spearman"], color="tab:blue", alpha=0.7, label="against the 3-seed mean")
for j, rho in enumerate(single):
    ax.scatter(x + (j - 1) * 0.15, [rho[n] for n in names], c="k", s=12, zorder=3,
               label="against one seed (each dot a seed)" if j == 0 else None)
ax.axhline(ceiling["ceiling"], c="tab:red", ls="--", label=f"ceiling, 3-seed mean ({ceiling['ceiling']:.2f})")
ax.axhline(ceiling["seed_rho"] ** 0.5, c="tab:red", ls=":", label=f"ceiling, one seed ({ceiling['seed_rho'] ** 0.5:.2f})")
ax.axhline(0, c="k", lw=0.5)
ax.set_xticks(x, names, rotation=20)
ax.set_ylabel("Spearman ρ with accuracy"); ax.set_ylim(-0.2, 1)
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
fig.tight_layout();

# %% [markdown]
# Two lessons. First, judged against a single seed almost every proxy looks worse than against the
# mean (naswot, near zero either way, is the exception): part of what looked like the proxy's error
# was the *target's* noise, so a table with one training per cell understates every proxy (and every
# search strategy). Second, the ceiling is not 1: even a perfect predictor would reach only about the
# red dashed line against this table. The gap between the best proxy and that line — about 0.2 for the
# learned combination, 0.3 for the best single proxy — is what the proxies really miss; it is not
# noise, and a better proxy could close it (the conv_3x3 count above already comes close to the
# learned combination). Anything above the line would be fitting training noise. Before trusting a
# ranking, ask how repeatable the thing you rank against is.

# %% [markdown]
# Even a rough proxy is useful as a **filter**: score many random cells, train only the most promising.
# Here we pre-screen 60 candidates and keep 5 (the `"prescreen"` strategy does this inside a search,
# then hands over to evolution).

# %%
kept = prescreen(space, "snip", n_candidates=60, keep=5, seed=0)
for c in kept:
    print(f"rank {c.rank}  snip {c.score:7.3f}  table accuracy {lookup(c.arch)['accuracy']:.3f}  {c.arch}")
random_cells = [space.sample(i) for i in range(200)]
print(f"mean accuracy of random cells: {np.mean([lookup(a)['accuracy'] for a in random_cells]):.3f}")

# %% [markdown]
# ## 3 · DARTS: one supernet instead of many networks
#
# DARTS puts *every* operation on every edge and mixes their outputs with weights `softmax(α)`. The
# architecture weights α are trained by gradient descent together with the network weights
# (alternating: an α step on a validation batch, a weight step on a training batch). At the end a cell is
# read off — classically by taking the **argmax** of α on each edge.
#
# The known failure: parameter-free operations (skip connections, pooling, `none`) tend to collect α
# mass because they make the supernet easy to train early on, not because the best stand-alone cell
# uses them. Wang et al. (2021) proposed reading the cell off by **perturbation** instead: remove each
# operation from an edge and keep the one whose removal hurts the supernet's accuracy most.
#
# We run a small search (a few seconds on one core) and watch α.

# %%
darts = DARTS("digits", epochs=6)
result = darts.search(seed=0)
print(f"{result.seconds:.1f} s; supernet validation accuracy {result.records[-1].val_accuracy:.3f}")
print("share of α on parameter-free ops per epoch:", np.round(result.param_free_shares(), 3))

# %%
plot_alphas(result);

# %% [markdown]
# Each panel is one edge; the title names the operation each rule keeps. The last panel is the
# share of α mass on parameter-free operations — the number to watch for the failure mode (it starts at
# 3/5 = 0.6, since three of the five operations have no parameters).
#
# Now compare the two read-off rules with the ground truth the table gives us for free:

# %%
accuracies = np.sort(table.val_accuracy[table.status == 0])
for rule, cell in (("argmax", result.argmax_cell), ("perturbation", result.perturbation_cell)):
    entry = table.lookup(cell)  # the 3-seed table, as DARTS' own `*_table_accuracy` reads it
    better = np.searchsorted(accuracies, entry.val_accuracy) / len(accuracies)
    print(f"{rule:<13} {cell}\n{'':<13} table accuracy {entry.val_accuracy:.3f} ± {entry.val_std:.3f}, "
          f"better than {better:.0%} of cells")

# %%
for edge, drops in result.perturbation_drops.items():
    print(edge, {op: round(d, 3) for op, d in drops.items()}, "->", result.perturbation_cell[edge])

# %% [markdown]
# The drops are the supernet's loss of validation accuracy when an operation is removed: the
# perturbation rule asks *"what does the supernet actually rely on?"* rather than *"which α is
# largest?"*. Removing `none` never changes anything (it adds zero), so its drop is always 0.
#
# ## Exercises
#
# Replace each `...` and run the check below it: it says *correct* or gives a hint, never the answer.
#
# **5.1** How many seeds would the table need for the ceiling to reach 0.95? Use the table's
# seed-to-seed correlation `r = table.repeatability()["rho"]` and the Spearman–Brown formula above:
# find the smallest whole number of seeds S with √(S·r / (1 + (S − 1)·r)) ≥ 0.95.

# %%
from nasnb.grading import check

# %% [answer 5.1]
q51 = ...  # a whole number of seeds
### BEGIN SOLUTION
r = table.repeatability()["rho"]
q51 = next(S for S in range(1, 1000) if (S * r / (1 + (S - 1) * r)) ** 0.5 >= 0.95)
### END SOLUTION

# %% [check 5.1]
check("5.1", q51, expect=8, hint="try S = 1, 2, 3, … and stop at the first whose ceiling √(S·r / (1 + (S − 1)·r)) is at least 0.95")

# %% [markdown]
# **5.2** On the 150 scored cells, what is Spearman's ρ between the parameter count (`scores["params"]`)
# and the table's validation accuracy, the seed mean (3 decimals)?

# %% [answer 5.2]
q52 = ...  # a number
### BEGIN SOLUTION
q52 = spearmanr(scores["params"], scores["val_accuracy"]).statistic
### END SOLUTION

# %% [check 5.2]
check("5.2", q52, expect=0.544, decimals=3, hint="`spearmanr(x, y).statistic` with the two columns of `scores`")

# %% [markdown]
# **5.3 (a preview of validation vs test)** The table's best cell was picked by *validation*
# accuracy (the seed mean). How many trained cells (status "ok") have a strictly higher *test*
# accuracy (also a seed mean) than it?

# %% [answer 5.3]
q53 = ...  # a number
### BEGIN SOLUTION
ok = frame[frame.status == "ok"]
q53 = int((ok["test_accuracy"] > ok.loc[ok["val_accuracy"].idxmax(), "test_accuracy"]).sum())
### END SOLUTION

# %% [check 5.3]
check("5.3", q53, expect=68, hint="find the row with the highest val_accuracy, then count rows whose test_accuracy is larger")

# %% [markdown]
# **Try it yourself**
#
# 1. Change `seeds=5` in the regret plot to 20: how many seeds do you need before evolution's advantage
#    over random search on the table is clear? (Use a paired test, as in notebook 2.)
# 2. Run DARTS for more epochs (`DARTS(epochs=20)`): does the parameter-free share grow? Does argmax get
#    worse while perturbation holds up?
# 3. Which proxy would you trust for pre-screening on this table, and why? Try `prescreen` with each one
#    and compare the table accuracies of what it keeps.
