"""Which training recipe makes a table whose ranking repeats? Seed-to-seed rank correlation per recipe.

A benchmark table is only worth teaching from if training a cell again ranks it the same way. This
trains a stratified sample of cells (equal numbers from each tenth of the original table's
accuracy range, so the top is represented as well as the bottom) with each candidate recipe and
two training seeds (the data split fixed, as in the table), and prints per recipe: Spearman's rho
between the seeds over all sampled cells and over the better half, the mean |difference| of
validation accuracy between seeds, the spread of accuracies, and the training seconds per cell
(measured side by side in one run, so the ratios hold under load even if the seconds do not).

    python benchmarks/bench_recipes.py [--cells 80] [--workers 2] [--recipes A,B,C,D]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from nasnb.evaluation.recipes import recipe

BASE = recipe("digits")  # candidate A is the shipped table's recipe itself
CANDIDATES = {
    "A": ("original: 8 ch, batch 128, lr 0.1, 6 ep", {}),
    "B": ("8 ch, batch 32, lr 0.05, 6 ep", {"batch_size": 32, "lr": 0.05}),
    "C": (
        "16 ch, batch 64, lr 0.05, 6 ep",
        {"batch_size": 64, "lr": 0.05, "network": {**BASE["network"], "channels": 16}},
    ),
    "D": ("8 ch, batch 64, lr 0.05, 10 ep", {"batch_size": 64, "lr": 0.05, "epochs": 10}),
    "E": ("8 ch, batch 32, lr 0.05, 10 ep", {"batch_size": 32, "lr": 0.05, "epochs": 10}),
}


def _job(item: tuple[str, str, int]) -> tuple[str, str, int, float, float]:
    import torch

    torch.set_num_threads(1)
    from nasnb.evaluation.recipes import train_cell
    from nasnb.spaces import CellSpace

    name, text, seed = item
    try:
        out = train_cell(CellSpace().parse(text), {**BASE, **CANDIDATES[name][1]}, seed)
        return name, text, seed, float(out["curves"]["val_accuracy"][-1]), float(out["train_seconds"])
    except Exception:  # a diverged cell ranks last
        return name, text, seed, float("nan"), float("nan")


def stratified_sample(n: int, seed: int = 0) -> list[str]:
    """``n`` cells, equal numbers from each decile of the original table's validation accuracy."""
    from nasnb.evaluation.table import load_table

    frame = load_table("digits").frame()
    frame = frame[frame["status"] == "ok"].copy()
    frame["decile"] = np.minimum((frame["val_accuracy"].rank(pct=True) * 10).astype(int), 9)
    per = max(1, n // 10)
    return [str(a) for _, g in frame.groupby("decile") for a in g.sample(n=per, random_state=seed)["arch"]]


def rho(a: np.ndarray, b: np.ndarray) -> float:
    keep = ~(np.isnan(a) | np.isnan(b))
    return float(spearmanr(a[keep], b[keep])[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=80)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--recipes", default="A,B,C,D")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--log", default=None, help="append each result as a JSON line here; a rerun resumes from it")
    parser.add_argument("--summarise", action="store_true", help="train nothing: print the table from --log")
    args = parser.parse_args()
    names = args.recipes.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    cells = stratified_sample(args.cells)
    # shuffled, so an interrupted run (see --log and --summarise) still covers every decile
    cells = [cells[i] for i in np.random.default_rng(0).permutation(len(cells))]
    jobs = [(name, text, seed) for text in cells for name in names for seed in seeds]
    t0 = time.perf_counter()
    results: dict[tuple[str, str, int], tuple[float, float]] = {}
    if args.log and Path(args.log).exists():  # resume: trainings already logged are not repeated
        for line in Path(args.log).read_text().splitlines():
            name, text, seed, acc, sec = json.loads(line)
            results[name, text, seed] = (acc, sec)
        jobs = [job for job in jobs if job not in results]
    if args.summarise:
        jobs = []
    with get_context("spawn").Pool(max(1, args.workers)) as pool:
        for i, (name, text, seed, acc, sec) in enumerate(pool.imap(_job, jobs), 1):
            results[name, text, seed] = (acc, sec)
            if args.log:
                with open(args.log, "a") as f:
                    f.write(json.dumps([name, text, seed, acc, sec]) + "\n")
            if i % 40 == 0:
                print(f"{i}/{len(jobs)} trainings, {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
    cells = [c for c in cells if all((n, c, s) in results for n in names for s in seeds)]
    print(f"{len(cells)} stratified cells x seeds {seeds} x recipes {names} in {time.perf_counter() - t0:.0f}s")
    print(f"{'recipe':<40}{'rho all':>9}{'rho top':>9}{'|diff|':>8}{'range':>13}{'s/cell':>8}")
    for name in names:
        a = np.array([results[name, c, seeds[0]][0] for c in cells])
        b = np.array([results[name, c, seeds[1]][0] for c in cells])
        sec = np.nanmean([results[name, c, s][1] for c in cells for s in seeds])
        mean = (a + b) / 2
        top = mean >= np.nanmedian(mean)
        print(
            f"{name}: {CANDIDATES[name][0]:<37}{rho(a, b):9.3f}{rho(a[top], b[top]):9.3f}"
            f"{np.nanmean(np.abs(a - b)):8.3f}  {np.nanmin(mean):.2f}-{np.nanmax(mean):.2f}{sec:8.2f}"
        )


if __name__ == "__main__":
    main()
