# %% [markdown]
# # 2 · Evolution: a population that learns by selection and mutation
#
# **Regularized (aging) evolution** (Real et al., 2019) found image classifiers as good as
# hand-designed ones with an algorithm simple enough to run by hand:
#
# 1. keep a **population** of recently evaluated architectures (a queue),
# 2. pick a few members at random, and let the best of them — the winner of the **tournament** —
#    be the parent,
# 3. **mutate** the parent (change one decision) and evaluate the child,
# 4. add the child to the queue and remove the **oldest** member, however good it was.
#
# This notebook runs it, looks inside each step, and compares settings fairly over several seeds.

# %%
import shutil

import matplotlib.pyplot as plt
import numpy as np

import nasnb
from nasnb import CellSpace, Search
from nasnb.compare import compare_strategies, plot_regret, regret_ratio
from nasnb.evaluation import TableEvaluator, load_table
from nasnb.spaces import plot_architecture
from nasnb.strategies import EvolutionStrategy

# %% [markdown]
# ## A benchmark table instead of training
#
# In notebook 1 every proposal was trained for real. That is honest but slow, and comparing
# strategies needs *hundreds* of searches. So nasnb ships a **tabulated benchmark** (the idea of
# NAS-Bench-201): every distinct cell of `CellSpace` was trained on *digits* with one fixed
# recipe — **three times, with three different random seeds** — and `TableEvaluator` simply looks
# the result up. By default it answers the **mean of the three seeds**. A search on the table is
# instant and exactly reproducible, and it reports how long the real training would have taken
# (`train_seconds`).

# %%
table = load_table("digits-seeds")
evaluator = TableEvaluator("digits-seeds")  # answers the mean over the table's seeds
space = CellSpace()
print(table)
print("best cell in the table:", table.best().arch, "mean accuracy", round(table.optimum(), 4))
example = space.parse("|conv_3x3~0|+|skip_connect~0|conv_3x3~1|+|skip_connect~0|none~1|conv_1x1~2|")
result = evaluator(example)
print({k: result[k] for k in ("accuracy", "accuracy_std", "params", "macs", "train_seconds")})

# %% [markdown]
# Next to the mean, the answer carries `accuracy_std`: how much the three trainings of this cell
# disagreed (their standard deviation). Keep that number in mind; it comes back below.
#
# The table also shows why search is needed at all: most cells are a few points below the best,
# and only a handful are close to it.

# %%
frame = table.frame()
trained = frame[frame["status"] == "ok"]
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.hist(trained["val_accuracy"].clip(lower=0.8), bins=np.linspace(0.8, 1.0, 41), color="tab:grey")
ax.axvline(table.optimum(), c="tab:red", ls=":", label="best cell")
ax.set_xlabel("mean validation accuracy (everything below 0.8 counted at 0.8)"); ax.set_ylabel("distinct cells")
ax.legend()
print(f"{len(trained)} distinct cells; {np.mean(trained['val_accuracy'] > table.optimum() - 0.01):.1%} "
      "are within 1 point of the best")
worst = trained.loc[trained["val_accuracy"].idxmin()]
print(f"the worst, {worst['val_accuracy']:.3f} (chance level), is the cell whose input never reaches its "
      f"output; {worst['n_cells']} of the 15,625 cells are that same network")

# %% [markdown]
# ## Seed noise: how sure is the table?
#
# Training is random: the initial weights and the order of the mini-batches come from a seed. Train
# the same cell twice and you get two different accuracies. How different? The table trained every
# cell three times, so it can tell us. `table.repeatability()` ranks all cells by one seed's
# accuracy and by another's and measures how well the two rankings agree (Spearman's ρ: 1 = the same
# order, 0 = unrelated), over all cells and over the better half only.

# %%
# NBVAL_CHECK_OUTPUT
rep = table.repeatability()
print(f"two seeds rank all {rep['cells']} cells with rho = {rep['rho']:.2f}; the better half with rho = "
      f"{rep['rho_top_half']:.2f}")
print(f"typical seed-to-seed standard deviation: {rep['mean_std']:.4f} "
      f"(about {rep['mean_std'] * 360:.0f} of the 360 validation images)")

