# %% [markdown]
# # 12 · Multi-fidelity: successive halving and Hyperband
#
# Training is what a search pays for, and most of it goes to architectures that turn out mediocre.
# **Multi-fidelity** methods try to notice them early: train many cells *briefly*, keep the
# promising ones, and give only those the full training. Successive halving (Jamieson & Talwalkar
# 2016) does this in fixed **brackets**; Hyperband (Li et al. 2017) runs several brackets that trust
# short runs to different degrees. Notebook 04 tried one bracket; this one takes the idea apart:
#
# 1. the assumption it rests on — an early ranking predicts the final one — measured on the table;
# 2. the bookkeeping: rungs, epochs and **simulated time**, checkable by hand;
# 3. a fair race against random search at equal simulated training time, over 20 seeds, with a paired test.
#
# The shipped table stores every cell's validation accuracy after each of the recipe's 6 epochs,
# so `TableEvaluator(...)(arch, epochs=e)` answers as if training had stopped after `e` epochs and
# charges `e/6` of the cell's training time.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import kendalltau, spearmanr, wilcoxon

from nasnb import CellSpace, Search
from nasnb.evaluation import TableEvaluator, load_table
from nasnb.evaluation.table import regret_curve
from nasnb.strategies import HalvingStrategy, HyperbandStrategy, get

space = CellSpace()
evaluator = TableEvaluator("digits")
table = load_table("digits")
curves, final = table.curves, table.val_accuracy  # cells x epochs, and the accuracy after all 6
print(table, "| curves:", curves.shape)

# %% [markdown]
# ## Learning curves cross
#
# Take the five cells that look best after **one** epoch and the five that are best after all six,
# and draw their curves. If early leaders stayed leaders, the two groups would be the same cells.

# %%
early = np.argsort(-curves[:, 0], kind="stable")[:5]
late = np.argsort(-final, kind="stable")[:5]
fig, ax = plt.subplots(figsize=(6, 3.5))
for rows, colour, label in ((early, "tab:orange", "best 5 after epoch 1"), (late, "tab:blue", "best 5 after epoch 6")):
    for i, row in enumerate(rows):
        ax.plot(range(1, 7), curves[row], "o-", c=colour, alpha=0.8, label=label if i == 0 else None)
ax.set_xlabel("epoch"); ax.set_ylabel("validation accuracy"); ax.legend(); ax.set_title("learning curves cross", fontsize=9);

# %%
# NBVAL_CHECK_OUTPUT
final_rank = (-final).argsort(kind="stable").argsort() + 1  # 1 = best cell of the table
for row in early:
    print(f"best after epoch 1: {curves[row, 0]:.3f} then, {final[row]:.3f} at the end (final rank {final_rank[row]:4d})")
print("the final top 5 after epoch 1:", [f"{curves[row, 0]:.3f}" for row in late])

# %% [markdown]
# The early leaders are cells that learn fast, not the ones that end best: the cell leading after
# one epoch ends 2,338th of 4,975, and the final top five were all below 0.25 after one epoch. How much does the ranking after `e` epochs say about the final ranking?
# **Spearman's ρ** correlates the ranks; **Kendall's τ** counts pairs: τ = (agreeing − swapped
# pairs) / all pairs, so about (1 − τ)/2 of all pairs of cells swap order between epoch `e` and the end.

# %%
# NBVAL_CHECK_OUTPUT
best_tenth = final >= np.quantile(final, 0.9)
for e in range(1, table.epochs + 1):
    rho, tau = spearmanr(curves[:, e - 1], final).statistic, kendalltau(curves[:, e - 1], final).statistic
    rho_top = spearmanr(curves[best_tenth, e - 1], final[best_tenth]).statistic
    print(f"epoch {e}: rho {rho:5.2f}, tau {tau:5.2f} (≈{(1 - tau) / 2:4.0%} of pairs swap); "
          f"among the best tenth rho {rho_top:5.2f}")

# %% [markdown]
# Over all 4,975 cells the ranking after 3 epochs is mediocre (ρ ≈ 0.4) and after 1 epoch nearly
# random. Worse, the cells a search must tell apart are the **good** ones, and among the best tenth
# even 5 of 6 epochs give only ρ ≈ 0.4. A method that throws away cells after 1 or 2 epochs will
# throw away future winners. (Longer recipes, such as NAS-Bench-201's 200 epochs on CIFAR, are
# reported to rank much better after a few epochs: how well multi-fidelity works depends on the
# recipe, so measure it before you trust it.)
#
# ## Budgets in simulated time
#
# A short run is cheaper. The table charges each answer `e/6` of the time the cell's full training
# took (`train_seconds`), so strategies can be compared on the training time they would have spent:

# %%
# NBVAL_CHECK_OUTPUT
cell = space.parse("|conv_3x3~0|+|skip_connect~0|conv_3x3~1|+|skip_connect~0|conv_3x3~1|conv_3x3~2|")
for e in (1, 2, 4, 6):
    answer = evaluator(cell, epochs=e)
    print(f"epochs={e}: accuracy {answer['accuracy']:.3f}, simulated training time {answer['train_seconds']:.3f} s")
