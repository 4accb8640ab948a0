# %% [markdown]
# # 3 · Reinforcement learning: an agent that builds architectures
#
# The first NAS papers treated *designing a network* as a game. An agent makes the decisions of a
# search space one after another — here the operations on the 6 edges of a cell — and only when
# the architecture is complete does it receive a **reward**: the architecture's validation
# accuracy. Over many such **episodes** it learns which decisions lead to high rewards.
#
# This notebook shows the two classic agents:
#
# - **Q-learning** (MetaQNN, Baker et al. 2017) learns a *value* for every decision,
# - **REINFORCE** (Zoph & Le 2017) learns a *probability* for every decision.
#
# As in notebook 2, the architectures are scored by the tabulated benchmark, so every search runs
# in a fraction of a second and always gives the same numbers.

# %%
import copy
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from nasnb import CellSpace, Search
from nasnb.compare import compare_strategies, plot_regret
from nasnb.evaluation import TableEvaluator, load_table
from nasnb.spaces import plot_architecture
from nasnb.strategies import EvolutionStrategy, QLearningStrategy, ReinforceStrategy

space = CellSpace()
evaluator = TableEvaluator("digits")
table = load_table("digits")
print(table, "| optimum", round(table.optimum(), 4))

# %% [markdown]
# ## An architecture is a walk through decisions
#
# `space.next_decision(partial)` says which decision comes next, given the choices made so far.
# An agent's episode is just this loop:

# %%
partial = {}
rng = np.random.default_rng(0)
while (decision := space.next_decision(partial)) is not None:
    partial[decision.name] = decision.options[rng.integers(len(decision.options))]
    print(f"state: {len(partial) - 1} edges chosen -> action: edge {decision.name} = {partial[decision.name]}")
arch = space.validate(partial)
print("reward (validation accuracy):", evaluator(arch)["accuracy"])

# %% [markdown]
# ## Q-learning
#
# Q-learning keeps a table of values Q(s, a): how much reward we expect if we take action `a` in
# state `s` and act well afterwards. We start with MetaQNN's own design (`credit="final"`,
# `state="previous"`): the **state** is the edge we are choosing for plus the operation chosen on
# the previous edge (as MetaQNN does for layers), the **actions** are the five operations. After each episode every step of the walk is updated, from the last one back to the
# first, with the rule
#
# $$Q(s,a) \leftarrow Q(s,a) + \alpha\,\big[\,r + \gamma \max_{a'} Q(s',a') - Q(s,a)\,\big]$$
#
# - α (`learning_rate`) is how far each update moves the value toward its target,
# - r is the reward, which only the *last* step receives (all earlier steps get r = 0),
# - γ (`discount`) weighs the future; the max term is the best value available in the next state
#   s′ (and 0 after the last step).
#
# So the last edge learns directly from the accuracy, and each earlier edge learns from the best
# value of the edge after it.
#
# ### Checking one update by hand
#
# To see a single update in isolation we switch off *experience replay* (more on it below) and keep
# a copy of the Q-table whenever a trial starts, using the search's `trial_started` event.

# %%
agent = QLearningStrategy(learning_rate=0.3, credit="final", state="previous", discount=1.0, replay_size=0)
search = Search(space, agent, evaluator, budget=10, seed=0)
before = {}
search.on("trial_started", lambda info: before.update(q=copy.deepcopy(agent.q_)))
search.run()
trial = search.trials[-1]
print("last episode:", trial.arch, "reward", trial.score())

# %% [markdown]
# Its decision record lists, for every edge, the state, the Q-values the agent saw and what it
# chose. Now we apply the formula ourselves, backwards along the walk, starting from the Q-table as
# it was before this trial (unseen pairs are worth `q_init` = 0.5), and compare with the agent's
# table after it learned from the trial:

# %%
# NBVAL_CHECK_OUTPUT
alpha, gamma, r = agent.learning_rate, agent.discount, trial.score()
steps = trial.decision["choices"]
updated = {}  # the values this backward pass has already changed


def q_before(state, action):
    return updated.get((state, action), before["q"].get(state, {}).get(action, agent.q_init))