# %% [markdown]
# Over all cells the seeds agree reasonably well: bad cells are bad whatever the seed. Among the
# good cells, however, the order is mostly luck. The left plot shows it: each dot is a cell, seed 0's
# accuracy against seed 1's. The right plot zooms in on the 15 cells with the best **mean**: the
# black point is the mean with a bar of ± 1 standard deviation, the coloured dots are the three
# seeds.

# %%
top = trained.sort_values("val_accuracy", ascending=False, kind="stable").head(15)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 1.8]})
left.scatter(table.seed_val_accuracy[trained.index, 0], table.seed_val_accuracy[trained.index, 1], s=3, alpha=0.3)
left.plot([0.8, 1], [0.8, 1], "k:", lw=1)
left.set_xlim(0.8, 1); left.set_ylim(0.8, 1)
left.set_xlabel("validation accuracy, seed 0"); left.set_ylabel("validation accuracy, seed 1")
left.set_title(f"every cell, two seeds (rho = {rep['rho']:.2f})", fontsize=10)
x = np.arange(len(top))
for j, (seed, colour) in enumerate(zip(table.seeds, ("tab:blue", "tab:orange", "tab:green"))):
    right.scatter(x + (j - 1) * 0.18, table.seed_val_accuracy[top.index, j], s=14, c=colour, label=f"seed {seed}")
right.errorbar(x, top["val_accuracy"], yerr=top["val_std"], fmt="o", c="k", ms=5, capsize=3,
               label="mean ± 1 sd")
right.set_xticks(x, [f"#{i + 1}" for i in x])
right.set_xlabel("the 15 cells with the best mean, by rank"); right.set_ylabel("validation accuracy")
right.set_title("the top of the table: means, spreads and seeds", fontsize=10)
right.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.2))
fig.tight_layout()

# %% [markdown]
# The bars overlap almost everywhere: the best cell's mean is not far above the 15th's, while a
# single seed often moves a cell by more than that. So **is the difference between two cells real?**
# With three trainings per cell we can ask a statistical test. `table.compare(a, b)` runs Welch's
# t-test on the two cells' seed accuracies: a large p-value means that a difference this size easily
# arises from seed noise alone.

# %%
# NBVAL_CHECK_OUTPUT
best_cell = space.parse(top.iloc[0]["arch"])
for rank in (2, 15):
    other = space.parse(top.iloc[rank - 1]["arch"])
    c = table.compare(best_cell, other)
    print(f"best (mean {c['mean_a']:.4f} ± {c['std_a']:.4f}) vs #{rank} (mean {c['mean_b']:.4f} ± {c['std_b']:.4f}): "
          f"difference {c['difference']:.4f}, Welch p = {c['p_value']:.2f}")
median_cell = space.parse(trained.loc[(trained["val_accuracy"] - trained["val_accuracy"].median()).abs().idxmin(), "arch"])
c = table.compare(best_cell, median_cell)
print(f"best vs a median cell (mean {c['mean_b']:.4f} ± {c['std_b']:.4f}): difference {c['difference']:.4f}, "
      f"Welch p = {c['p_value']:.4f}")

# %% [markdown]
# Two cells whose means differ by less than their standard deviations are **not told apart** by
# this table: with three seeds, the best cell and the 15th could swap places if the table were made
# again. The median cell is a different matter: its mean lies more than twice its own standard
# deviation below the best (and ten times the best cell's), far outside anything seed noise did to
# the top cells. Yet Welch's test gives it only
# p ≈ 0.06. With three values per cell the test has little to go on (it must estimate each cell's
# spread from three numbers too), so with three seeds a large p-value means "not shown", never "the
# same". Read both: the size of a difference measured in standard deviations, and the p-value.
#
# This has a consequence for everything that follows. The *regret* of a search (how far its best find
# is below the table's best mean) means little once it is smaller than the seed noise of the top
# cells: a search that lands anywhere in that top group has found "one of the best cells", and which
# one is luck. Averaging three seeds already makes the table steadier than one training per cell (a
# one-seed table would be noisier still); it cannot make it certain.
#
# **And beyond digits?** A table of 8×8 digits is cheap enough to build on a laptop, but does its
# ranking say anything about a harder dataset? `benchmarks/transfer_fashion.py` trained 141 cells,
# sampled evenly across the table's accuracy range, with the very same recipe on 10,000
# Fashion-MNIST images (one seed). Their digits ranking and their Fashion-MNIST ranking agree with
# Spearman's ρ = 0.47 over all 141 cells and 0.25 over the better half; of the 14 best cells on
# digits, 4 are among the 14 best on Fashion-MNIST (chance: about 1). For scale, two seeds *of digits itself*
# agree at ρ = 0.54. So the table transfers about as well as it repeats: it reliably separates poor
# cells from good ones, on digits and beyond, and says little about the order among the good ones.
# Treat "the best cell of a toy table" as "a good cell", not as "the best cell for your problem".

