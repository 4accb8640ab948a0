"""Record the runs an instructor replays in a lecture into notebooks/runs_recorded/ (committed, ~0.5 MB).

Replaying a recorded run needs no training and no waiting, and every student sees the same search:

    from nasnb.widgets import Explorer
    Explorer.from_run("runs_recorded/evolution_table")   # from a notebook in notebooks/

Each run is the one its tutorial makes (same space, strategy, evaluator and seed), so the lecture and
the notebook tell the same story. Two were trained for real (minutes on a laptop), the others look
cells up in the shipped digits table. Rerun after the table or a strategy changes:

    python tools/record_runs.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

from nasnb import CellSpace, Search, get_space
from nasnb.evaluation import TableEvaluator, Trainer
from nasnb.strategies import BayesianStrategy, EvolutionStrategy, NSGA2Strategy

TARGET = Path(__file__).resolve().parents[1] / "notebooks" / "runs_recorded"


def runs(root: Path = TARGET) -> dict[str, Search]:
    """name -> a search writing its log to root/name, as in the tutorial named in the comment."""
    space, table = CellSpace(), TableEvaluator("digits")
    searches = {
        # notebook 01: the first search, real training of 14 cells
        "first_search_trained": Search(
            space,
            EvolutionStrategy(population_size=6, tournament_size=3),
            Trainer(dataset="digits", epochs=3, batch_size=128, lr=0.1, network={"channels": 8}),
            budget=14,
            seed=0,
            run_dir=_fresh(root / "first_search_trained"),
        ),
        # notebook 02: regularised evolution on the table, 200 evaluations
        "evolution_table": Search(
            space,
            EvolutionStrategy(population_size=10, tournament_size=3),
            table,
            budget=200,
            seed=0,
            run_dir=_fresh(root / "evolution_table"),
        ),
        # notebook 04: Bayesian optimisation on the table, 60 evaluations
        "bo_table": Search(
            space, BayesianStrategy(n_initial=10), table, budget=60, seed=0, run_dir=_fresh(root / "bo_table")
        ),
        # notebook 09: NSGA-II on architecture x hyperparameters, 48 real trainings
        "nsga2_joint_trained": Search(
            get_space("cell+hyper"),
            NSGA2Strategy(population_size=12, objectives={"accuracy": "max", "params": "min"}),
            Trainer("digits", epochs=2, network={"channels": 8}, threads=1, device="cpu"),
            budget=48,
            seed=0,
            run_dir=_fresh(root / "nsga2_joint_trained"),
        ),
    }
    return searches


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    return path


if __name__ == "__main__":
    for name, search in runs().items():
        search.run()
        path = TARGET / name
        size = sum(f.stat().st_size for f in path.iterdir()) / 1024
        print(f"{path.relative_to(TARGET.parents[1])}: {len(search.trials)} trials, {size:.0f} KB")