print(f"{'edge':5} {'action':13} {'old Q':>6} {'target':>7} {'new (by hand)':>14} {'new (agent)':>12}")
for t in reversed(range(len(steps))):
    s, a = steps[t]["state"], steps[t]["chosen"]
    if t == len(steps) - 1:
        target = r  # the last step gets the reward, and there is no future
    else:
        nxt = steps[t + 1]
        target = 0.0 + gamma * max(q_before(nxt["state"], o) for o in nxt["options"])  # r = 0 here
    old = q_before(s, a)
    new = old + alpha * (target - old)
    updated[(s, a)] = new
    print(f"{steps[t]['decision']:5} {a:13} {old:6.4f} {target:7.4f} {new:14.4f} {agent.q_value(s, a):12.4f}")
    assert abs(new - agent.q_value(s, a)) < 1e-12

# %% [markdown]
# The numbers agree. Notice how the reward travels: the last edge moves 30 % (α) of the way toward
# the accuracy; the edge before it moves 30 % of the way toward the *best value of the next state*,
# which has only just begun to move, and so on. One episode barely changes the early edges: the news
# of a reward needs many updates to travel back. **Experience replay** (`replay_size`, on by default)
# re-applies the update to a sample of past episodes after every trial, so the values propagate back
# much faster without a single extra evaluation.
#
# ## ε-greedy exploration
#
# At each edge the agent takes the action with the highest Q-value (*greedy*) or, with probability
# ε, a random one (*explore*). ε starts at 1 — the first episodes are pure random search that maps
# the space — and decays, so later episodes exploit what was learned. MetaQNN used a schedule of
# steps; here is one in nasnb's format, `(number of trials, ε)`:

# %%
schedule = [(40, 1.0), (20, 0.7), (20, 0.5), (20, 0.3), (50, 0.1)]
metaqnn = dict(credit="final", state="previous", discount=1.0)  # MetaQNN's design, as above
agent = QLearningStrategy(epsilon_schedule=schedule, **metaqnn)
search = Search(space, agent, evaluator, budget=150, seed=0)
history = []  # a copy of the Q-table after every trial
search.on("trial_finished", lambda trial: history.append(copy.deepcopy(agent.q_)))
search.run()
print(search)

# %%
frame = search.to_dataframe()
greedy = [np.mean([c["greedy"] for c in t.decision["choices"]]) for t in search.trials]
fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 4.5), sharex=True)
ax1.plot([agent.epsilon(n) for n in range(len(search.trials))], label="ε (schedule)")
ax1.plot(pd.Series(greedy).rolling(10, min_periods=1).mean(), label="share of greedy choices (last 10 trials)")
ax1.legend(fontsize=8)
ax2.scatter(frame["id"], frame["accuracy"], s=8, c="tab:grey")
ax2.plot(frame["id"], frame["accuracy"].rolling(10, min_periods=1).mean(), c="tab:red", label="mean of last 10")
ax2.set_xlabel("trial"); ax2.set_ylabel("reward (accuracy)"); ax2.set_ylim(0.5, 1.0); ax2.legend(fontsize=8);

# %% [markdown]
# As ε falls, more choices are greedy, and the cells get a little better on average — the agent has
# learned something:

# %%
# NBVAL_CHECK_OUTPUT
frame["epsilon"] = [t.decision["epsilon"] for t in search.trials]
print(frame.groupby("epsilon", sort=False)["accuracy"].agg(["count", "mean", "min"]).round(4))

# %% [markdown]
# (When an episode builds a cell the agent has already evaluated, nasnb does as MetaQNN did: it
# reuses the known reward for an update and builds another one; see `decision["relearned"]`.)
#
# ### Watching the Q-values of one edge
#
# We kept a copy of the Q-table after every trial. Which row of the **last edge** `2->3` did the
# agent visit most? (A row is a state: the edge plus the operation chosen on the edge before it.)

# %%
# NBVAL_CHECK_OUTPUT
visits = Counter(c["state"] for t in search.trials for c in t.decision["choices"])
last_state = max((s for s in visits if s.startswith("2->3")), key=visits.get)
print(f"'{last_state}': {visits[last_state]} of {len(search.trials)} episodes")

# %% [markdown]
# Here are the values of its five operations over the search (left), next to those of the **first**
# edge `0->1`, whose only state is the start (right):

# %%
def q_curves(state):
    return {op: [q.get(state, {}).get(op, agent.q_init) for q in history] for op in space.choices["0->1"]}


fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), sharey=True)
for ax, state in zip(axes, [last_state, "0->1 | start"]):
    for op, values in q_curves(state).items():
        ax.plot(values, label=op)
    ax.set_title(f"Q(state = '{state}', action)", fontsize=9)
    ax.set_xlabel("trial")
