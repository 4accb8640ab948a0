# %% [markdown]
# # 16 · Training a population at once
#
# A search trains many small networks. Trained one after another, each training step of each
# network is a long list of small operations (a convolution here, a BatchNorm there), and for the
# networks a course uses, much of the time goes into *starting* those operations rather than into
# arithmetic.
#
# `PopulationTrainer` trains **K candidate networks as one network**. Their weights are stacked side
# by side: candidate *k* owns channels *k·C … (k+1)·C* of every activation, so one *grouped*
# convolution computes all K convolutions at once and nothing leaks from one candidate into
# another. Cells may pick a different operation on every edge: on each edge the candidates are
# grouped by the operation they chose, and each group is computed in one call.
#
# Each candidate still keeps **its own** initial weights, data order, learning rate and optimiser
# state, so it ends where a separate `Trainer` run would have ended. This notebook shows that, then
# watches eight candidates learn side by side.

# %%
import time

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import torch
from IPython.display import display

from nasnb import CellSpace, Search
from nasnb.evaluation import PopulationTrainer, Trainer
from nasnb.grading import check
from nasnb.nn import live_edges
from nasnb.spaces import ChainSpace, HyperSpace, ProductSpace

torch.set_num_threads(1)
RECIPE = {"dataset": "digits", "epochs": 3, "batch_size": 128, "lr": 0.1, "network": {"channels": 8}, "device": "cpu"}

# %% [markdown]
# ## Eight candidates, one training run
#
# `evaluate_batch(archs)` takes a list of architectures and returns one metrics mapping per
# architecture — the same mapping `Trainer(arch)` returns. `on_epoch` is called after every epoch
# with each candidate's validation accuracy, so we can draw the population while it learns. Run the
# cell and watch the lines grow.

# %%
space = CellSpace()
archs = [space.sample(seed) for seed in range(8)]

x_sc, y_sc = bq.LinearScale(min=0, max=RECIPE["epochs"]), bq.LinearScale(min=0, max=1)
lines = bq.Lines(x=[[0]] * 8, y=[[0.1]] * 8, scales={"x": x_sc, "y": y_sc}, colors=list(bq.CATEGORY10[:8]))
figure = bq.Figure(
    marks=[lines],
    axes=[
        bq.Axis(scale=x_sc, label="epoch", tick_format="d", num_ticks=RECIPE["epochs"] + 1),
        bq.Axis(scale=y_sc, orientation="vertical", label="val accuracy"),
    ],
    title="8 candidates training together",
    layout=widgets.Layout(width="560px", height="320px"),
)
display(figure)
history = [[0.1] for _ in archs]  # chance level before training


def show(progress):
    for i, acc in zip(progress["indices"], progress["val_accuracy"]):
        history[i].append(acc if acc is not None else np.nan)
    lines.x = [list(range(len(h))) for h in history]
    lines.y = history
    best = max(a for a in progress["val_accuracy"] if a is not None)
    print(f"epoch {progress['epoch']}/{progress['epochs']}: best val accuracy {best:.3f}", flush=True)


population = PopulationTrainer(**RECIPE, keep_model=True)
start = time.perf_counter()
results = population.evaluate_batch(archs, on_epoch=show)
together = time.perf_counter() - start
print(f"trained {len(archs)} candidates together in {together:.1f} s")

# %% [markdown]
# Each result is an ordinary metrics mapping; the curves are per candidate:

# %%
for arch, result in zip(archs, results):
    print(f"{result['accuracy']:.3f}  {result['params']:>6} params   {arch}")

# %% [markdown]
# ## Is it really the same training?
#
# Train the first two candidates again, one at a time, with the plain `Trainer` and the same seed,
# and compare the final weights. They agree to rounding: a grouped convolution adds up its products
# in a different order than a single one, so the last digits of a float can differ, and training
# can grow such a difference a little — but the recipe is the same, step for step.

# %%
single = Trainer(**RECIPE, keep_model=True)
gaps, acc_gaps = [], []
start = time.perf_counter()
for i in range(2):
    alone = single(archs[i])
    mine, theirs = population.last_models_[i].state_dict(), single.last_model_.state_dict()
    gaps.append(max((mine[k].double() - theirs[k].double()).abs().max().item() for k in mine))
    acc_gaps.append(abs(alone["accuracy"] - results[i]["accuracy"]))
one_at_a_time = (time.perf_counter() - start) / 2 * len(archs)
print(f"largest weight difference: {max(gaps):.1e}; largest accuracy difference: {max(acc_gaps):.3f}")
print(f"one at a time, 8 candidates would take about {one_at_a_time:.1f} s (together: {together:.1f} s)")

# %%
# NBVAL_CHECK_OUTPUT
print("weights agree to 1e-2:", max(gaps) < 1e-2)
print("accuracies agree to 2 points:", max(acc_gaps) <= 0.02)