print(f"mean full training over the table: {np.mean(table.train_seconds):.3f} s")

# %% [markdown]
# ## Brackets you can check by hand
#
# Successive halving with `min_epochs=1, max_epochs=6, eta=2` trains on rungs of 1, 2, 4 and then
# 6 epochs (the geometric series 1, 2, 4, 8 is capped at the recipe's 6). With `n=16`: 16 cells × 1
# epoch, the best 8 × 2, the best 4 × 4, the best 2 × 6 — 30 evaluations and 16 + 16 + 16 + 12 = 60
# epochs, where training the 16 cells fully would take 96.
#
# Hyperband with the same settings has s_max = 3 (four rungs) and cycles through brackets
# s = 3, 2, 1, 0. Bracket s starts n = ⌈(s_max + 1) · η^s / (s + 1)⌉ cells on the last s + 1 rungs
# and keeps ⌊n / η^k⌋ on its k-th rung. The strategy's own `plan` prints the same table:

# %%
# NBVAL_CHECK_OUTPUT
def bracket_table(strategy, brackets):
    """One row per rung of the first `brackets` brackets: cells, epochs each, epochs spent."""
    strategy.setup(space, seed=0)
    rows = []
    for index in range(brackets):
        plan = strategy.plan(index)
        for rung, (cells, epochs) in enumerate(zip(plan["sizes"], plan["budgets"])):
            rows.append({"bracket": index, "s": plan["s"], "rung": rung, "cells": cells, "epochs each": epochs,
                         "epochs spent": cells * epochs})
    return pd.DataFrame(rows)


halving_plan = bracket_table(HalvingStrategy(min_epochs=1, max_epochs=6, eta=2, n=16), 1)
hyperband_plan = bracket_table(HyperbandStrategy(min_epochs=1, max_epochs=6, eta=2), 4)
print(halving_plan.to_string(index=False))
print()
print(hyperband_plan.to_string(index=False))
print("epochs per Hyperband bracket:", hyperband_plan.groupby("bracket")["epochs spent"].sum().tolist())

# %% [markdown]
# By hand: s = 2 starts ⌈4 · 4 / 3⌉ = ⌈5.33⌉ = 6 cells at 2 epochs, keeps ⌊6/2⌋ = 3 for 4 epochs and
# ⌊6/4⌋ = 1 for 6 epochs: 12 + 12 + 6 = 30 epochs. One whole cycle makes 35 evaluations and spends
# 30 + 30 + 28 + 24 = 112 epochs. A real search must agree with the plan — run one cycle and add
# up what it spent, in epochs and in simulated seconds:

# %%
# NBVAL_CHECK_OUTPUT
cycle = Search(space, HyperbandStrategy(min_epochs=1, max_epochs=6, eta=2), evaluator, budget=35, seed=0).run().trials
spent = pd.DataFrame({"bracket": [t.decision["bracket"] for t in cycle], "epochs": [t.decision["epochs"] for t in cycle],
                      "seconds": [t.metrics["train_seconds"] for t in cycle]})
print(spent.groupby("bracket").agg(evaluations=("epochs", "size"), epochs=("epochs", "sum"), seconds=("seconds", "sum"))
      .round(2).to_string())
print(f"one cycle: {spent['epochs'].sum()} epochs, {spent['seconds'].sum():.1f} simulated seconds")

# %% [markdown]
# ## The race at equal simulated time
#
# Random search trains every cell fully; halving and Hyperband spend the same time on more, shorter
# runs. The fair comparison fixes the **simulated training time** — here 20 s, about 30 full
# trainings — and asks how far each search's incumbent is from the table's best cell (its *regret*).
# One seed proves nothing, so each strategy runs on seeds 0–19 and we compare them seed by seed.
#
# A fourth contender is a thought experiment: halving with an **oracle** evaluator whose short runs
# report the *final* accuracy (at the short run's cost). It shows what halving would do if the
# assumption it rests on held perfectly.

# %%
HORIZON = 20.0  # simulated seconds
grid = np.linspace(1, HORIZON, 39)


def oracle(arch, epochs=None):
    """A short run that knows the final accuracy: the cost of `epochs`, the answer of all 6."""
    answer = evaluator(arch, epochs=epochs)
    return answer | {"accuracy": evaluator(arch)["accuracy"]}


CONTENDERS = {  # name: (strategy factory, evaluator, evaluations that cover the horizon)
    "random": (lambda: get("random"), evaluator, 50),
    "halving": (lambda: HalvingStrategy(min_epochs=1, max_epochs=6, eta=2, n=16), evaluator, 130),
    "hyperband": (lambda: HyperbandStrategy(min_epochs=1, max_epochs=6, eta=2), evaluator, 90),
    "halving, oracle": (lambda: HalvingStrategy(min_epochs=1, max_epochs=6, eta=2, n=16), oracle, 130),
}


