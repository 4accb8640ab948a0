# %% [markdown]
# # 14 · Scale-out and resume: a search on a cluster that survives being stopped and killed
#
# Real searches run for hours on many machines, and in that time something always goes wrong: the
# notebook is closed, a job is pre-empted, a worker runs out of memory and dies. This notebook starts a
# small **Dask** cluster from the notebook itself, runs a search through it, then breaks the run on
# purpose — a worker is killed in the middle of a trial and the search is stopped half-way — and
# continues it with `resume_search`. The check at the end is strict: the resumed run must equal, trial
# for trial, a run that was never interrupted.
#
# After it you can run a search on a Dask cluster, say why a parallel search can still be exactly
# reproducible, resume a broken run, and explain what the run directory's lock protects you from.

# %%
import logging
import os
import shutil

from distributed import Client, LocalCluster

from nasnb import CellSpace, Search, load_run, resume_search
from nasnb.evaluation import TableEvaluator
from nasnb.runs import RunLocked

shutil.rmtree("runs/14_scale_out", ignore_errors=True)
os.makedirs("runs/14_scale_out")

# %% [markdown]
# ## A cluster in two lines
#
# `LocalCluster` starts a Dask scheduler and worker **processes** on this machine; on a real cluster
# you would connect the same `Client` to a scheduler's address instead (`docs/scale-out.md` shows
# how) and nothing else in this notebook would change. Two workers with one thread each: small
# networks train fastest one per core, and Binder gives us two cores. (`client.dashboard_link` opens
# Dask's live dashboard when `bokeh` is installed; `":0"` lets it take any free port, so two notebooks
# with a cluster each do not collide.)

# %%
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR)
client = Client(cluster)

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(client.nthreads())} workers, {sum(client.nthreads().values())} threads in all")

# %% [markdown]
# ## The reference run: a search through the cluster, never interrupted
#
# `Search(..., executor=client.get_executor())` evaluates through the cluster: it keeps twice as many
# proposals out as the cluster has worker threads (each worker evaluates one and has the next queued,
# so it never waits for the notebook to record a result and ask again). To keep
# the lesson about scale-out rather than training, the evaluator is the benchmark table
# (`TableEvaluator`: a lookup of the 4,975 cells trained on the digits), so 60 evaluations take a few
# seconds; a `Trainer` goes through the cluster the same way.
#
# Results come back in whatever order the workers finish, and they are written to the run log the
# moment they arrive. But the strategy is **told** them in the order it asked for them. What it saw,
# and when, therefore depends only on the settings (seed, budget, how many proposals are out at
# once) and never on which worker was faster: the run is reproducible although it is parallel.

# %%
# NBVAL_CHECK_OUTPUT
table = TableEvaluator("digits")
space = CellSpace()
settings = {"budget": 60, "seed": 0, "executor": client.get_executor()}
reference = Search(space, "evolution", table, run_dir="runs/14_scale_out/reference", **settings).run()
reference.close()
print(f"{len(reference.trials)} trials, {reference.max_pending} evaluations out at a time; "
      f"best validation accuracy {reference.best.metrics['accuracy']:.4f}")

# %% [markdown]
# ## Breaking a run on purpose
#
# The same search again, in another run directory, with two accidents:
#
# 1. **A worker dies mid-trial.** The evaluator below kills its own worker process (`os._exit`, as an
#    out-of-memory kill would) the first time it runs. Dask's nanny starts a fresh worker and the
#    scheduler gives the lost evaluation to a worker that is alive; the search never notices.
# 2. **The search is stopped half-way**, as a closed notebook or a pre-empted job would stop it:
#    after 25 trials have landed, a callback asks it to stop. Evaluations still out are abandoned;
#    they are proposed again on resume.
#
# Dask ships the evaluator to the workers with cloudpickle, so a function defined in a notebook works.

# %%
KILL_SWITCH = os.path.abspath("runs/14_scale_out/kill-one-worker")


