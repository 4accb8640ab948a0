# %% [markdown]
# # 9 · Several objectives: accuracy *and* size, architecture *and* hyperparameters
#
# So far every search chased one number, validation accuracy. Real deployments also care about
# cost: parameters (memory), multiply-accumulates (energy), latency. A network 0.3 points less
# accurate but four times smaller is often the better answer. There are two ways to say so:
#
# 1. **Pareto view** — keep every architecture that no other beats on *all* objectives at once, and
#    let a human pick from that front later. NSGA-II searches for the whole front.
# 2. **Scalar view** — fix an exchange rate λ and maximise one number,
#    T = accuracy − λ · complexity. Any single-objective strategy can do that.
#
# This notebook also searches architectures and training hyperparameters **jointly**.

# %%
import shutil

import matplotlib.pyplot as plt
import numpy as np

import nasnb
from nasnb import CellSpace, Search, get_space
from nasnb.evaluation import TableEvaluator, Trainer, load_table
from nasnb.spaces import hyperparameters, network_part, plot_architecture
from nasnb.strategies import EvolutionStrategy, NSGA2Strategy, ScalarizedEvaluator, dominates, pareto_front

# %% [markdown]
# ## Dominance and the Pareto front
#
# Architecture A **dominates** B when A is at least as good on every objective and strictly better
# on one. With accuracy to maximise and parameters to minimise:

# %%
# NBVAL_CHECK_OUTPUT
senses = ["max", "min"]  # accuracy: larger is better; params: smaller is better
points = {"A": (0.97, 8000), "B": (0.96, 9000), "C": (0.95, 4000), "D": (0.98, 20000)}
print("A dominates B:", dominates(points["A"], points["B"], senses))
print("A dominates C:", dominates(points["A"], points["C"], senses), "(C is smaller)")
front = pareto_front(list(points.values()), senses)
print("Pareto front:", [list(points)[i] for i in front])

# %% [markdown]
# ## Architecture × hyperparameters, searched together
#
# The best cell for a learning rate of 0.1 may be a poor one at 0.003, so it makes sense to search
# both at once. `get_space("cell+hyper")` is the product of the cell space and a grid of learning
# rate, batch size, weight decay and dropout — one flat list of decisions for any strategy.

# %%
joint = get_space("cell+hyper")
print(f"{len(joint):,} combinations; decisions: {list(joint.choices)}")
print(joint.sample(0))

# %% [markdown]
# The benchmark table cannot help here: it holds every cell trained with **one fixed recipe**, so it
# knows nothing about other learning rates and refuses such an architecture:

# %%
try:
    TableEvaluator("digits-seeds")(joint.sample(0))
except TypeError as err:
    print("TableEvaluator:", str(err)[:150], "...")

# %% [markdown]
# So for the joint search we **really train** every proposal, with settings small enough for a
# notebook: the table's network (8 channels) for only 2 epochs instead of its 6, on one CPU thread,
# and one training per proposal (one seed).
# Accuracies will be lower than in the table, but they respond to the hyperparameters for real: the
# `Trainer` uses each architecture's own `lr`, `batch_size`, `weight_decay` and `dropout`.
#
# ## NSGA-II
#
# NSGA-II (Deb et al. 2002) is evolution with a different notion of "best". The population is
# sorted into fronts: front 0 is dominated by nobody, front 1 only by front 0, and so on. Within a
# front, members that are far from their neighbours (large **crowding distance**) are preferred,
# which keeps the front spread out. Parents are picked by binary tournaments on (front, crowding);
# after each generation, parents and children compete and the best `population_size` survive.
#
# This is the slow cell of the notebook: 48 real trainings (4 generations of 12), about a quarter of a
# second each.

# %%
shutil.rmtree("runs/09_nsga2", ignore_errors=True)
trainer = Trainer("digits", epochs=2, network={"channels": 8}, threads=1, device="cpu")
nsga = NSGA2Strategy(population_size=12, objectives={"accuracy": "max", "params": "min"})
search = Search(joint, nsga, trainer, budget=48, seed=0, run_dir="runs/09_nsga2")
search.run()
print(search)