# %% [markdown]
# ## The population is a queue
#
# `population_size` is the length of the queue, and also the number of random architectures that
# fill it at the start. Let us step a search by hand and watch the queue.

# %%
shutil.rmtree("runs/02_evolution", ignore_errors=True)
strategy = EvolutionStrategy(population_size=10, tournament_size=3)
search = Search(space, strategy, evaluator, budget=200, seed=0, run_dir="runs/02_evolution")
for _ in range(10):
    search.step()
print("population (trial ids, oldest first):", strategy.population_ids())

# %% [markdown]
# The first 10 trials were random (`kind="init"`). From now on, each step makes one child, and
# the oldest member leaves the queue — even if it is the best one so far. That "aging" is what
# makes this *regularised* evolution: an architecture only survives by leaving good children.

# %%
# NBVAL_CHECK_OUTPUT
for _ in range(3):
    trial = search.step()
    print(f"trial {trial.id}: child of {trial.decision['parents']}, accuracy {trial.score():.3f}; "
          f"population now {strategy.population_ids()}")

# %% [markdown]
# ## Tournament selection
#
# Who becomes a parent? `tournament_size` members are drawn at random from the population and the
# one with the best score wins. Every decision records the whole tournament:

# %%
# NBVAL_CHECK_OUTPUT
print("tournament:", trial.decision["tournament"])
print("mutation:  ", trial.decision["change"])

# %% [markdown]
# A small tournament picks almost anybody (weak **selection pressure**: more exploration), a
# tournament as large as the population always picks the current best (strong pressure: more
# exploitation). Here is the parent next to its child: exactly one edge differs.

# %%
parent = search.trials[trial.decision["parents"][0]]
fig, axes = plt.subplots(1, 2, figsize=(10, 2.6))
plot_architecture(space.parse(parent.arch), ax=axes[0])
plot_architecture(space.parse(trial.arch), ax=axes[1])
axes[0].set_title(f"parent: trial {parent.id}, accuracy {parent.score():.3f}", fontsize=9)
axes[1].set_title(f"child: trial {trial.id}, accuracy {trial.score():.3f}", fontsize=9);

# %% [markdown]
# Now let the search use the rest of its budget of 200 evaluations.

# %%
search.run()
print(search)
print("best:", search.best.arch)

# %%
frame = search.to_dataframe()
fig, ax = plt.subplots(figsize=(7, 3))
ax.scatter(frame["id"], frame["accuracy"], s=8, c=np.where(frame["kind"] == "init", "tab:grey", "tab:red"))
ax.plot(frame["id"], frame["accuracy"].cummax(), drawstyle="steps-post", label="best so far")
ax.axhline(table.optimum(), ls=":", c="k", label="table optimum")
ax.set_xlabel("trial"); ax.set_ylabel("validation accuracy"); ax.set_ylim(0.5, 1.0); ax.legend();

# %% [markdown]
# The red children pile up near the top: the population has moved into a good region of the space.
# (A trial that fails — an evaluator that raises, a training that diverges — never enters the
# population; evolution simply ignores it.)
#
# The run log can rebuild the strategy as it was after any step (`run.strategy_at(k)` replays the
# logged trials into a fresh strategy), so we can look at the population at any moment. Its mean
# accuracy rises as good children replace the random founders, then wanders as aging keeps replacing
# members, good or bad:

# %%
run = nasnb.load_run("runs/02_evolution")
scores = {t.id: t.score() for t in run.trials}
steps = range(10, len(run) + 1, 5)
alive = [run.strategy_at(k).population_ids() for k in steps]
fig, ax = plt.subplots(figsize=(7, 2.8))
ax.plot(steps, [np.mean([scores[i] for i in ids]) for ids in alive], "o-", label="population mean")
ax.plot(steps, [min(scores[i] for i in ids) for ids in alive], "o-", label="population worst")
ax.set_xlabel("step"); ax.set_ylabel("validation accuracy"); ax.legend();

