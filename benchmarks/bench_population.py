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
    python benchmarks/bench_population.py --steps [--ks 16]   # one training step, kernels only

``--steps`` isolates the training step from data loading, model building and evaluation: the CPU
milliseconds of forward, backward and optimiser for one stacked step of K candidates against K
single steps, alternating three times. Measured at K = 16 on digits' network (load average ~8):
population 140-160 ms per step, K single steps 210-240 ms (1.5x; 1.1x before average pooling was
a matmul and the cell's gathers whole-row copies). torch.profiler on the population step puts ~40 %
in convolutions (oneDNN's grouped kernel is only ~1.5x cheaper than K single ones: these 8-channel
convolutions are arithmetic, not per-call overhead), ~18 % in BatchNorm (no cheaper stacked) and
~15 % in gathering and scattering candidates between a cell's edge groups; with the convolutions and
BatchNorm alone at ~60 % of a step, a 3x speed-up is out of reach on a CPU.
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


def _pop_step(population, opt, x: torch.Tensor, y: torch.Tensor, clock: np.ndarray) -> None:
    """One stacked training step; adds its (forward, backward, optimiser) CPU seconds to ``clock``."""
    t = time.process_time()
    loss = torch.nn.functional.cross_entropy(population(x).permute(0, 2, 1), y, reduction="none").mean(0).sum()
    t1 = time.process_time()
    opt.zero_grad()
    loss.backward()
    t2 = time.process_time()
    opt.step([0.1] * x.shape[1], [])
    clock += (t1 - t, t2 - t1, time.process_time() - t2)


def _single_steps(models, singles, x: torch.Tensor, y: torch.Tensor, clock: np.ndarray) -> None:
    """One training step of each network alone; adds the CPU seconds to ``clock`` as ``_pop_step``."""
    for i, (model, sgd) in enumerate(zip(models, singles)):
        t = time.process_time()
        loss = torch.nn.functional.cross_entropy(model(x[:, i]), y[:, i])
        t1 = time.process_time()
        sgd.zero_grad()
        loss.backward()
        t2 = time.process_time()
        sgd.step()
        clock += (t1 - t, t2 - t1, time.process_time() - t2)


def steps(ks: list[int], threads: int) -> None:
    """CPU ms of one training step: a stacked population against K single networks (kernels only)."""
    from nasnb.evaluation.population_optim import _StackedOptimizer
    from nasnb.nn import build_model
    from nasnb.nn.batched import stack

    config = RECIPES["digits"]
    space, rng = CellSpace(), np.random.default_rng(0)
    print(f"\none training step on digits' network, batch {config['batch_size']}, {threads} thread(s); CPU ms")
    print(f"{'K':>3} {'pop fwd':>8} {'pop bwd':>8} {'pop opt':>8} {'single fwd':>10} {'single bwd':>10} "
          f"{'single opt':>10} {'ratio':>6}")  # fmt: skip
    for k in ks:
        archs = [space.sample(rng) for _ in range(k)]
        models = [build_model(a, (1, 8, 8), 10, **config["network"]) for a in archs]
        population = stack(models)
        opt = _StackedOptimizer(population, "sgd", [config["weight_decay"]] * k, set())
        singles = [torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4) for m in models]
        b = config["batch_size"]
        x, y = torch.randn(b, k, 1, 8, 8), torch.randint(0, 10, (b, k))
        pop, one = np.zeros(3), np.zeros(3)

        _pop_step(population, opt, x, y, np.zeros(3))  # warm both
        _single_steps(models, singles, x, y, np.zeros(3))
        for _ in range(3):
            _pop_step(population, opt, x, y, pop)
            _single_steps(models, singles, x, y, one)
        pop, one = pop / 3 * 1e3, one / 3 * 1e3
        print(f"{k:>3} {pop[0]:>8.1f} {pop[1]:>8.1f} {pop[2]:>8.1f} {one[0]:>10.1f} {one[1]:>10.1f} "
              f"{one[2]:>10.1f} {one.sum() / pop.sum():>5.2f}x", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"], choices=sorted(RECIPES))
    parser.add_argument("--ks", nargs="+", type=int, default=[1, 4, 16, 64])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", action="store_true", help="time one training step only (kernels, no setup)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.steps:
        steps(args.ks, args.threads)
        return
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for dataset in args.datasets:
            sweep(dataset, args.ks, args.repeats, device, args.threads)


if __name__ == "__main__":
    main()