axes[0].set_ylabel("Q-value"); axes[0].legend(fontsize=8); axes[0].set_ylim(0.4, 1.0);

# %% [markdown]
# On the left, each value jumps from `q_init` = 0.5 the first time its action is tried in this state,
# then follows the rewards that action brings. Look at `conv_1x1`: it was not tried until very late.
# Once the tried actions were worth about 0.95, an untried one at 0.5 could never win a greedy
# choice; only the ε-random choices reach it. `q_init` is a lever for exploration too.
#
# On the right, the first edge tells a different story: the five values end up almost identical.
# This is not a bug but a known weakness, *state aliasing*. Our state only remembers the previous
# edge, so it cannot tell apart partial cells that differ earlier, yet the reward depends on all six
# edges at once. Work the update backwards: the last edge learns from the rewards; the edge before it
# learns the best value in the last edge's row, which does depend on its own choice (that choice
# names the row). One step further back, though, the row two steps ahead no longer remembers the
# choice, so the target — "the best value still reachable" — is the same whatever was chosen. At the
# update's fixed point every action of the first four edges has the same value; only the last two
# edges are learned for good, the early ones only through the transients of learning (the small
# differences before the curves merge).

# %%
# NBVAL_CHECK_OUTPUT
first = {op: round(v[-1], 4) for op, v in q_curves("0->1 | start").items()}
last = {op: round(v[-1], 4) for op, v in q_curves(last_state).items()}
print("edge 0->1, spread of Q-values:", round(max(first.values()) - min(first.values()), 4), first)
print("edge 2->3, spread of Q-values:", round(max(last.values()) - min(last.values()), 4), last)

# %% [markdown]
# `QLearningStrategy(state="prefix")` remembers the whole partial cell instead, which makes the
# problem a proper Markov decision process — at the price of a table that grows with every new
# prefix, so each row is visited rarely:

# %%
# NBVAL_CHECK_OUTPUT
prefix = QLearningStrategy(epsilon_schedule=schedule, **{**metaqnn, "state": "prefix"})
Search(space, prefix, evaluator, budget=150, seed=0).run()
print("Q-table rows with state='previous':", len(agent.q_))
print("Q-table rows with state='prefix':  ", len(prefix.q_))

# %% [markdown]
# ### Fixing the credit: reward every decision
#
# The trouble is not the update rule but *who gets the reward*. A cell's accuracy is close to a sum
# of per-edge effects (a good operation on edge `0->1` helps whatever the other edges do), so every
# decision deserves the reward directly. nasnb's default Q-learning (`credit="each"`) gives each
# step the architecture's accuracy as its reward, r_t = r, and uses γ = 0: the *same* update with
# target r. Q(edge, op) then becomes a running average of the accuracy of the cells that chose `op`
# on that edge, and the state is simply the edge (`state="position"`): no aliasing is left, because
# nothing but the edge's own choice is asked of each row.

# %%
# NBVAL_CHECK_OUTPUT
fixed = QLearningStrategy(epsilon_schedule=schedule)  # credit="each", state="position", discount=0
fixed_history = []
fixed_search = Search(space, fixed, evaluator, budget=150, seed=0)
fixed_search.on("trial_finished", lambda trial: fixed_history.append(copy.deepcopy(fixed.q_)))
fixed_search.run()
spread = {op: round(fixed.q_value("0->1", op), 4) for op in space.choices["0->1"]}
print("edge 0->1 with per-decision credit, spread of Q-values:", round(max(spread.values()) - min(spread.values()), 4), spread)

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
for op in space.choices["0->1"]:
    ax.plot([q.get("0->1", {}).get(op, fixed.q_init) for q in fixed_history], label=op)
ax.set_title("Q(edge 0->1, action) with credit='each': the first edge is learned too", fontsize=9)
ax.set_xlabel("trial"); ax.set_ylabel("Q-value"); ax.set_ylim(0.4, 1.0)
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5));

# %% [markdown]
# The four operations that pass information separate and `conv_3x3` ends on top. `none` jumps about:
# cutting edge `0->1` costs little when other edges still carry the input to the output and
# everything when they do not, so its rewards range from chance to the best, and a running average
# with α = 0.3 follows the last few of them. A Q-value is only as steady as the rewards behind it.