def table_with_one_crash(arch):
    """The table's answer, except that the first call kills the worker process it runs in."""
    try:
        os.remove(KILL_SWITCH)  # only one caller can remove the file: exactly one worker dies
    except FileNotFoundError:
        return table(arch)
    os._exit(1)


open(KILL_SWITCH, "w").close()
workers_before = set(client.run(os.getpid).values())
broken = Search(space, "evolution", table_with_one_crash, run_dir="runs/14_scale_out/broken", **settings)
broken.on("trial_finished", lambda trial: broken.stop(wait=False) if len(broken.trials) >= 25 else None)
broken.run()

# %% [markdown]
# How many trials are on disk now depends on how fast the workers were (up to four were out when
# the stop came), so we only check what must hold: the kill switch was used, fewer than 60 trials
# landed and none of them failed — the evaluation the dead worker was running was simply done again
# elsewhere.

# %%
# NBVAL_CHECK_OUTPUT
landed = load_run("runs/14_scale_out/broken").trials
print("a worker was killed:", not os.path.exists(KILL_SWITCH))
print("stopped before the budget:", len(landed) < 60, "| failed trials so far:", sum(not t.ok for t in landed))

# %% [markdown]
# ## One writer at a time
#
# The stopped search still holds its run directory: `broken` has not been closed. A second writer —
# another `Search` here, `nasnb resume` in a terminal, a colleague's notebook on the same file
# system — would interleave its trials with ours and corrupt the log, so the directory is **locked**
# while a search owns it, and a second writer is refused with the holder's name:

# %%
try:
    resume_search("runs/14_scale_out/broken", table, executor=client.get_executor())
except RunLocked as err:
    refusal = err
print(refusal)

# %%
# NBVAL_CHECK_OUTPUT
print(type(refusal).__name__, "| names this kernel's pid:", f"pid {os.getpid()}" in str(refusal))

# %% [markdown]
# The lock is the operating system's (`flock`), taken by the process: it disappears with its holder
# however that holder ends — `close()`, a crash, even `kill -9` — so a dead run never stays locked.
# Readers (`load_run`, `nasnb show`, the explorer) never take it and can watch a live run.
#
# ## Resume
#
# Close the stopped search (that saves a last checkpoint and releases the lock), wait until the
# nanny has replaced the dead worker, and continue the run. `resume_search` rebuilds the search from
# `run.json`, replays the log into the strategy in the order it asked and was told, and proposes
# again whatever was out when the run stopped. The killed worker's crash is over, so we pass the
# plain table as the evaluator; any executor works, even none, because the number of proposals out
# at once is read from the run, not from the machine.

# %%
# NBVAL_CHECK_OUTPUT
broken.close()
client.wait_for_workers(2, timeout=120)
print("the dead worker was replaced:", set(client.run(os.getpid).values()) != workers_before)
resumed = resume_search("runs/14_scale_out/broken", table, executor=client.get_executor()).run()
resumed.close()
print(len(load_run("runs/14_scale_out/broken").trials), "trials on disk after the resume")

# %% [markdown]
# ## Is it the same run?
#
# Compare the two trial logs field by field: each trial's id, architecture, the strategy's recorded
# decision (parents, tournament, mutation), status and metrics. Timings are the only fields left out.

# %%
def same_log(a, b):
    """Whether two run directories hold the same trials (ignoring when and how long they ran)."""
    key = lambda t: (t.id, t.arch, t.decision, t.status, t.metrics)  # noqa: E731
    return sorted(map(key, load_run(a).trials)) == sorted(map(key, load_run(b).trials))


# %%
# NBVAL_CHECK_OUTPUT
print("resumed run equals the uninterrupted one:", same_log("runs/14_scale_out/broken", "runs/14_scale_out/reference"))