# %% [markdown]
# The dips in the worst member are poor children (a mutation that removed a useful convolution, or
# cut a path through the cell). They rarely win a tournament, but they are not removed early either:
# like every member, each leaves the queue only when it becomes the oldest.
#
# ## Mutation and crossover
#
# Mutation changes one decision. **Crossover** combines two parents, each decision taken from one
# of them at random. With `crossover_rate=0.5`, half the children have two parents, the winners
# of two separate tournaments:

# %%
# NBVAL_CHECK_OUTPUT
mixed = Search(space, EvolutionStrategy(population_size=10, tournament_size=3, crossover_rate=0.5),
               evaluator, budget=40, seed=0).run()
child = next(t for t in mixed.trials if t.decision["kind"] == "crossover")
print("kinds:", {k: sum(t.decision["kind"] == k for t in mixed.trials) for k in ("init", "mutation", "crossover")})
print(f"trial {child.id} has parents {child.decision['parents']}")
print("edges from the first parent: ", child.decision["change"]["from_a"])
print("edges from the second parent:", child.decision["change"]["from_b"])

# %% [markdown]
# Crossover helps when good parts of different parents can be combined independently. In a
# NAS-Bench-201 cell the edges interact strongly (an edge only matters if its nodes are
# connected), so do not expect miracles; the next section measures it.
#
# ## A fair comparison: several seeds, regret
#
# One search proves little: a lucky seed makes any strategy look good. `compare_strategies` runs
# each strategy with several seeds and records the **regret** after each evaluation: the table's
# optimum minus the best accuracy found so far (0 means the best cell was found). We compare
# tournament sizes, crossover and plain random search, 20 seeds each (3,000 table look-ups per
# strategy: a few seconds).

# %%
strategies = {
    "random": "random",
    "tournament 2": EvolutionStrategy(population_size=20, tournament_size=2),
    "tournament 5": EvolutionStrategy(population_size=20, tournament_size=5),
    "tournament 20 (greedy)": EvolutionStrategy(population_size=20, tournament_size=20),
    "tournament 5 + crossover": EvolutionStrategy(population_size=20, tournament_size=5, crossover_rate=0.5),
}
comparison = compare_strategies(space, strategies, evaluator, seeds=20, budget=150, optimum=table.optimum())
fig, ax = plt.subplots(figsize=(7, 4.5))
plot_regret(comparison, ax=ax, log=True)
noise = top["val_std"].mean()  # the seed-to-seed sd of the 15 best cells
ax.axhline(noise, c="k", ls="--", lw=1, label=f"seed noise of the top 15 cells ({noise:.3f})")
ax.legend(fontsize=8);

# %%
# NBVAL_CHECK_OUTPUT
summary = comparison.summary(baseline="random")
print(summary.round(4).to_string(index=False))

# %% [markdown]
# Two kinds of noise are on this plot, and both matter. The coloured **bands** are the spread over
# search seeds: differences between strategies smaller than the bands are not evidence. The dashed
# line is the **training noise** of the table itself, the seed-to-seed standard deviation of its best
# cells: once a strategy's regret is below that line, it has found a cell that the table cannot tell
# apart from the best one, and further "progress" is a choice between cells of equal merit. (For
# scale: the validation set has 360 images, so one image is 0.0028 in one seed's accuracy and a third
# of that in the mean of three.) `regret_ratio` says how each strategy compares with random search
# after a given number of evaluations (below 1: better):

# %%
# NBVAL_CHECK_OUTPUT
for at in (50, 150):
    ratios = regret_ratio(comparison, "random", at=at)
    print(f"after {at:3d} evaluations:", {k: round(v, 2) for k, v in ratios.items()})

# %% [markdown]
# Which of these differences would survive other seeds? The seeds are *paired*: seed 3 of every
# strategy starts from the same random numbers, so compare strategies seed by seed. We summarise each
# search by its mean regret over the 150 evaluations (the area under its curve, which also rewards
# finding good cells early) and ask a paired Wilcoxon signed-rank test whether one strategy beats
# another more often and by more than chance would.

# %%
# NBVAL_CHECK_OUTPUT
from scipy.stats import wilcoxon

area = {name: curves.mean(axis=1) for name, curves in comparison.regret.items()}  # one number per seed
for name in strategies:
    if name != "random":
        wins = int(np.sum(area[name] < area["random"]))
        print(f"{name:25s} lower regret than random on {wins:2d} of 20 seeds, "
              f"paired Wilcoxon p = {wilcoxon(area[name], area['random']).pvalue:.3f}")
