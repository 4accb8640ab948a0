# %% [markdown]
# # 1 · Search spaces: what neural architecture search can choose from
#
# Neural architecture search (NAS) automates one design question: *which network should I train?*
# Every NAS method has three parts:
#
# 1. a **search space** — the set of architectures it is allowed to propose,
# 2. a **search strategy** — how it picks the next architecture to try,
# 3. an **evaluation** — how it scores a proposal (here: really training it on real data).
#
# This notebook is about the first part, and ends with a first small search. Everything runs on a
# laptop CPU in well under a minute.

# %%
import matplotlib.pyplot as plt
import numpy as np

import nasnb
from nasnb import CellSpace, ChainSpace, HyperSpace, ProductSpace
from nasnb.spaces import plot_architecture

print("nasnb", nasnb.__version__)

# %% [markdown]
# ## A search space is a sequence of decisions
#
# nasnb describes every space as named **decision points**, each with a list of **options**.
# The NAS-Bench-201 *cell* is a tiny graph with 4 nodes: node 0 is the input, node 3 the output, and
# each of the 6 edges `j->i` carries one operation. Each node adds up what arrives on its edges.

# %%
cell_space = CellSpace()
for decision, options in cell_space.choices.items():
    print(f"{decision:5s} -> {options}")
print("number of cells:", len(cell_space))

# %% [markdown]
# 5 options on 6 edges gives 5⁶ = 15,625 cells. A random draw picks one option per decision.
# Seeds make it reproducible: the same seed always gives the same architecture.

# %%
# NBVAL_CHECK_OUTPUT
arch = cell_space.sample(seed := 7)
print(arch)
print(dict(arch))

# %% [markdown]
# The line above is the architecture's **text form** (NAS-Bench-201's notation: `|op~source|` for
# every edge into nodes 1, 2, 3). You can type an architecture yourself; a mistake gets an error
# that says what is wrong:

# %%
mine = cell_space.parse("|conv_3x3~0|+|skip_connect~0|conv_3x3~1|+|skip_connect~0|none~1|conv_1x1~2|")
try:
    cell_space.parse("|conv_3x3~0|+|skip_connect~0|conv_5x5~1|+|skip_connect~0|none~1|conv_1x1~2|")
except ValueError as err:
    print("error:", err)
plot_architecture(mine, show_none=True);

# %% [markdown]
# ### Different cells, same network
#
# Many of the 15,625 cells compute the same function. A `none` edge adds nothing, so a node whose
# inputs are all `none` is always zero; a `skip_connect` just forwards its input; and swapping
# the two middle nodes changes nothing when no edge joins them. nasnb gives every architecture a
# **canonical key** that is equal exactly when two cells compute the same thing:

# %%
# NBVAL_CHECK_OUTPUT
a = cell_space.parse("|conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|conv_1x1~1|none~2|")
b = cell_space.parse("|avg_pool_3x3~0|+|conv_3x3~0|none~1|+|skip_connect~0|none~1|conv_1x1~2|")
print(a.key)
print(b.key)
print("same network:", a.key == b.key)
print("functionally distinct cells:", len({c.key for c in cell_space}))

# %% [markdown]
# So a search over this space really chooses among about 4,900 networks, not 15,625.
#
# ## How strategies move through a space
#
# Search strategies need three moves. **Mutation** changes one decision (and reports which),
# **crossover** mixes two parents decision by decision, and **neighbours** are all architectures
# one mutation away.

# %%
rng = np.random.default_rng(2)
child, change = cell_space.mutate(mine, rng)
print("mutation:", change)
other = cell_space.sample(rng)
mixed, origin = cell_space.crossover(mine, other, rng)
print("crossover took", origin["from_a"], "from the first parent and", origin["from_b"], "from the second")
print("neighbours of a cell:", len(cell_space.neighbors(mine)))

# %% [markdown]
# This crossover is *uniform*: each decision is a coin flip between the parents, so here the child
# took three edges from each. With another seed it can take all six from one parent (a chance of
# 2 in 64) — then it is a copy, not a mix.

# %% [markdown]
# ## A chain of layers: the space of the first NAS papers
#
# Early NAS (MetaQNN, NAS with RL) searched plain chains: convolution, pooling and fully-connected
# layers, each with its own kernel size, width, activation, batch-norm and dropout. The number of
# decisions depends on the depth, and nasnb only lets valid chains be built: once a
# fully-connected layer has flattened the image, no convolution may follow.

# %%
chain_space = ChainSpace(max_layers=4)
chain = chain_space.sample(3)
print(chain)
print(f"{len(chain_space):,} chains of up to 4 layers")
plot_architecture(chain);

# %% [markdown]
# ## Hyperparameters are decisions too
#
# Learning rate or batch size often matter as much as the architecture. A `ProductSpace` searches
# both jointly — strategies see one flat list of decisions.