# %% [markdown]
# A killed worker, a stop at a moment chosen by timing, a resume in a new `Search`: none of it
# changed a single trial. Three things made that possible, and they are worth looking for in any
# tool you use for long searches:
#
# - **every result is on disk before anyone is told** (`trials.jsonl` is appended and synced per
#   trial), so a crash loses at most the evaluations that were out;
# - **the order of asking and telling is fixed by the settings**, not by which worker was faster;
# - **the strategy's state is rebuilt by replaying the log**, so nothing depends on what was in
#   memory when the run died.
#
# ## Exercises
#
# Replace each `...` and run the check below it: it says *correct* or gives a hint, never the answer.
#
# **14.1** How many evaluations does the search keep out at once? Read it from the run's recorded
# settings, `load_run("runs/14_scale_out/reference").config`, not from the cluster.

# %%
from nasnb.grading import check

# %% [answer 14.1]
q141 = ...  # a number
### BEGIN SOLUTION
q141 = load_run("runs/14_scale_out/reference").config["max_pending"]
### END SOLUTION

# %% [check 14.1]
check("14.1", q141, expect=4, hint="the run's config is a dict; look for the key about proposals kept pending")

# %% [markdown]
# **14.2** The worker count is a setting, not a detail. Run the reference search again on the same
# cluster but with `n_workers=1` and no run directory:
# `Search(space, "evolution", table, budget=60, seed=0, executor=client.get_executor(), n_workers=1).run()`.
# At how many trial ids does its architecture differ from the reference's?

# %% [answer 14.2]
q142 = ...  # a number
### BEGIN SOLUTION
one_at_a_time = Search(space, "evolution", table, budget=60, seed=0, executor=client.get_executor(), n_workers=1).run()
archs = {t.id: t.arch for t in reference.trials}
q142 = sum(t.arch != archs[t.id] for t in one_at_a_time.trials)
### END SOLUTION

# %% [check 14.2]
check("14.2", q142, expect=40, hint="build {trial.id: trial.arch} for both searches and count the ids where they differ")

# %% [markdown]
# **14.3** Resume needs no cluster, and it can extend a finished run. Copy the reference run
# (`shutil.copytree("runs/14_scale_out/reference", "runs/14_scale_out/longer")`) and continue the copy to
# 80 trials **without an executor**: `resume_search("runs/14_scale_out/longer", table, budget=80).run()`.
# Then run a fresh 80-trial search on the cluster, `Search(space, "evolution", table, budget=80, seed=0,
# executor=client.get_executor()).run()`. At how many trial ids do the two differ in architecture? (The resume
# warns that it ignores the copy's checkpoint, because the budget changed, and replays the whole log instead:
# expected, and exact.)

# %% [answer 14.3]
q143 = ...  # a number
### BEGIN SOLUTION
shutil.rmtree("runs/14_scale_out/longer", ignore_errors=True)
shutil.copytree("runs/14_scale_out/reference", "runs/14_scale_out/longer")
longer = resume_search("runs/14_scale_out/longer", table, budget=80).run()
longer.close()
fresh = Search(space, "evolution", table, budget=80, seed=0, executor=client.get_executor()).run()
archs = {t.id: t.arch for t in fresh.trials}
q143 = sum(t.arch != archs[t.id] for t in load_run("runs/14_scale_out/longer").trials)
### END SOLUTION

# %% [check 14.3]
check("14.3", q143, expect=0, hint="compare {trial.id: trial.arch} of load_run('runs/14_scale_out/longer') with the fresh search's")

# %% [markdown]
# **Try it yourself**
#
# - Replace the table by `Trainer("digits", epochs=1, network={"channels": 4})` and watch both workers
#   train (`client.run(os.getpid)` names them; each trial's `seconds` tells how long it took).
# - Kill a worker from outside while a search runs in the background (`search.run(background=True)`,
#   then `client.run(os._exit, 1, workers=[address])`). Does the trial log change?
# - In a terminal, run `nasnb resume` on a run directory a notebook still holds. What does it print?
#
# ## Closing the cluster
#
# A cluster holds processes and ports until it is closed; close it when you are done (shutting the
# kernel down closes it too).

# %%
client.close()
cluster.close()