p_cross = wilcoxon(area["tournament 5"], area["tournament 5 + crossover"]).pvalue
print(f"tournament 5 against tournament 5 + crossover: p = {p_cross:.3f}")

# %% [markdown]
# What these 20 seeds support: tournaments of 5 and of 20 and crossover beat random search (every
# p ≤ 0.012); tournament 2, the weakest selection pressure, does not clearly (p ≈ 0.09). The order
# *among* the three winners is no evidence at all: crossover has the lowest mean regret here, but
# against tournament 5 the paired test gives p ≈ 0.2. Exercise 2.2 reruns the comparison on seeds
# 20–39: there tournament 5 has the lowest mean regret and crossover comes second. A ranking that flips
# when the seeds change is exactly what the bands warn about. What held on both seed sets (checked
# while writing this notebook) is that tournament 5, tournament 20 and crossover each beat random
# search (every p ≤ 0.012), with 0.3–0.5× its regret after 150 evaluations, and tournament 2 did not
# (p ≈ 0.1 both times).
#
# Now look at the dashed line again. After 150 evaluations every strategy's mean regret, random
# search's included, is below the seed noise of the top cells. On this table "beats random search"
# therefore means "reaches the group of cells the table cannot tell apart sooner and more reliably",
# not "finds a network that is really better".
#
# One more thing to check whenever strategies are compared "at 150 evaluations": how many *distinct*
# networks those evaluations covered. A mutation can undo an earlier one, and many cells are the same
# network; nasnb's strategies skip networks they have already evaluated (by canonical key), but many
# libraries do not, and a strategy that re-evaluates spends budget without learning anything.
# Exercise 2.1 counts the distinct networks of the 200-trial search above.

# %% [markdown]
# ## Following the best architecture back to its ancestors
#
# Every child records its parents, so the run log holds the complete family history. We loaded the
# 200-trial run from disk above (as any later session could); let us walk back from its best trial,
# parent by parent, to the random cell it all started from.

# %%
# NBVAL_CHECK_OUTPUT
by_id = {t.id: t for t in run.trials}
best = run.best()
line = [best]
while line[-1].decision.get("parents"):
    line.append(by_id[line[-1].decision["parents"][0]])
for t in reversed(line):
    change = t.decision.get("change", {})
    edit = f"{change['decision']}: {change['from']} -> {change['to']}" if "decision" in change else t.decision["kind"]
    print(f"trial {t.id:3d}  accuracy {t.score():.3f}  {edit}")

# %% [markdown]
# Many steps made the cell *worse*. Evolution is not hill-climbing: a child joins the population
# whatever its score, and it becomes a parent whenever it wins a tournament of 3 — which a mediocre
# member can do when the tournament happens not to include better ones.

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
frame = run.to_dataframe()
ax.scatter(frame["id"], frame["accuracy"], s=6, c="lightgrey", label="all trials")
ax.plot([t.id for t in line], [t.score() for t in line], "o-", c="tab:red", ms=3, label="line of descent")
ax.set_xlabel("trial"); ax.set_ylabel("validation accuracy"); ax.set_ylim(0.5, 1.0)
ax.set_title("from a random cell to the best one, one edit at a time"); ax.legend();

# %%
plot_architecture(space.parse(best.arch))
print("best found:", best.arch, round(best.score(), 4), "| table optimum", round(table.optimum(), 4))

# %% [markdown]
# With crossover, a child has two parents and its ancestry becomes a real family tree. The same
# records answer the question; we only need to follow *every* parent instead of the first. Here is
# the family of the last child of the 40-trial crossover run from above, and of its whole final
# population:

# %%
# NBVAL_CHECK_OUTPUT
def ancestors(trials, trial_id):
    """Ids of every ancestor of a trial: its parents, their parents, and so on."""
    by_id = {t.id: t for t in trials}
    found, todo = set(), [trial_id]
    while todo:
        for parent in by_id[todo.pop()].decision.get("parents", []):
            if parent not in found:
                found.add(parent)
                todo.append(parent)
    return found


def founders(trials, ids):
    return sorted(i for i in ids if trials[i].decision["kind"] == "init")