# %% [markdown]
# How much faster is it? Compare the two times printed above — and be prepared for a surprise. On a
# CPU, not much: `benchmarks/bench_population.py` measured about 1.1–1.7× more candidates per hour
# on these 8×8 digits (more for larger batches of candidates), and on 28×28 Fashion-MNIST the batch
# was even *slower* than one network at a time. A grouped convolution still does every candidate's
# multiplications, and on a CPU those, not the overhead of starting an operation, dominate; K
# candidates' activations also stop fitting in the processor's cache once images grow. Batching
# pays where one small network leaves most of the hardware idle: on a GPU.
#
# ## One candidate diverges, the others finish
#
# A learning rate of 100 makes any network's loss explode. Below, three chains share a batch;
# the middle one gets that learning rate (a `HyperSpace` part lets every candidate have its own).
# It fails with the same message `Trainer` would raise, at the same step, and the other two train
# on as if nothing happened: from the step it failed, the broken candidate is left out of the loss
# and its weights are set to zero, so it can never spread NaN into its neighbours.

# %%
mixed = ProductSpace(arch=ChainSpace(), hp=HyperSpace(lr=(0.1, 100.0)))
chain = dict(ChainSpace().parse("fc64-relu > fc64-relu"))
calm = mixed.complete({**chain, "lr": 0.1, "batch_size": 64, "weight_decay": 0.0, "dropout": 0.0})
wild = calm.replace({"lr": 100.0})
batch = PopulationTrainer(dataset="digits", epochs=1, device="cpu")
outcome = batch.evaluate_batch([calm, wild, calm], seeds=[0, 0, 1])
for name, result in zip(["calm (seed 0)", "wild", "calm (seed 1)"], outcome):
    text = result["error"] if "error" in result else f"accuracy {result['accuracy']:.3f}"
    print(f"{name:>14}: {text}")

# %%
# NBVAL_CHECK_OUTPUT
calm_finished = all("accuracy" in outcome[i] for i in (0, 2))
print("the wild one failed:", "error" in outcome[1], "| the calm ones finished:", calm_finished)

# %% [markdown]
# ## Inside a search
#
# `Search` evaluates several proposals at once through an *executor* (the same hook a Dask
# cluster uses). `population.executor(4)` keeps four proposals in flight and trains them as one
# batch; the run log records each trial exactly as a one-at-a-time `Trainer` would, and even names
# the evaluator `trainer` with the same settings, so `nasnb resume` can continue the run either way.

# %%
quick = PopulationTrainer(dataset="digits", epochs=1, batch_size=128, lr=0.1, network={"channels": 8}, device="cpu")
with quick.executor(4) as executor:
    search = Search(CellSpace(), "random", quick, budget=8, seed=0, executor=executor).run()
print(search.to_dataframe()[["arch", "accuracy"]].round(3).to_string())

# %%
# NBVAL_CHECK_OUTPUT
print(len(search.trials), "trials, all ok:", all(t.ok for t in search.trials))

# %% [markdown]
# ## Exercises
#
# Each check cell says **correct** or **not yet: …** with a hint. Replace the `...` and run the
# check again.
#
# **16.1** Dead edges cost nothing: a cell edge whose output can never reach the cell's output is
# not computed and has no weights (`nasnb.nn.live_edges(arch)` lists the edges that are). How many
# of the eight candidates above have exactly **one** live edge?

# %% [answer 16.1]
q161 = ...  # a number
### BEGIN SOLUTION
q161 = sum(len(live_edges(dict(arch))) == 1 for arch in archs)
### END SOLUTION

# %% [check 16.1]
check("16.1", q161, expect=2, hint="count the archs for which len(live_edges(dict(arch))) == 1")

# %% [markdown]
# **16.2** At which training step did the wild candidate diverge? Read it from its error message
# in `outcome` (a `Trainer` run alone would raise at the very same step).

# %% [answer 16.2]
q162 = ...  # a number
### BEGIN SOLUTION
q162 = int(outcome[1]["error"].split("step ")[1].split()[0])
### END SOLUTION

# %% [check 16.2]
check("16.2", q162, expect=12, hint="print(outcome[1]['error']) and find the number after 'step'")

# %% [markdown]
# **16.3** Ask for a batch of no architectures at all: `PopulationTrainer().evaluate_batch([])`.
# Catch the error: what is its type's name (`type(err).__name__`)? Read its message too — it names
# the problem.

# %% [answer 16.3]
q163 = ...  # a str
### BEGIN SOLUTION
try:
    PopulationTrainer().evaluate_batch([])
except Exception as err:
    q163 = type(err).__name__
### END SOLUTION

# %% [check 16.3]
check("16.3", q163, expect="ValueError", hint="wrap the call in try/except Exception as err")

# %% [markdown]
# **Try it yourself:** train `archs[0]` three times in one batch with `seeds=[0, 1, 2]` — that is
# how a multi-seed benchmark table gets its error bars cheaply — or time `evaluate_batch` against a
# loop of `Trainer` calls for 2, 4 and 8 candidates on your own machine.
