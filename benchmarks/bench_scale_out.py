"""Scale-out: evaluations per minute on a Dask LocalCluster of 2 workers vs 1 (goal >= 1.8x).

Real training: a Trainer on digits. Both clusters run the same search (random strategy, same
seed, so the same architectures and the same work), with one thread per worker, and their
workers are warmed first (torch imported, the dataset loaded, one network trained) so start-up
is not timed. Rounds alternate 1 worker, 2 workers, 1, 2 ... and the ratio is of the medians, so a
change in the machine's load during the run falls on both sides. The load average is printed:
on a machine shared with other jobs, two workers cannot get two idle cores and the ratio says so.

    OMP_NUM_THREADS=1 python benchmarks/bench_scale_out.py [--evaluations 12] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from distributed import Client, LocalCluster

from nasnb import CellSpace, Search
from nasnb.evaluation import Trainer


def trainer() -> Trainer:
    return Trainer("digits", epochs=3, network={"channels": 8, "stages": 1}, threads=1)


def warm() -> int:
    """Run in each worker: import torch, load the data, train one network."""
    space = CellSpace()
    import numpy as np

    trainer()(space.sample(np.random.default_rng(0)))
    return os.getpid()


def rate(client: Client, evaluations: int) -> float:
    """Evaluations per minute for one search on ``client``'s cluster."""
    search = Search(CellSpace(), "random", trainer(), budget=evaluations, seed=0, executor=client.get_executor())
    t0 = time.perf_counter()
    search.run()
    seconds = time.perf_counter() - t0
    assert len(search.trials) == evaluations and all(t.ok for t in search.trials), search.trials
    return evaluations / seconds * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()
    clusters = {
        n: LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1")
        for n in (1, 2)
    }
    clients = {n: Client(cluster) for n, cluster in clusters.items()}
    try:
        for n, client in clients.items():
            assert len(set(client.run(warm).values())) == n
        rates: dict[int, list[float]] = {1: [], 2: []}
        for round_ in range(args.rounds):
            for n in (1, 2):
                rates[n].append(rate(clients[n], args.evaluations))
                print(f"round {round_ + 1}: {n} worker(s) {rates[n][-1]:6.1f} evaluations/min", flush=True)
    finally:
        for n in clients:
            clients[n].close()
            clusters[n].close()
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"1 worker : {one:6.1f} evaluations/min (median of {args.rounds})")
    print(f"2 workers: {two:6.1f} evaluations/min")
    print(f"speed-up : {two / one:4.2f}x  (goal >= 1.8x -> {'met' if two / one >= 1.8 else 'missed'})")
    load_after = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores; load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )


if __name__ == "__main__":
    main()
