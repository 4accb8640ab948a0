"""How repeatable is the table's ranking? The ceiling for any proxy and the floor for any regret.

The shipped table trains every cell once. Retraining a random sample of cells with another seed
(model initialisation, shuffling and the train/validation split all change) and ranking them
again tells how much of the table's order is signal: no zero-cost proxy can be expected to agree
with the table much better than the table agrees with itself, and a search's regret against the
table's single best cell includes that cell's luck. Printed side by side on the same sample:
Spearman's rho of the table against its retrained copy, of the table's validation against its own
test accuracy (same training, other images), and of parameter count against the table.

    python benchmarks/bench_table_noise.py [--cells 300] [--seed 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import get_context

import numpy as np
from scipy.stats import spearmanr

_TRAINER = None


def _init_worker(dataset: str, seed: int) -> None:
    import torch

    torch.set_num_threads(1)
    global _TRAINER
    from nasnb.evaluation import Trainer
    from nasnb.evaluation.recipes import recipe

    _TRAINER = Trainer(**{**recipe(dataset), "seed": seed})


def _retrain(text: str) -> float:
    from nasnb.spaces import CellSpace

    try:
        return float(_TRAINER(CellSpace().parse(text))["accuracy"])
    except Exception:  # a diverged cell ranks last, as in the table
        return float("nan")


def rho(a: np.ndarray, b: np.ndarray) -> float:
    keep = ~(np.isnan(a) | np.isnan(b))
    return float(spearmanr(a[keep], b[keep])[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--cells", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1, help="training seed of the retrained copy (the table's is 0)")
    parser.add_argument("--sample-seed", type=int, default=0, help="which cells are drawn")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from tqdm import tqdm

    from nasnb.evaluation.table import load_table

    frame = load_table(args.dataset).frame()
    frame = frame[frame["status"] == "ok"]
    sample = frame.sample(n=min(args.cells, len(frame)), random_state=args.sample_seed)
    t0 = time.perf_counter()
    with get_context("spawn").Pool(args.workers, initializer=_init_worker, initargs=(args.dataset, args.seed)) as pool:
        again = np.array(
            list(
                tqdm(pool.imap(_retrain, sample["arch"], chunksize=4), total=len(sample), unit="cell", file=sys.stderr)
            )
        )
    seconds = time.perf_counter() - t0

    val = sample["val_accuracy"].to_numpy(float)
    test = sample["test_accuracy"].to_numpy(float)
    params = sample["params"].to_numpy(float)
    top = val >= np.median(val)
    print(
        f"{len(sample)} cells of the {args.dataset!r} table retrained with seed {args.seed} in {seconds:.0f} s "
        f"({args.workers} workers)"
    )
    print(f"{'Spearman rho of the table (seed 0) with':<48}{'all':>8}{'top half':>10}")
    for label, other in (
        (f"its retrained copy (seed {args.seed})", again),
        ("its own test accuracy (same training)", test),
        ("parameter count", params),
    ):
        print(f"  {label:<46}{rho(val, other):8.3f}{rho(val[top], other[top]):10.3f}")
    best = int(np.nanargmax(val))
    print(
        f"the sample's best cell: {val[best]:.3f} in the table, {again[best]:.3f} retrained "
        f"(mean |change| over the sample {np.nanmean(np.abs(val - again)):.3f})"
    )


if __name__ == "__main__":
    main()