last = mixed.trials[-1]
family = ancestors(mixed.trials, last.id)
print(f"trial {last.id} ({last.decision['kind']} of {last.decision['parents']}) has {len(family)} ancestors: "
      f"{sorted(family)}")
print("its founders among the 10 random initial cells:", founders(mixed.trials, family))
alive = mixed.strategy.population_ids()
everyone = set(alive).union(*(ancestors(mixed.trials, i) for i in alive))
print("founders of the whole final population:       ", founders(mixed.trials, everyone))

# %% [markdown]
# After only 30 children, the whole population descends from a few of the ten founders: the other
# lines died out. Aging removes every member after a few steps, but the edges of successful ones
# live on in their descendants.
#
# ## Exercises
#
# Replace each `...` and run the check below it: it says *correct* or gives a hint, never the answer.
#
# **2.1** How many *distinct networks* (distinct canonical keys) did the 200-trial search in `run`
# evaluate? (`space.parse(t.arch).key` is a trial's network.)

# %%
from nasnb.grading import check

# %% [answer 2.1]
q21 = ...  # a number
### BEGIN SOLUTION
q21 = len({space.parse(t.arch).key for t in run.trials})
### END SOLUTION

# %% [check 2.1]
check("2.1", q21, expect=200, hint="a set of the keys of all trials in `run.trials`: `{space.parse(t.arch).key for t in ...}`")

# %% [markdown]
# **2.2 (re-seed)** Run `compare_strategies` again with `seeds=range(20, 40)`, budget 150, for
# `random`, `tournament 5` and `tournament 5 + crossover` (the same settings as above). What is
# crossover's `regret_ratio` against random after 150 evaluations (2 decimals)?

# %% [answer 2.2]
q22 = ...  # a number, e.g. 0.87
### BEGIN SOLUTION
reseeded = compare_strategies(space, {k: strategies[k] for k in ("random", "tournament 5", "tournament 5 + crossover")},
                              evaluator, seeds=range(20, 40), budget=150, optimum=table.optimum())
q22 = regret_ratio(reseeded, "random", at=150)["tournament 5 + crossover"]
### END SOLUTION

# %% [check 2.2]
check("2.2", q22, expect=0.40, decimals=2, hint="seeds=range(20, 40); ratio at=150 against 'random'; round to 2 decimals")

# %% [markdown]
# **2.3** On those seeds 20–39, does tournament 5 still beat random with a paired Wilcoxon test on
# the mean regret per seed? Give the p-value (3 decimals).

# %% [answer 2.3]
q23 = ...  # a number
### BEGIN SOLUTION
area2 = {name: curves.mean(axis=1) for name, curves in reseeded.regret.items()}
q23 = wilcoxon(area2["tournament 5"], area2["random"]).pvalue
### END SOLUTION

# %% [check 2.3]
check("2.3", q23, expect=0.001, decimals=3, hint="`wilcoxon(a, b).pvalue` on `curves.mean(axis=1)` of the two strategies' regret arrays")

# %% [markdown]
# **2.4 (is it real?)** Use `table.compare` to test the table's best cell (`best_cell`) against the
# cell ranked 5th by mean accuracy (`top.iloc[4]["arch"]`, parsed with `space.parse`). What is Welch's
# p-value (2 decimals)? Would you claim that the best cell is better than the 5th?

# %% [answer 2.4]
q24 = ...  # a number
### BEGIN SOLUTION
q24 = table.compare(best_cell, space.parse(top.iloc[4]["arch"]))["p_value"]
### END SOLUTION

# %% [check 2.4]
check("2.4", q24, expect=0.82, decimals=2, hint="`table.compare(a, b)` returns a dict; its 'p_value' is Welch's test on the seeds")

# %% [markdown]
# **Try it yourself**
#
# - Change `population_size` (5? 50?) in the comparison. Which matters more, population or tournament size?
# - Make mutation the only operator but compare budgets of 50 and 300: when does evolution start to beat random search?
# - Follow the *second* parent of a crossover child: where did its good edges come from?
# - Real searches see *one* training per cell, not a mean of three: rerun the comparison with
#   `TableEvaluator("digits-seeds", seed="random")`, which answers a randomly drawn seed per query.
#   Does evolution's lead over random search shrink when its tournaments compare noisy scores?
# - Replace `evaluator` with `nasnb.evaluation.Trainer(epochs=3, network={"channels": 8})` and a
#   budget of 15 to see the same search with real training (much slower!).
