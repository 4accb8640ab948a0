"""Candidates per hour: PopulationTrainer (K networks in one batched pass) against one-at-a-time Trainer.

Both train the same K random CellSpace architectures with the same recipe, seeds and torch
threads, in one process, interleaved (population, then the K single runs, then again with the
order swapped), so load from other processes on a shared machine hits both sides alike. Each
line reports the ratio of candidates per hour by wall time and by CPU time of this process (the
CPU-time ratio is the steadier one under load), plus the peak extra memory (resident set above
the level before the run, sampled every 5 ms) of each side.

Recipes: digits uses the benchmark table's recipe (8 channels, 6 epochs, batch 128); Fashion-MNIST
uses a 2,000-image subset for 1 epoch with the same network, so the sweep stays within minutes.
Goal: >= 3x candidates per hour at the best K on 2 CPU cores; >= 10x on a GPU. With CUDA present
the sweep also runs there (untested here: the development machines have no GPU).

    python benchmarks/bench_population.py [--datasets digits fashion-mnist] [--ks 1 4 16 64] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np
import torch

from nasnb.evaluation import PopulationTrainer, Trainer
from nasnb.evaluation.recipes import recipe
from nasnb.spaces import CellSpace

RECIPES = {
    "digits": {**recipe("digits"), "test": False},
    "fashion-mnist": {
        "dataset": "fashion-mnist",
        "subset": 2000,
        "epochs": 1,
        "batch_size": 128,
        "lr": 0.1,
        "optimizer": "sgd",
        "weight_decay": 5e-4,
        "seed": 0,
        "test": False,
        "network": {"channels": 8, "cells_per_stage": 1, "stages": 2},
    },
}


class PeakRSS:
    """Peak resident memory above the starting level while the block runs (sampled)."""

    def __enter__(self) -> PeakRSS:
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.base) / 2**20


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(fn) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of this process, peak extra MB) of one call."""
    with PeakRSS() as mem:
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = time.perf_counter() - w, time.process_time() - c
    return wall, cpu, mem.extra_mb


def sweep(dataset: str, ks: list[int], repeats: int, device: str, threads: int) -> None:
    config = {**RECIPES[dataset], "device": device, "threads": threads}
    population, single = PopulationTrainer(**config), Trainer(**config)
    space = CellSpace()
    rng = np.random.default_rng(0)
    warm = [space.sample(rng) for _ in range(2)]
    population.evaluate_batch(warm)  # load the data and warm the kernels for both sides
    single(warm[0])
    print(f"\n{dataset} on {device} ({threads} thread(s)); times under load are pessimistic, ratios are fair")
    print(
        f"{'K':>3} {'pop s':>8} {'single s':>9} {'ratio wall':>10} {'ratio cpu':>9} "
        f"{'pop cand/h':>10} {'single cand/h':>13} {'pop MB':>7} {'single MB':>9} {'max |acc diff|':>14}"
    )
    for k in ks:
        archs = [space.sample(rng) for _ in range(k)]
        pop_t, one_t = [], []
        acc_diff = 0.0
        for r in range(repeats):
            runs = [
                ("pop", lambda archs=archs: population.evaluate_batch(archs)),
                ("one", lambda archs=archs: [single(a) for a in archs]),
            ]
            for name, fn in runs if r % 2 == 0 else runs[::-1]:
                out: list = []
                t = timed(lambda fn=fn, out=out: out.append(fn()))
                (pop_t if name == "pop" else one_t).append((t, out[0]))
            acc_diff = max(
                acc_diff,
                max(
                    abs(p.get("accuracy", 0) - o.get("accuracy", 0))
                    for p, o in zip(pop_t[-1][1], one_t[-1][1])
                    if "error" not in p
                ),
            )
        pw, pc, pm = (float(np.median([t[0][i] for t in pop_t])) for i in range(3))
        ow, oc, om = (float(np.median([t[0][i] for t in one_t])) for i in range(3))
        print(
            f"{k:>3} {pw:>8.2f} {ow:>9.2f} {ow / pw:>9.2f}x {oc / pc:>8.2f}x "
            f"{k * 3600 / pw:>10.0f} {k * 3600 / ow:>13.0f} {pm:>7.0f} {om:>9.0f} {acc_diff:>14.4f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"], choices=sorted(RECIPES))
    parser.add_argument("--ks", nargs="+", type=int, default=[1, 4, 16, 64])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for dataset in args.datasets:
            sweep(dataset, args.ks, args.repeats, device, args.threads)


if __name__ == "__main__":
    main()