# %% [markdown]
# Each child's decision records its generation, the size of the current front, and the front rank
# and crowding distance of its parents (`None` means infinite: an end of the front):

# %%
print(search.trials[-1].decision)

# %%
run = nasnb.load_run("runs/09_nsga2")
frame = run.to_dataframe()
frame["lr"] = [hyperparameters(joint.parse(a))["lr"] for a in frame["arch"]]
front = pareto_front(frame[["accuracy", "params"]].to_numpy(), senses)
fig, ax = plt.subplots(figsize=(6.5, 4))
for lr, group in frame.groupby("lr"):
    ax.scatter(group["params"], group["accuracy"], s=18, label=f"lr = {lr}")
ordered = frame.loc[front].sort_values("params")
ax.plot(ordered["params"], ordered["accuracy"], "k--", drawstyle="steps-post", label="Pareto front")
ax.set_xlabel("parameters"); ax.set_ylabel("validation accuracy (2 epochs)"); ax.legend(fontsize=8);

# %% [markdown]
# In this run (one seed, 48 trainings of 2 epochs) the learning rate mattered more than the cell:
# with lr = 0.003 the networks barely learned, whatever their cell, and the front is made of runs
# with the larger learning rates. One run shows a tendency, not a rule; notebook 2's paired tests over
# seeds are how you would check it. Here are
# the front's members with their hyperparameters:

# %%
for _, row in ordered.iterrows():
    arch = joint.parse(row["arch"])
    print(f"{int(row['params']):6d} params  accuracy {row['accuracy']:.3f}  {hyperparameters(arch)}")
    print(f"{'':7}cell {network_part(arch)}")

# %% [markdown]
# ## The true front of the cell table
#
# For the cells alone (the table's recipe fixes the hyperparameters) we can go further: every cell
# is in the table, so we can compute the **true** Pareto front exactly and use it to see what the
# scalar view does. "True" needs a caveat: the table's accuracy is the mean of three trainings with
# different seeds, and `val_std` says how much they disagreed. The front below is the front of the
# *means*.

# %%
table = load_table("digits-seeds")
cells = table.frame().query("status == 'ok'").reset_index(drop=True)
true_front = cells.loc[pareto_front(cells[["val_accuracy", "params"]].to_numpy(), senses)].sort_values("params")
print(f"{len(true_front)} of {len(cells)} cells are on the true front")
print(true_front[["params", "val_accuracy", "val_std", "arch"]].to_string(index=False))

# %% [markdown]
# ### Is the front real?
#
# Each step up the front buys some accuracy with more parameters. Is that gain larger than the seed
# noise? Here the front is drawn with each member's ± 1 standard deviation over seeds, and the orange
# dots are the cells that come within one of their own standard deviations of the front: cells whose
# mean lies below the best mean at their size (or smaller) by less than their seed spread.

# %%
best_up_to = np.maximum.accumulate(true_front["val_accuracy"].to_numpy())
at_size = np.searchsorted(true_front["params"].to_numpy(), cells["params"].to_numpy(), side="right") - 1
front_accuracy = np.where(at_size >= 0, best_up_to[np.clip(at_size, 0, None)], -np.inf)
near = cells[(cells["val_accuracy"] + cells["val_std"] >= front_accuracy) & ~cells.index.isin(true_front.index)]
fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(cells["params"], cells["val_accuracy"], s=3, c="lightgrey", label="all cells (seed mean)")
ax.scatter(near["params"], near["val_accuracy"], s=8, c="tab:orange", label="other cells within 1 sd of the front")
ax.errorbar(true_front["params"], true_front["val_accuracy"], yerr=true_front["val_std"], fmt="o-", c="k",
            ms=4, capsize=3, drawstyle="steps-post", label="front of the means ± 1 seed sd")
ax.set_ylim(0.9, max(1.0, (true_front["val_accuracy"] + true_front["val_std"]).max() + 0.003))
ax.set_xlabel("parameters"); ax.set_ylabel("validation accuracy (mean of 3 seeds)")
ax.legend(fontsize=8, loc="lower right")
steps = np.diff(true_front["val_accuracy"].to_numpy())
noisy = int(np.sum(steps < true_front["val_std"].to_numpy()[1:]))
print(f"{noisy} of the front's {len(steps)} steps gain less accuracy than the larger cell's seed sd")
print(f"{len(near)} more cells are within one sd of the front")

