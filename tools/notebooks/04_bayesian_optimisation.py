# %% [markdown]
# # 4 · Bayesian optimisation: a model that guesses, with doubt
#
# Evolution and reinforcement learning learn *implicitly*: a population or a policy drifts toward
# good architectures. **Bayesian optimisation** (BO) is explicit. After every evaluation it fits a
# **surrogate model** to all scores seen so far; the model predicts, for any architecture we have
# not tried, a score *and how unsure it is*. An **acquisition function** turns both into one number
# and the next architecture is the one where that number is highest.
#
# BO spends more thought per proposal so that it needs fewer evaluations, which pays off when each
# evaluation is a real training run. Here, as before, the benchmark table stands in for training:
# `digits-seeds`, where every cell was trained with three seeds and the evaluator answers their mean.
# Remember from notebook 2 that the table is itself a noisy measurement: each answer comes with
# `accuracy_std`, the seed-to-seed standard deviation, and we will keep it in view.

# %%
import shutil

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm, spearmanr

import nasnb
from nasnb import CellSpace, Search
from nasnb.compare import compare_strategies, plot_regret, regret_ratio
from nasnb.evaluation import TableEvaluator, load_table
from nasnb.evaluation.table import regret_curve
from nasnb.strategies import BayesianStrategy, EvolutionStrategy, HalvingStrategy, HammingGP, get

space = CellSpace()
evaluator = TableEvaluator("digits-seeds")  # the mean over three training seeds
table = load_table("digits-seeds")
print(table, "| optimum", round(table.optimum(), 4), "± seed sd", round(table.best().val_std, 4))

# %% [markdown]
# ## Architectures as vectors
#
# A model needs numbers. `space.encode` writes a cell as a **one-hot** vector: one slot per
# (edge, operation) pair, 1 where that operation was chosen. Two cells can then be compared by the
# **Hamming distance**: the number of edges on which they differ.

# %%
# NBVAL_CHECK_OUTPUT
a = space.parse("|conv_3x3~0|+|skip_connect~0|conv_3x3~1|+|skip_connect~0|none~1|conv_1x1~2|")
b = space.parse("|conv_3x3~0|+|skip_connect~0|conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|")
x = np.stack([space.encode(a), space.encode(b)])
print(len(space.encoding_names()), "slots:", space.encoding_names()[:5], "...")
print("a:", x[0].astype(int))
print("b:", x[1].astype(int))
print("Hamming distance:", HammingGP.distances(x[:1], x[1:])[0, 0], "edges differ")

# %% [markdown]
# ## The surrogate: a Gaussian process with a Hamming kernel
#
# A Gaussian process (GP) predicts the score of a new cell as a weighted mix of the scores it has
# seen, weighting cells by how *similar* they are to the new one. Similarity is the **kernel**
# k(x, x′) = exp(−h(x, x′) / ℓ), where h is the Hamming distance: identical cells have similarity 1,
# and each differing edge divides it by e^(1/ℓ). The length-scale ℓ says how far knowledge carries.

# %%
h = np.arange(7)
fig, ax = plt.subplots(figsize=(5, 2.8))
for ell in (0.5, 2.0, 8.0):
    ax.plot(h, np.exp(-h / ell), "o-", label=f"ℓ = {ell}")
ax.set_xlabel("Hamming distance (edges that differ)"); ax.set_ylabel("kernel k"); ax.legend();

# %% [markdown]
# Let us fit one by hand: to 30 random cells, then to 150, and each time ask it about the same 300
# cells it has never seen. The GP picks ℓ and the noise level itself, by maximising how likely the
# observed scores are (the *marginal likelihood*).