def regret_over_time(name, seeds):
    """Regret of the incumbent on `grid` (simulated seconds), one row per seed."""
    make, answer, evaluations = CONTENDERS[name]
    rows = []
    for seed in seeds:
        curve = regret_curve(Search(space, make(), answer, budget=evaluations, seed=seed).run().trials, table)
        seconds = curve["simulated_seconds"].to_numpy()
        assert seconds[-1] >= HORIZON, f"{name}: raise its evaluations, seed {seed} stopped at {seconds[-1]:.1f} s"
        rows.append(curve["regret"].to_numpy()[np.searchsorted(seconds, grid, side="right") - 1])
    return np.array(rows)


regret = {name: regret_over_time(name, range(20)) for name in CONTENDERS}
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, rows in regret.items():
    ax.plot(grid, np.nanmean(rows, axis=0), label=name, ls=":" if "oracle" in name else "-")
ax.set_yscale("log"); ax.set_xlabel("simulated training time (s)"); ax.set_ylabel("mean regret (20 seeds)"); ax.legend();

# %%
# NBVAL_CHECK_OUTPUT
at_horizon = {name: rows[:, -1] for name, rows in regret.items()}
for name in ("halving", "hyperband", "halving, oracle"):
    diff = at_horizon[name] - at_horizon["random"]
    p = wilcoxon(at_horizon[name], at_horizon["random"]).pvalue
    print(f"{name:16s} mean regret {at_horizon[name].mean():.4f} (random {at_horizon['random'].mean():.4f}); "
          f"behind random on {int(np.sum(diff > 0)):2d}, ahead on {int(np.sum(diff < 0)):2d}, "
          f"level on {int(np.sum(diff == 0)):2d} of 20 seeds; Wilcoxon p = {p:.3f}")

# %% [markdown]
# What the numbers allow us to say:
#
# - **On this table, neither halving nor Hyperband beats random search at equal training time.**
#   On seeds 0–19 both end behind random on more seeds than ahead, but with p ≈ 0.09 that alone is
#   not evidence of a deficit. On seeds 20–39 (exercise 12.3) and on 40–59 the same comparison *is*
#   significant (p ≤ 0.02), so "they trail random here" holds up, and "they help" has no support.
# - **The reason is the first section's correlation, not the method.** The oracle row keeps
#   halving's schedule and costs and changes only the early ranking: then halving is ahead of random
#   on 7 seeds and behind on none (p ≈ 0.02; on the other two seed sets 7–9 ahead, none behind).
# - Hyperband hedges by spending part of each cycle on full trainings (bracket s = 0 is random
#   search), so it should lose less than pure halving when early results mislead, and gain less when
#   they don't. Its mean regret does lie between halving's and random's here, but we have not tested
#   that small difference; treat it as a hypothesis.
#
# Before using multi-fidelity on your own problem, compute the rank correlation between short and
# full training on a few dozen cells, **among the good ones**. That is a cheap experiment, and it
# decides whether the method can work.
#
# ## Exercises
#
# Replace each `...` and run the check below it: it says *correct* or gives a hint, never the answer.
#
# **12.1** By hand: how many epochs does one full cycle of `HyperbandStrategy(min_epochs=1,
# max_epochs=6, eta=3)` spend (all its brackets)? Rungs are 1, 3 and 6 epochs. You may check your
# arithmetic with `bracket_table`.

# %%
from nasnb.grading import check

# %% [answer 12.1]
q121 = ...  # a number
### BEGIN SOLUTION
q121 = 9 * 1 + 3 * 3 + 1 * 6 + 5 * 3 + 1 * 6 + 3 * 6  # s=2: 9, 3, 1 cells; s=1: ⌈4.5⌉ = 5, 1; s=0: 3
### END SOLUTION

# %% [check 12.1]
check("12.1", q121, expect=63, hint="s_max = 2; bracket s starts ⌈3·3^s/(s+1)⌉ cells and keeps ⌊n/3^k⌋ on rung k; multiply cells by epochs and add")

# %% [markdown]
# **12.2** Among the cells whose final accuracy is at least 0.96 (there are 655), what is Spearman's
# ρ between the accuracy after **4** epochs and the final accuracy (2 decimals)? Compare it with ρ
# over all cells.

# %% [answer 12.2]
q122 = ...  # a number
### BEGIN SOLUTION
good = final >= 0.96
q122 = spearmanr(curves[good, 3], final[good]).statistic
### END SOLUTION

# %% [check 12.2]
check("12.2", q122, expect=0.16, decimals=2, hint="`final >= 0.96` selects the rows; epoch 4 is column 3 of `curves`")

# %% [markdown]
# **12.3 (re-seed)** Rerun the race for random search and Hyperband on seeds 20–39
# (`regret_over_time(name, range(20, 40))`). On how many of these 20 seeds does Hyperband end
# (at 20 s) with **more** regret than random search?

# %% [answer 12.3]
q123 = ...  # a number
### BEGIN SOLUTION
reseeded = {name: regret_over_time(name, range(20, 40))[:, -1] for name in ("random", "hyperband")}
q123 = int(np.sum(reseeded["hyperband"] > reseeded["random"]))
### END SOLUTION

# %% [check 12.3]
check("12.3", q123, expect=8, hint="take the last column (`[:, -1]`) of both and count the seeds where Hyperband's regret is larger")