# %% [markdown]
# Some steps of the front buy less accuracy than the seed noise of the larger cell, and a few hundred
# other cells come within one of their own standard deviations of it — many of them larger networks
# whose three seeds disagreed a lot. So the front of the means is one draw from a *band*: which cells
# sit exactly on it is partly luck, while its shape — accuracy climbing steeply up to about 5,000
# parameters, then flattening — is solid. A front computed from one training per cell would be noisier
# still. When you report a front, report its spread too.

# %% [markdown]
# ## The scalar view: T = accuracy − λ · complexity
#
# `ScalarizedEvaluator` wraps any evaluator and adds `objective` = accuracy − λ · params / 1000;
# λ is the accuracy we would give up per thousand parameters. Any single-objective strategy then
# maximises `metric="objective"` (tell both the strategy and the search). We run regularised
# evolution on the table with a mild and a strong penalty, 200 evaluations each, and — since the
# table knows every cell — also compute the exact optimum of T for comparison.

# %%
space = CellSpace()
found, exact = {}, {}
for lam in (0.002, 0.02):
    scalar = ScalarizedEvaluator(TableEvaluator("digits-seeds"), lam, "params", normalize=1000)
    result = Search(space, EvolutionStrategy(population_size=20, tournament_size=5, metric="objective"),
                    scalar, budget=200, seed=0, metric="objective").run()
    found[lam] = result.best
    exact[lam] = cells.loc[(cells["val_accuracy"] - lam * cells["params"] / 1000).idxmax()]

# %%
# NBVAL_CHECK_OUTPUT
for lam in found:
    m, e = found[lam].metrics, exact[lam]
    print(f"λ = {lam}: search chose {m['params']:5d} params, accuracy {m['accuracy']:.4f}, T = {m['objective']:.4f}")
    print(f"{'':10} optimum of T {e['params']:5d} params, accuracy {e['val_accuracy']:.4f}, "
          f"T = {e['val_accuracy'] - lam * e['params'] / 1000:.4f}")

# %% [markdown]
# On this seed, with the mild penalty the search found the optimum of T; with the strong one it stopped
# at a cell of the same size whose mean accuracy is 0.002 lower. That gap is well inside the seed noise
# of the optimum (about 0.01), so by this table's standards both are equally good answers: a search
# cannot be blamed for missing a difference that training itself does not repeat.
#
# On the plot, a fixed T is a straight line:
# accuracy = T + λ · params / 1000. Maximising T means sliding that line up until it last touches a
# cell. A steeper line (larger λ) touches the front further to the left, at a smaller network:

# %%
fig, ax = plt.subplots(figsize=(7, 4.2))
ax.scatter(cells["params"], cells["val_accuracy"], s=4, c="lightgrey", label="all cells")
ax.plot(true_front["params"], true_front["val_accuracy"], "k.--", drawstyle="steps-post", label="true Pareto front")
xs = np.linspace(cells["params"].min(), cells["params"].max(), 2)
for lam, colour in zip(found, ("tab:blue", "tab:red")):
    e, m = exact[lam], found[lam].metrics
    ax.plot(xs, e["val_accuracy"] + lam * (xs - e["params"]) / 1000, c=colour, lw=1)
    ax.scatter([e["params"]], [e["val_accuracy"]], s=90, c=colour, zorder=3, label=f"optimum of T, λ = {lam}")
    ax.scatter([m["params"]], [m["accuracy"]], s=90, facecolors="none", edgecolors=colour, lw=2, zorder=3,
               label=f"found by the search, λ = {lam}")
ax.set_ylim(0.9, 0.99); ax.set_xlabel("parameters"); ax.set_ylabel("validation accuracy (table)")
ax.legend(fontsize=8, loc="lower right");

# %% [markdown]
# The two cells that T prefers: the strong penalty trades the 3×3 convolution for a cheap 1×1 one.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 2.6))
for ax, (lam, e) in zip(axes, exact.items()):
    plot_architecture(space.parse(e["arch"]), ax=ax)
    ax.set_title(f"best for λ = {lam}: {e['params']} params, accuracy {e['val_accuracy']:.3f}", fontsize=9)

