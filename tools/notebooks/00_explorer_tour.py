# %% [markdown]
# # 0 · A tour of the explorer: watch, steer and replay a search
#
# A neural architecture search (NAS) proposes a network, trains it, records how it scored, and
# uses what it learned to propose the next one. nasnb's **explorer** shows that loop while it
# runs, in one dashboard:
#
# - **controls**: the search space, the strategy and its parameters, how each proposal is scored,
#   the budget and the seed, and the buttons **Start**, **Pause**, **Step**, **Stop**;
# - **population**: every trial's accuracy against its size, coloured by age, with the strategy's
#   current population ringed and failed trials as red crosses;
# - **best so far**, the **Pareto front** (accuracy against size), the **per-op importance**
#   (which operation on which edge paid off), the **lineage** (who descends from whom);
# - the **detail pane** of one trial: its drawing, metrics, learning curve and *why* the strategy
#   proposed it. Click any point to select that trial.
#
# The search runs in a background thread, so the notebook stays usable while it works.

# %%
import time
from pathlib import Path

from nasnb.evaluation import Trainer, TableEvaluator, load_table
from nasnb.explain import explain_trial
from nasnb.strategies import EvolutionStrategy
from nasnb.widgets import Explorer

# The run is written next to this notebook, in runs/, where the NAS Explorer side panel lists it
# for replay after the notebook has finished; the time in its name keeps every run of the tour.
run_dir = Path("runs") / time.strftime("tour-%Y%m%d-%H%M%S")

# The tabulated benchmark answers instantly (every cell was trained once, ahead of time) when it
# covers every cell; otherwise train for real: two epochs of a small network on 8x8 digits, a
# fraction of a second per architecture.
if load_table("digits").complete:
    evaluator, budget = TableEvaluator("digits"), 60
else:
    evaluator, budget = Trainer("digits", epochs=2, network={"channels": 8}, threads=1), 24
print(evaluator)

# %% [markdown]
# ## Start a search
#
# Aging evolution keeps a population of 6 architectures; each new one is a mutated copy of the
# winner of a small tournament, and the oldest member dies. The explorer records every trial in
# `run_dir`, so we can replay the search afterwards.

# %%
explorer = Explorer(
    space="cell",
    strategy=EvolutionStrategy(population_size=6, tournament_size=3),
    evaluator=evaluator,
    budget=budget,
    seed=0,
    run_dir=run_dir,
)
explorer

# %% [markdown]
# ## Step it
#
# **Step** evaluates one more architecture and pauses. The buttons have Python twins:
# `explorer.step()`, `.start()`, `.pause()`, `.stop()`. They return at once; `wait=True` (or
# `explorer.wait()`) blocks until the search holds still, which a notebook that runs top to
# bottom needs.

# %%
explorer.step(3, wait=True)
explorer.search.to_dataframe()[["id", "kind", "arch", "accuracy", "params"]]

# %%
# NBVAL_CHECK_OUTPUT
print(len(explorer.search.trials), "trials, search", explorer.search.state)

# %% [markdown]
# ## Run, then pause
#
# **Start** runs until the budget is spent; **Pause** holds it after the trial in flight (a Trainer
# even holds within one batch), and Start or Step carry on from there. Here we pause almost at
# once; press the buttons above to try them at your own pace.

# %%
explorer.start()
time.sleep(0.05)
explorer.pause()
explorer.wait()
print(explorer.search.state, "after", len(explorer.search.trials), "trials")

# %% [markdown]
# ## Inspect a trial
#
# Clicking a point selects its trial; `explorer.select(trial_id)` does the same from code. The
# detail pane says why the strategy proposed it: a random initial member, or a mutation of a
# tournament winner, and which edge changed.

# %%
best = explorer.search.best
explorer.select(best.id)
print(f"trial #{best.id}: accuracy {best.metrics['accuracy']:.3f}, {best.metrics['params']} parameters")
print(explain_trial(explorer.search.trials, best.id))

# %% [markdown]
# ## Finish the search, then replay it
#
# A finished run lives on disk. `Explorer.from_run(run_dir)` replays it: drag the slider or press
# play, and every view shows the search as it was after that many trials, with the population
# the strategy had then (rebuilt by replaying the strategy on the recorded trials).

# %%
explorer.start()
explorer.wait()
print(explorer.search.state, "with", len(explorer.search.trials), "trials")

# %%
replay = Explorer.from_run(run_dir)
replay.show_step(20)
replay

# %%
# NBVAL_CHECK_OUTPUT
print("population after 20 trials:", replay.views.population.population_ids)
print("same as the strategy replayed to step 20:",
      replay.views.population.population_ids == replay.run.strategy_at(20).population_ids())

# %% [markdown]
# In JupyterLab, `explorer.dock()` shows the explorer in the **NAS Explorer** side panel, so it
# stays in view while you scroll through the notebook. Open the panel (the NAS button in the
# notebook toolbar): when no explorer is docked it lists this notebook's runs, the tour's
# `runs/tour-...` among them, and **Replay** opens one there.

# %% [markdown]
# ## Exercises
#
# Replace each `...` and run the check below it: it says *correct* or gives a hint, never the answer.
# (If you pressed the buttons yourself, rerun the notebook from the top first: the answers are for
# the search exactly as the cells above run it.)
#
# **0.1** What is the id of the best trial of the finished search?

# %%
from nasnb.grading import check

# %% [answer 0.1]
q01 = ...  # a number
### BEGIN SOLUTION
q01 = explorer.search.best.id
### END SOLUTION

# %% [check 0.1]
check("0.1", q01, expect=58, hint="the search behind the explorer is `explorer.search`; it knows its `best` trial")

# %% [markdown]
# **0.2** That best trial is a mutation. Which edge did the mutation change? (A string such as `"0->1"`;
# the detail pane shows it, and so does the trial's `decision` record.)

# %% [answer 0.2]
q02 = ...  # a string
### BEGIN SOLUTION
q02 = explorer.search.best.decision["change"]["decision"]
### END SOLUTION

# %% [check 0.2]
check("0.2", q02, expect="0->3", hint="`trial.decision['change']` names the decision (edge) that changed")

# %% [markdown]
# **0.3** Replay: how many of the first 20 trials were random members of the initial population
# (kind `"init"`), not children?

# %% [answer 0.3]
q03 = ...  # a number
### BEGIN SOLUTION
q03 = sum(t.decision["kind"] == "init" for t in replay.run.trials[:20])
### END SOLUTION

# %% [check 0.3]
check("0.3", q03, expect=6, hint="the population is filled with random cells before any tournament; count kind == 'init'")