# %% [markdown]
# ## REINFORCE: learning probabilities instead of values
#
# A **policy** gives, for every edge, a probability for each operation (a softmax of learnable
# numbers called *logits*). Each episode samples a cell from the policy. After its reward r, the
# log-probability of every choice made is pushed up in proportion to the **advantage** r − b:
#
# $$\theta \leftarrow \theta + \eta\,(r - b)\,\nabla_\theta \log \pi_\theta(\text{cell})$$
#
# The **baseline** b is a moving average of past rewards. Without it every positive reward (all
# accuracies are positive!) would make the sampled choices likelier; with it only *better than
# usual* does, and worse than usual makes them less likely. (nasnb also divides the advantage by a
# running average of its size, so one learning rate suits rewards that differ by 0.3 or by 0.003, and
# adds a small bonus for uncertainty — *entropy* — so the policy does not commit too early.)

# %%
policy = ReinforceStrategy(learning_rate=0.3, baseline_decay=0.9)
search = Search(space, policy, evaluator, budget=150, seed=0)
search.run()
print(search)
print("policy at the first edge now:", {op: round(p, 3) for op, p in policy.probabilities().items()})

# %% [markdown]
# `policy.probabilities(partial)` gives the policy at the next decision after a partial cell. Taking
# the most likely operation at every edge shows the cell the policy now favours:

# %%
# NBVAL_CHECK_OUTPUT
favourite = {}
while (decision := space.next_decision(favourite)) is not None:
    probs = policy.probabilities(favourite)
    favourite[decision.name] = max(probs, key=probs.get)
favourite = space.validate(favourite)
print(favourite, "accuracy", round(evaluator(favourite)["accuracy"], 4), "| table optimum", round(table.optimum(), 4))

# %%
plot_architecture(favourite);

# %% [markdown]
# Every decision record keeps the probabilities the policy had when it sampled, so we can replay
# how they moved. Here are the two edges into the output node from node 1 and node 2:

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), sharey=True)
for ax, edge in zip(axes, ["1->3", "2->3"]):
    i = next(k for k, c in enumerate(search.trials[0].decision["choices"]) if c["decision"] == edge)
    probs = np.array([t.decision["choices"][i]["probs"] for t in search.trials])
    ax.stackplot(np.arange(len(probs)), probs.T, labels=space.choices[edge])
    ax.set_title(f"policy on edge {edge}", fontsize=9); ax.set_xlabel("trial"); ax.set_xlim(0, len(probs) - 1)
axes[0].set_ylabel("probability"); axes[1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5));

# %% [markdown]
# The policy slowly concentrates on the operations that came with good rewards. The baseline is what
# the policy compared each reward with:

# %%
rewards = np.array([t.score() if t.ok else np.nan for t in search.trials])
baseline = np.array([t.decision["baseline"] if t.decision["baseline"] is not None else np.nan
                     for t in search.trials])
above, below = rewards > baseline, rewards < baseline  # failed trials (NaN) are neither
fig, ax = plt.subplots(figsize=(7, 3))
ax.scatter(np.flatnonzero(above), rewards[above], s=10, c="tab:green", label="r > b: choices reinforced")
ax.scatter(np.flatnonzero(below), rewards[below], s=10, c="tab:red", label="r < b: choices discouraged")
ax.plot(baseline, c="k", label="baseline b")
ax.set_xlabel("trial"); ax.set_ylabel("reward"); ax.set_ylim(0.5, 1.0); ax.legend(fontsize=8);

# %% [markdown]
# ## Which agent searches best here?
#
# Over 10 seeds, against random search and the regularised evolution of notebook 2:

# %%
comparison = compare_strategies(
    space,
    {"random": "random",
     "evolution": EvolutionStrategy(population_size=20, tournament_size=5),
     "Q-learning (MetaQNN)": QLearningStrategy(epsilon_schedule=schedule, **metaqnn),
     "Q-learning": QLearningStrategy(epsilon_schedule=schedule),
     "REINFORCE": ReinforceStrategy()},
    evaluator, seeds=10, budget=150, optimum=table.optimum(),
)
plot_regret(comparison, log=True);

# %%
# NBVAL_CHECK_OUTPUT
print(comparison.summary().round(4).to_string(index=False))

# %% [markdown]
# Ten seeds per strategy, paired by seed: is any difference more than luck? As in notebook 2, each
# search is summarised by its mean regret over the 150 evaluations, and a paired Wilcoxon test
# compares two strategies seed by seed.

# %%
# NBVAL_CHECK_OUTPUT
from scipy.stats import wilcoxon