# %% [markdown]
# Sweeping λ over many values (exactly, on the table) shows the whole path of the chosen
# architecture. Note what it **never** picks: a front point that lies in a dent of the front, below
# the line joining its neighbours, is never the maximum of any straight line. Only the points on the
# *convex hull* of the front can be reached by a weighted sum; the Pareto view has no such blind spot.

# %%
# NBVAL_CHECK_OUTPUT
picked = {}
for lam in np.geomspace(1e-4, 1, 200):
    best = (cells["val_accuracy"] - lam * cells["params"] / 1000).idxmax()
    picked.setdefault((int(cells.loc[best, "params"]), round(float(cells.loc[best, "val_accuracy"]), 4)), lam)
for (params, acc), lam in picked.items():
    print(f"from λ ≈ {lam:.4f}: {params} params, accuracy {acc}")
reachable = {p for p, _ in picked}
print("front sizes never chosen by any λ:", sorted(set(true_front["params"]) - reachable))

# %% [markdown]
# ## Exercises
#
# Replace each `...` and run the check below it: it says *correct* or gives a hint, never the answer.
#
# **9.1** Add a fifth point E = (0.97, 4000) to `points` from the first section. Which points form
# the Pareto front now? Give a sorted list of letters, e.g. `["A", "C"]`.

# %%
from nasnb.grading import check

# %% [answer 9.1]
q91 = ...  # a sorted list of letters
### BEGIN SOLUTION
with_e = dict(points, E=(0.97, 4000))
q91 = sorted(list(with_e)[i] for i in pareto_front(list(with_e.values()), senses))
### END SOLUTION

# %% [check 9.1]
check("9.1", q91, expect=["D", "E"], hint="E is as accurate as A and as small as C; use `pareto_front(values, senses)`")

# %% [markdown]
# **9.2** For λ = 0.01, which cell of the table maximises T = accuracy − λ · params / 1000? Give its
# number of parameters.

# %% [answer 9.2]
q92 = ...  # a number
### BEGIN SOLUTION
q92 = int(cells.loc[(cells["val_accuracy"] - 0.01 * cells["params"] / 1000).idxmax(), "params"])
### END SOLUTION

# %% [check 9.2]
check("9.2", q92, expect=4674, hint="compute T for every row of `cells` and take the row with the largest T (`idxmax`)")

# %% [markdown]
# **9.3** Run NSGA-II on the *table*: `Search(space, NSGA2Strategy(population_size=20, objectives={"accuracy":
# "max", "params": "min"}), TableEvaluator("digits-seeds"), budget=300, seed=0)`. How many *distinct networks*
# (canonical keys) did its 300 evaluations cover? nasnb's strategies skip networks they have already
# evaluated; with a library that does not, count them before comparing strategies "at 300 evaluations".

# %% [answer 9.3]
q93 = ...  # a number
### BEGIN SOLUTION
on_table = Search(space, NSGA2Strategy(population_size=20, objectives={"accuracy": "max", "params": "min"}),
                  TableEvaluator("digits-seeds"), budget=300, seed=0).run()
q93 = len({space.parse(t.arch).key for t in on_table.trials})
### END SOLUTION

# %% [check 9.3]
check("9.3", q93, expect=300, hint="a set of `space.parse(t.arch).key` over the search's trials")

# %% [markdown]
# **Try it yourself**
#
# - Replace `"params"` by `"macs"` (both in NSGA-II's objectives and in `ScalarizedEvaluator`). Does the front change?
# - Run NSGA-II on the *table* (`CellSpace()`, `TableEvaluator("digits-seeds")`, budget 300) and plot its
#   front on top of the true one. How many true-front cells does it find?
# - In the joint search, restrict the learning rates with
#   `nasnb.ProductSpace(arch=CellSpace(), hp=nasnb.HyperSpace(lr=(0.03, 0.1)))`: how does the front move?
# - Which λ would you choose for a microcontroller with room for 5,000 parameters?