# %%
# NBVAL_CHECK_OUTPUT
cells = table.frame().query("status == 'ok'").sample(450, random_state=0)
X = np.stack([space.encode(space.parse(text)) for text in cells["arch"]]).astype(float)
y = cells["val_accuracy"].to_numpy(dtype=float)
X_new, y_new = X[-300:], y[-300:]  # never shown to the model
sd_new = cells["val_std"].to_numpy(dtype=float)[-300:]  # the table's own seed noise on those cells
fits = {}
for n in (30, 150):
    gp = HammingGP().fit(X[:n], y[:n])
    fits[n] = gp.predict(X_new)
    print(f"{n:3d} observations: length-scale {gp.length_scale}, noise {gp.noise}, "
          f"rank correlation with the truth {spearmanr(fits[n][0], y_new)[0]:.2f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, (n, (mean, std)) in zip(axes, fits.items()):
    ax.errorbar(y_new, mean, yerr=std, xerr=sd_new, fmt="o", ms=3, alpha=0.4, elinewidth=0.8)
    ax.plot([0.8, 1], [0.8, 1], "k:")
    ax.set_xlim(0.8, 1.0); ax.set_ylim(0.85, 1.0)
    ax.set_xlabel("table accuracy (mean of 3 seeds) ± seed sd")
    ax.set_title(f"fitted to {n} cells, 300 unseen", fontsize=9)
axes[0].set_ylabel("GP prediction ± 1 std");

# %% [markdown]
# The horizontal bars are new: they are the table's own uncertainty, the seed-to-seed standard
# deviation of each cell. A model cannot be expected to predict a cell more precisely than training
# itself repeats, so part of the scatter around the diagonal is not the model's fault.
#
# With 30 cells the model already ranks the unseen cells better than chance, but it is timid: its
# predictions are pulled toward the average (the cloud is flatter than the diagonal) and its error
# bars are wide — an honest "I don't know much yet". With 150 cells the cloud tilts toward the
# diagonal: the model has found structure that carries across several edges. The predictions stay
# rough (neighbouring cells can differ a lot, and the truth itself is only known to within its seed
# spread), but they rank cells clearly better than chance, and the error bars say where the model
# knows little. That is all BO needs.
#
# ## Expected improvement
#
# Which cell should we try next: the one with the highest predicted mean, or the one the model is
# most unsure about? **Expected improvement** (EI) weighs both. If f* is the best score so far and
# the model's belief about a cell is a normal distribution with mean μ and std σ, EI is the average
# amount by which the cell would beat f* (counting 0 when it does not):
#
# $$\mathrm{EI} = (\mu - f^*)\,\Phi(z) + \sigma\,\varphi(z), \qquad z = \frac{\mu - f^*}{\sigma}$$

# %%
gap = np.linspace(-0.04, 0.02, 200)  # μ − f*
fig, ax = plt.subplots(figsize=(6, 3))
for sigma in (0.002, 0.01, 0.02):
    z = gap / sigma
    ax.plot(gap, gap * norm.cdf(z) + sigma * norm.pdf(z), label=f"σ = {sigma}")
ax.axvline(0, c="k", lw=0.5)
ax.set_xlabel("predicted mean − best so far (μ − f*)"); ax.set_ylabel("expected improvement"); ax.legend();

# %% [markdown]
# A cell predicted slightly *below* the best so far still has a good EI if the model is unsure about
# it (σ large): it might be much better. A cell predicted just as good with no doubt has almost none.
# That is how BO balances **exploitation** (high μ) and **exploration** (high σ).
#
# ## A BO search
#
# `BayesianStrategy` starts with `n_initial` random cells, then at each step fits the GP to every
# result so far, scores candidate cells by EI and proposes the best one. The candidates come from
# hill-climbing the acquisition from the best cells seen (source `local`) plus random cells
# (`random`). Cells already evaluated are never proposed again.

# %%
shutil.rmtree("runs/04_bo", ignore_errors=True)
bo = Search(space, BayesianStrategy(n_initial=10), evaluator, budget=60, seed=0, run_dir="runs/04_bo")
bo.run()
print(bo)

# %% [markdown]
# Each BO decision records what the model believed about the cell it chose:

# %%
# NBVAL_CHECK_OUTPUT
trial = bo.trials[30]
d = trial.decision
print(f"trial {trial.id}: kind {d['kind']}, candidate source {d['source']!r}, best so far {d['best_so_far']:.4f}")
print(f"predicted {d['mean']:.4f} ± {d['std']:.4f}, expected improvement {d['acquisition_value']:.2e}")
print(f"GP kernel chosen: length-scale {d['kernel']['length_scale']}, noise {d['kernel']['noise']}")
print(f"actual accuracy: {trial.score():.4f}")

# %% [markdown]
# ### Was the model right?
#
# The run log lets us check every prediction: the mean and std recorded *before* the evaluation
# against the accuracy that came back (with, as horizontal bars, the table's seed spread of that
# accuracy: the answer itself is only known to within a few validation images).

# %%
run = nasnb.load_run("runs/04_bo")
guided = [t for t in run.trials if t.decision["kind"] == "bo" and t.ok]
predicted = np.array([t.decision["mean"] for t in guided])
doubt = np.array([t.decision["std"] for t in guided])
actual = np.array([t.score() for t in guided])
spread = np.array([t.metrics["accuracy_std"] for t in guided])  # the table's seed sd of each result
fig, ax = plt.subplots(figsize=(5.5, 4))
points = ax.scatter(actual, predicted, c=[t.id for t in guided], cmap="viridis", s=15, zorder=3)
ax.errorbar(actual, predicted, yerr=doubt, xerr=spread, fmt="none", ecolor="lightgrey", zorder=1)
ax.plot([0.85, 1], [0.85, 1], "k:")
ax.set_xlabel("actual accuracy (seed mean ± seed sd)"); ax.set_ylabel("predicted mean ± std (before evaluation)")
fig.colorbar(points, label="trial");

# %%
# NBVAL_CHECK_OUTPUT
inside = np.abs(actual - predicted) <= 2 * doubt
print(f"{inside.mean():.0%} of {len(guided)} results fell within 2 std of the prediction")
print(f"mean prediction {predicted.mean():.4f} vs mean actual {actual.mean():.4f}")

# %% [markdown]
# The early predictions (dark points, made from 10–20 observations) are the roughest; later ones
# cluster near the diagonal, and almost every result lies within two standard deviations: the
# model's doubt is well calibrated. Single predictions can still miss badly, as the next cell shows.
#
# ### The runners-up
#
# Each decision also keeps the next three candidates by acquisition. BO never evaluated them — but
# the table knows how they would have scored, so we can peek at trial 30 from above:

# %%
# NBVAL_CHECK_OUTPUT
print(f"{'':9} {'mean':>7} {'std':>7} {'EI':>9} {'source':7} {'true':>7}")
print(f"{'chosen':9} {trial.decision['mean']:7.4f} {trial.decision['std']:7.4f} "
      f"{trial.decision['acquisition_value']:9.2e} {trial.decision['source']:7} {trial.score():7.4f}")
for rank, c in enumerate(trial.decision["runners_up"], start=2):
    true = evaluator(space.parse(c["arch"]))["accuracy"]
    print(f"{'#' + str(rank):9} {c['mean']:7.4f} {c['std']:7.4f} {c['acquisition_value']:9.2e} "
          f"{c['source']:7} {true:7.4f}")

# %% [markdown]
# The four candidates were almost tied by EI. The chosen one came out below its prediction, and the
# runners-up would have done worse still: #4, predicted about as good as the chosen cell, would have
# scored several points lower. A BO proposal is a bet with good odds, not a certainty; what
# matters is that the bets pay off on average.

# %%
comparison = compare_strategies(
    space,
    {"random": "random",
     "evolution": EvolutionStrategy(population_size=10, tournament_size=3),
     "BO (EI)": BayesianStrategy(n_initial=10)},
    evaluator, seeds=10, budget=60, optimum=table.optimum(),
)
fig, ax = plt.subplots(figsize=(7, 4.5))
plot_regret(comparison, ax=ax, log=True)
noise = table.frame().query("status == 'ok'").nlargest(15, "val_accuracy")["val_std"].mean()  # as in notebook 2
ax.axhline(noise, c="k", ls="--", lw=1, label=f"seed noise of the top 15 cells ({noise:.3f})")
ax.legend(fontsize=8);

# %%
# NBVAL_CHECK_OUTPUT
print(comparison.summary().round(4).to_string(index=False))
print("ratio to random after 30 evaluations:", {k: round(v, 2) for k, v in regret_ratio(comparison, at=30).items()})

# %% [markdown]
# Paired by seed (each search summarised by its mean regret over the 60 evaluations), which of these
# differences is more than luck?

# %%
# NBVAL_CHECK_OUTPUT
from scipy.stats import wilcoxon

area = {name: curves.mean(axis=1) for name, curves in comparison.regret.items()}
for a, b in [("BO (EI)", "random"), ("evolution", "random"), ("BO (EI)", "evolution")]:
    print(f"{a:9s} vs {b:9s}: lower regret on {int(np.sum(area[a] < area[b])):2d} of 10 seeds, "
          f"p = {wilcoxon(area[a], area[b]).pvalue:.3f}")

# %% [markdown]
# BO beats random search on these seeds (9 of 10, p < 0.01): after 60 evaluations its mean regret is
# about 0.2× random's here, and 0.34× on seeds 10–19 (exercise 4.3), so "a fifth" would be a lucky
# reading of ten seeds; "clearly better than random" holds on both (p < 0.01 on both). Its mean regret
# drops below the dashed line, the seed noise of the top cells, after about 30 evaluations; evolution's
# only in the last few, and random search's not within these 60.
# Evolution, which first needs its population to fill and then improve, cannot be told apart from
# random search at such a small budget (p ≈ 0.4 on both seed sets). The advantage of BO grows with
# what each evaluation costs: a few seconds of GP fitting per proposal are nothing next to minutes or
# hours of training.

# %% [markdown]
# ## Another way to save: cheaper evaluations
#
# BO saves evaluations by thinking. **Successive halving** saves *training time* instead: train many
# cells for a few epochs, keep the best half, train those longer, and so on, so only a few cells get
# the full training. The table stores each cell's validation curve, so `evaluator(arch, epochs=e)`
# answers as if training had stopped after e of the recipe's 6 epochs.
#
# The method relies on one assumption: that cells which look good early are the ones that end up
# good. The table lets us check how well the accuracy after e epochs ranks cells by final accuracy,
# in two ways: within the same trainings (the seed-mean curve after e epochs against the seed-mean
# final accuracy), and against an *independent* training (seed 0 after e epochs against seed 1's
# final accuracy, and so on for every pair of seeds).

# %%
# NBVAL_CHECK_OUTPUT
done = np.all(table.seed_status == 0, axis=1)  # cells whose three seeds all trained (none diverged)
curves = table.seed_curves["val_accuracy"][done]  # cells x seeds x epochs
pairs = [(i, j) for i in range(len(table.seeds)) for j in range(len(table.seeds)) if i != j]
print("epochs  same trainings  another seed")
for e in range(1, table.epochs + 1):
    same = spearmanr(table.curves[done, e - 1], table.val_accuracy[done])[0]
    other = np.mean([spearmanr(curves[:, i, e - 1], curves[:, j, -1])[0] for i, j in pairs])
    print(f"{e:6d}  {same:14.2f}  {other:12.2f}")

# %% [markdown]
# Within the same trainings the ranking after one epoch is close to random (early epochs of this short
# recipe with its high learning rate are noisy) and after five it looks excellent. But that column
# flatters: an early and a final accuracy of the *same* training share its luck (its initial weights,
# its batch order). The second column removes the shared luck, and it never gets high — the last entry
# is just the table's seed-to-seed repeatability. Successive halving decides on early results of one
# training, so the honest question is the second column's. (The simulations below answer every rung
# from the seed-mean curve, the first column's situation: if anything they are kind to halving.)
#
# Let us see what that does to one bracket of successive halving: 16 cells × 1 epoch, the best
# 8 × 2 epochs, the best 4 × 4 epochs and the best 2 × 6 epochs (the full recipe): 30 evaluations in all.
# Each decision records its rung and epochs; the table tells us how good each cell really was.

# %%
# NBVAL_CHECK_OUTPUT
halving = HalvingStrategy(min_epochs=1, max_epochs=6, eta=2, n=16)
print("epochs per rung:", halving.budgets())
bracket = Search(space, halving, evaluator, budget=30, seed=0).run().trials  # exactly one bracket: 16 + 8 + 4 + 2
final = {t.arch: evaluator(space.parse(t.arch))["accuracy"] for t in bracket}
truly_best = sorted(final, key=final.get, reverse=True)
for rung in range(4):
    trials = [t for t in bracket if t.decision["rung"] == rung]
    ranks = sorted(truly_best.index(t.arch) + 1 for t in trials)
    print(f"rung {rung}: {len(trials):2d} cells × {trials[0].decision['epochs']} epoch(s); "
          f"their true ranks among the 16: {ranks}")

# %% [markdown]
# The cell that was truly best among the 16 was dropped after its first epoch; the two that got the
# full training are the 2nd and the 5th best.
#
# Does halving pay off overall? Because low-fidelity trials are cheap, the fair x-axis is not the
# number of evaluations but the **simulated training time** (the table's `train_seconds`, scaled by
# the epochs used). `regret_curve` gives both for one search; we average over seeds on a common
# time grid.

# %%
def regret_over_time(make_strategy, seeds=10, evaluations=150):
    """Regret of each seed's search on a common grid of simulated training time: (grid, seeds x grid)."""
    grid = np.linspace(4, 30, 53)  # simulated seconds (every search has a result by 4 s)
    curves = []
    for seed in range(seeds):
        trials = Search(space, make_strategy(), evaluator, budget=evaluations, seed=seed).run().trials
        curve = regret_curve(trials, table)
        index = np.searchsorted(curve["simulated_seconds"].to_numpy(), grid, side="right") - 1
        curves.append(curve["regret"].to_numpy()[index])
    return grid, np.array(curves)


fig, ax = plt.subplots(figsize=(6, 3.5))
over_time = {}
for label, make in {"random": lambda: get("random"),
                    "halving from 1 epoch": lambda: HalvingStrategy(min_epochs=1, max_epochs=6, eta=2, n=16),
                    "halving from 3 epochs": lambda: HalvingStrategy(min_epochs=3, max_epochs=6, eta=2, n=16)}.items():
    grid, over_time[label] = regret_over_time(make, evaluations=150)
    ax.plot(grid, over_time[label].mean(axis=0), label=label)
ax.set_yscale("log"); ax.set_xlabel("simulated training time (s)"); ax.set_ylabel("mean regret"); ax.legend();

# %%
# NBVAL_CHECK_OUTPUT
time_area = {label: curves.mean(axis=1) for label, curves in over_time.items()}
for label in ("halving from 1 epoch", "halving from 3 epochs"):
    behind = int(np.sum(time_area[label] > time_area["random"]))
    print(f"{label}: more regret than random on {behind} of 10 seeds, "
          f"paired Wilcoxon p = {wilcoxon(time_area[label], time_area['random']).pvalue:.3f}")

# %% [markdown]
# On this table successive halving does **not** beat random search: it trails it on most seeds
# (p ≈ 0.19 and 0.06 here; on seeds 10–19, p = 0.01 for halving from 1 epoch and 0.19 from 3).
# Whatever it saves on short runs it loses by throwing away good cells that start slowly; starting at
# 3 epochs narrows the gap but does not close it. Multi-fidelity methods shine when early results rank
# architectures well (on the original
# NAS-Bench-201, a few of 200 epochs already do); always check that assumption, as we did above,
# before trusting them. (BO is not on this plot: like random search it trains every cell fully, so
# on the time axis its lead over random search looks much as it did on the evaluation axis above.)

# %% [markdown]
# ## Exercises
#
# Replace each `...` and run the check below it: it says *correct* or gives a hint, never the answer.
#
# **4.1** How many epochs of training did the one halving bracket above spend in all (sum over its
# 30 trials)? Compare with training its 16 cells fully (16 × 6 = 96).

# %%
from nasnb.grading import check

# %% [answer 4.1]
q41 = ...  # a number
### BEGIN SOLUTION
q41 = sum(t.decision["epochs"] for t in bracket)
### END SOLUTION

# %% [check 4.1]
check("4.1", q41, expect=60, hint="each trial's decision records its `epochs`; add them up over `bracket`")

# %% [markdown]
# **4.2** A cell is predicted 0.01 *below* the best so far (μ − f* = −0.01) with σ = 0.02. What is
# its expected improvement (5 decimals)? Use the formula above with `norm.cdf` and `norm.pdf`.

# %% [answer 4.2]
q42 = ...  # a number
### BEGIN SOLUTION
z = -0.01 / 0.02
q42 = -0.01 * norm.cdf(z) + 0.02 * norm.pdf(z)
### END SOLUTION

# %% [check 4.2]
check("4.2", q42, expect=0.00396, decimals=5, hint="z = (μ − f*) / σ; EI = (μ − f*)·Φ(z) + σ·φ(z) — it is positive")

# %% [markdown]
# **4.3 (re-seed)** Compare `random` and `BayesianStrategy(n_initial=10)` on `seeds=range(10, 20)`,
# budget 60. What is BO's `regret_ratio` against random after 60 evaluations (2 decimals)?

# %% [answer 4.3]
q43 = ...  # a number
### BEGIN SOLUTION
reseeded = compare_strategies(space, {"random": "random", "BO (EI)": BayesianStrategy(n_initial=10)},
                              evaluator, seeds=range(10, 20), budget=60, optimum=table.optimum())
q43 = regret_ratio(reseeded, "random", at=60)["BO (EI)"]
### END SOLUTION

# %% [check 4.3]
check("4.3", q43, expect=0.34, decimals=2, hint="seeds=range(10, 20), budget=60, `regret_ratio(..., 'random', at=60)`")

# %% [markdown]
# **Try it yourself**
#
# - Use `BayesianStrategy(acquisition="ucb", kappa=...)` instead of EI. Large κ explores more: does it help?
# - Set `n_initial=3` or `30`. What happens to the early regret?
# - Try `HyperbandStrategy(min_epochs=1, max_epochs=6, eta=2)`, which hedges by mixing brackets that
#   start at different epochs. Where does it land between random search and halving?
# - Fit `HammingGP` to 60 or 300 cells: how fast does the rank correlation improve with data?