# %%
joint = ProductSpace(arch=CellSpace(), hp=HyperSpace())
print(joint.sample(1))
print(f"{len(joint):,} combinations; one-hot encoding length {len(joint.encode(joint.sample(1)))}")

# %% [markdown]
# ## From architecture to network
#
# `build_model` turns any architecture into a PyTorch module for a given input shape. The cell is
# stacked into a small network (a stem, cells, a reduction block, a classifier).

# %%
# NBVAL_CHECK_OUTPUT
from nasnb.nn import build_model, count_macs, count_params

model = build_model(mine, input_shape=(1, 8, 8), num_classes=10, channels=8)
print(f"parameters: {count_params(model):,}   multiply-accumulates: {count_macs(model, (1, 8, 8)):,}")

# %% [markdown]
# ## A first search
#
# Now all three parts together: the cell space, **regularised evolution** as the strategy and real
# training on the scikit-learn *digits* (8×8 handwritten digits) as the evaluation. Each step
# proposes one cell, trains it for a few epochs and records the result in a *run log* on disk.

# %%
import shutil

from nasnb import Search
from nasnb.evaluation import Trainer
from nasnb.strategies import EvolutionStrategy

shutil.rmtree("runs/01_first_search", ignore_errors=True)
trainer = Trainer(dataset="digits", epochs=3, batch_size=128, lr=0.1, network={"channels": 8})
search = Search(cell_space, EvolutionStrategy(population_size=6, tournament_size=3), trainer,
                budget=14, seed=0, run_dir="runs/01_first_search")
first = search.step()          # exactly one proposal -> training -> record
print(first.arch, "->", round(first.metrics["accuracy"], 3))
search.run()                   # the rest of the budget
print(search)

# %% [markdown]
# Every trial records *why* it was proposed. The first six are random (the initial population);
# later ones are mutations of a tournament winner:

# %%
late = search.trials[-1]
print("trial", late.id, late.decision["kind"], "of trial", late.decision["parents"])
print("tournament:", late.decision["tournament"])
print("change:", late.decision["change"])

# %% [markdown]
# ## The run log
#
# The search wrote `run.json` (the configuration) and `trials.jsonl` (one line per trial) while it
# ran. Anyone can load it later — the explorer, `nasnb show`, or pandas:

# %%
run = nasnb.load_run("runs/01_first_search")
frame = run.to_dataframe()
frame[["id", "kind", "accuracy", "params", "seconds", "arch"]].head()

# %%
best_so_far = frame["accuracy"].cummax()
fig, ax = plt.subplots(figsize=(6, 3))
ax.scatter(frame["id"], frame["accuracy"], c=["tab:grey" if k == "init" else "tab:red" for k in frame["kind"]])
ax.plot(frame["id"], best_so_far, drawstyle="steps-post", label="best so far")
ax.set_xlabel("trial"); ax.set_ylabel("validation accuracy"); ax.legend()
print("best:", run.best().arch, round(run.best().metrics["accuracy"], 3))

# %% [markdown]
# ## Exercises
#
# Replace each `...` with your answer and run the check cell below it: it says *correct* or gives a
# hint, never the answer. (Instructors: `docs/course.md` explains how these are graded.)
#
# **1.1** Without calling `neighbors`, how many cells are exactly one mutation away from a cell?
# (6 edges, 5 options each.) Write it as a small calculation.

# %%
from nasnb.grading import check

# %% [answer 1.1]
q11 = ...  # a number
### BEGIN SOLUTION
q11 = 6 * (5 - 1)
### END SOLUTION

# %% [check 1.1]
check("1.1", q11, expect=24, hint="a mutation changes one edge to one of the *other* options of that edge")

# %% [markdown]
# **1.2** How many of the 15,625 cells compute the same network as `a` (from the canonical-key
# cell above)? Count them with their keys.

# %% [answer 1.2]
q12 = ...  # a number
### BEGIN SOLUTION
q12 = sum(c.key == a.key for c in cell_space)
### END SOLUTION

# %% [check 1.2]
check("1.2", q12, expect=65, hint="loop over `cell_space` and count the cells whose `.key` equals `a.key`")

# %% [markdown]
# **1.3** In the first search above, how many trials were proposed by mutating a tournament winner
# (not drawn at random for the initial population)? Read it from the run log's `kind` column.

# %% [answer 1.3]
q13 = ...  # a number
### BEGIN SOLUTION
q13 = int((frame["kind"] != "init").sum())
### END SOLUTION

# %% [check 1.3]
check("1.3", q13, expect=8, hint="budget 14, population 6: count the rows of `frame` whose kind is not 'init'")

# %% [markdown]
# **Try it yourself:** change the seed, the population size or `epochs`, or swap `cell_space` for
# `chain_space`. The next notebooks look at the strategies one by one.