area = {name: curves.mean(axis=1) for name, curves in comparison.regret.items()}
pairs = [("evolution", "random"), ("REINFORCE", "random"), ("Q-learning (MetaQNN)", "random"),
         ("Q-learning", "random"), ("REINFORCE", "evolution")]
for a, b in pairs:
    print(f"{a:20s} vs {b:9s}: lower regret on {int(np.sum(area[a] < area[b])):2d} of 10 seeds, "
          f"p = {wilcoxon(area[a], area[b]).pvalue:.3f}")

# %% [markdown]
# On these seeds REINFORCE beats random search (p < 0.01) and evolution (p ≈ 0.01). Evolution's
# lead over random is not significant here (p ≈ 0.1). MetaQNN's Q-learning is no better than random
# search (p = 1.0): its aliased states cost it. With per-decision credit, Q-learning ends at about
# half of random's final regret (0.49×), but over the whole search its lead is not yet significant on
# ten seeds (p ≈ 0.13). More seeds settle it: on seeds 10–29 it reaches 0.48× random (exercise 3.2),
# and over 20 seeds × 100 evaluations on the benchmark table `benchmarks/bench_peers.py` measured
# 0.48–0.61× on three disjoint seed sets, each with p < 0.002, where MetaQNN's design stayed at
# 0.9× (p ≈ 0.12). Reinforcement learning made NAS famous; Real et al. (2019) found evolution ahead of
# RL at a far larger scale, while here REINFORCE with its baseline does well at 150 episodes. Check
# such claims on your own problem and seeds — and notice how much a design choice that looks like a
# detail (who receives the reward) decided the result.
#
# ## Exercises
#
# Replace each `...` and run the check below it: it says *correct* or gives a hint, never the answer.
#
# **3.1** A Q-value is 0.5 (`q_init`). The agent takes that action on the **last** edge and the cell
# earns reward 0.9. What is the Q-value after one update with learning rate 0.3? (On the last edge
# there is no next state, so the target is the reward itself.)

# %%
from nasnb.grading import check

# %% [answer 3.1]
q31 = ...  # a number
### BEGIN SOLUTION
q31 = 0.5 + 0.3 * (0.9 - 0.5)
### END SOLUTION

# %% [check 3.1]
check("3.1", q31, expect=0.62, decimals=3, hint="Q <- Q + learning_rate * (target - Q)")

# %% [markdown]
# **3.2 (re-seed)** Compare `random` and `QLearningStrategy(epsilon_schedule=schedule)` on
# `seeds=range(10, 30)`, budget 150. What is Q-learning's `regret_ratio` against random after 150
# evaluations (2 decimals)?

# %% [answer 3.2]
q32 = ...  # a number
### BEGIN SOLUTION
from nasnb.compare import regret_ratio

reseeded = compare_strategies(space, {"random": "random", "Q-learning": QLearningStrategy(epsilon_schedule=schedule)},
                              evaluator, seeds=range(10, 30), budget=150, optimum=table.optimum())
q32 = regret_ratio(reseeded, "random", at=150)["Q-learning"]
### END SOLUTION

# %% [check 3.2]
check("3.2", q32, expect=0.48, decimals=2, hint="`regret_ratio(comparison, 'random', at=150)`; seeds=range(10, 30)")

# %% [markdown]
# **3.3** In the 10-seed comparison above, on how many seeds did REINFORCE reach a lower mean regret
# than evolution? (Use `area`.)

# %% [answer 3.3]
q33 = ...  # a number
### BEGIN SOLUTION
q33 = int(np.sum(area["REINFORCE"] < area["evolution"]))
### END SOLUTION

# %% [check 3.3]
check("3.3", q33, expect=8, hint="compare the two arrays element by element and count the seeds where REINFORCE is lower")

# %% [markdown]
# **Try it yourself**
#
# - Set `replay_size=0` in the main Q-learning run: how much slower do the values propagate?
# - Change `discount` to 0.9: what happens to the Q-values of the first edges?
# - Set `q_init=1.0` (above any accuracy): how does that change which actions get tried?
# - Give REINFORCE `baseline_decay=0.0` (the baseline is then just the previous reward) or
#   `entropy_weight=0.1`: does the policy settle faster or slower?
# - Add `"Q-learning (prefix)": QLearningStrategy(epsilon_schedule=schedule, **{**metaqnn, "state": "prefix"})`
#   to the comparison.
# - Give the per-decision agent `state="previous"`: does knowing the previous edge's operation help it?
