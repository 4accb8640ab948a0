"""Scale-out: evaluations per minute on a Dask LocalCluster of 2 workers vs 1 (goal >= 1.8x).

Real training: a Trainer on digits. Both clusters run the same search (random strategy, same
seed, so the same architectures and the same work), with one thread per worker, and their
workers are warmed first (torch imported, the dataset loaded, one network trained) so start-up
is not timed. Rounds alternate 1 worker, 2 workers, 1, 2 ... and the ratio is of the medians, so a
change in the machine's load during the run falls on both sides. The load average is printed:
on a machine shared with other jobs, two workers cannot get two idle cores and the ratio says so.

    OMP_NUM_THREADS=1 python benchmarks/bench_scale_out.py [--evaluations 12] [--rounds 2] [--epochs 3]
        [--max-pending 2,4] [--ceiling]

Where the missing speed-up goes, printed beside the ratio: ``busy`` is the share of the workers'
time spent evaluating (sum of trial seconds / (wall x workers)); ``--max-pending 2,4`` times the
2-worker search with each number of proposals kept out (2: one per worker, as before; 4: the
default, one queued behind each); ``--ceiling`` times two plain processes against one doing the
same training with no Dask at all, the most two workers can give on this machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from distributed import Client, LocalCluster

from nasnb import CellSpace, Search
from nasnb.evaluation import Trainer

EPOCHS = 3


def trainer(epochs: int = EPOCHS) -> Trainer:
    return Trainer("digits", epochs=epochs, network={"channels": 8, "stages": 1}, threads=1)


def warm(epochs: int = EPOCHS) -> int:
    """Run in each worker: import torch, load the data, train one network."""
    space = CellSpace()
    import numpy as np

    trainer(epochs)(space.sample(np.random.default_rng(0)))
    return os.getpid()


def rate(client: Client, evaluations: int, epochs: int, max_pending: int | None = None) -> tuple[float, float]:
    """Evaluations per minute for one search on ``client``'s cluster, and the workers' busy share."""
    workers = sum(client.nthreads().values())
    search = Search(
        CellSpace(),
        "random",
        trainer(epochs),
        budget=evaluations,
        seed=0,
        executor=client.get_executor(),
        max_pending=max_pending,
    )
    cpu = cpu_seconds()
    t0 = time.perf_counter()
    search.run()
    seconds = time.perf_counter() - t0
    cpu = {k: v - cpu.get(k, 0.0) for k, v in cpu_seconds().items()}
    assert len(search.trials) == evaluations and all(t.ok for t in search.trials), search.trials
    busy = sum(t.seconds for t in search.trials) / (seconds * workers)
    USAGE.setdefault(workers, []).append(cpu)
    return evaluations / seconds * 60, busy


USAGE: dict[int, list[dict[str, float]]] = {}  # workers -> CPU seconds per search: this process, the workers


def cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of this process (search loop, Dask scheduler and nannies) and of the worker processes."""
    import psutil

    def used(process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    me = psutil.Process()
    return {"loop+scheduler+nannies": used(me), "workers": sum(map(used, me.children()))}


def _train_all(epochs: int, evaluations: int, start, _) -> float:
    """In a plain process: the same networks as the search trains, timed after a warm-up."""
    from nasnb.strategies import get

    warm(epochs)
    strategy = get("random")
    strategy.setup(CellSpace(), 0)
    archs = [strategy.ask().arch for _ in range(evaluations)]
    start.wait()
    t0 = time.perf_counter()
    for arch in archs:
        trainer(epochs)(arch)
    return time.perf_counter() - t0


def ceiling(epochs: int, evaluations: int) -> float:
    """Two plain processes each training the networks vs one: how much faster the pair gets through them."""
    import concurrent.futures as cf
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    seconds = {}
    for n in (1, 2):
        with context.Manager() as manager, cf.ProcessPoolExecutor(n, mp_context=context) as pool:
            start = manager.Barrier(n + 1)
            futures = [pool.submit(_train_all, epochs, evaluations, start, i) for i in range(n)]
            start.wait()
            t0 = time.perf_counter()
            cf.wait(futures)
            seconds[n] = time.perf_counter() - t0
            [f.result() for f in futures]
    return 2 * seconds[1] / seconds[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="training epochs per evaluation")
    parser.add_argument("--max-pending", default="", help="comma-separated max_pending values for 2 workers")
    parser.add_argument("--ceiling", action="store_true", help="also time two plain processes vs one")
    args = parser.parse_args()
    pendings = [int(x) for x in args.max_pending.split(",") if x] or [None]
    load_before = os.getloadavg()
    clusters = {
        n: LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1")
        for n in (1, 2)
    }
    clients = {n: Client(cluster) for n, cluster in clusters.items()}
    try:
        for n, client in clients.items():
            assert len(set(client.run(warm, args.epochs).values())) == n
        sides = [(1, None)] + [(2, p) for p in pendings]
        rates: dict[tuple, list[tuple[float, float]]] = {side: [] for side in sides}
        for round_ in range(args.rounds):
            for n, pending in sides:
                rates[n, pending].append(rate(clients[n], args.evaluations, args.epochs, pending))
                per_min, busy = rates[n, pending][-1]
                label = f"{n} worker(s)" + (f", max_pending {pending}" if pending else "")
                print(f"round {round_ + 1}: {label:28s} {per_min:6.1f} evaluations/min, busy {busy:4.0%}", flush=True)
    finally:
        for n in clients:
            clients[n].close()
            clusters[n].close()
    print(f"epochs={args.epochs}, {args.evaluations} evaluations per search, medians of {args.rounds} rounds")
    one = statistics.median(r for r, _ in rates[1, None])
    print(f"1 worker : {one:6.1f} evaluations/min, busy {statistics.median(b for _, b in rates[1, None]):4.0%}")
    for pending in pendings:
        two = statistics.median(r for r, _ in rates[2, pending])
        busy = statistics.median(b for _, b in rates[2, pending])
        label = f"max_pending {pending}" if pending else "default max_pending"
        print(f"2 workers: {two:6.1f} evaluations/min, busy {busy:4.0%} ({label})")
        met = "met" if two / one >= 1.8 else "missed"
        print(f"speed-up : {two / one:4.2f}x  ({label}; goal >= 1.8x -> {met})")
    for workers, runs in sorted(USAGE.items()):
        total = {k: sum(r[k] for r in runs) / len(runs) for k in runs[0]}
        parts = ", ".join(f"{k} {v:.1f}" for k, v in total.items())
        print(f"CPU seconds per search with {workers} worker(s): {parts}")
    if args.ceiling:
        most = ceiling(args.epochs, args.evaluations)
        print(f"ceiling  : {most:4.2f}x  (two plain processes vs one, same training)")
        if most < 1.8:
            print("           this machine gives two processes less than 1.8x now: the goal cannot be judged here")
    load_after = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores; load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )


if __name__ == "__main__":
    main()
