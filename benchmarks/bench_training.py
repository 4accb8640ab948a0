"""nasnb's training loop against a bare hand-written torch loop doing the same work.

Both train the same architecture from the same initial weights on the same in-memory digits data,
with the same batch size, SGD (momentum 0.9, weight decay), cosine learning rate, number of
epochs and a validation pass after each epoch. The difference is what nasnb adds per batch
(``checkpoint()`` for pause/stop, the divergence check, loss bookkeeping) and per epoch
(progress report, curves). Runs alternate between the two loops, each pair gives a ratio, and the
median ratio is reported: a pair runs within a second, so drift in machine speed (other processes
on a shared 2-core box move single timings by 20 %) affects both sides of it alike.
Goal: nasnb reaches at least 0.95x the samples/s of the bare loop. One torch thread by default,
as in a search with one evaluation per core (and far steadier on a shared machine).

    python benchmarks/bench_training.py [--repeats 9] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import time

import torch
from torch import nn

from nasnb.data import Dataset, load_dataset
from nasnb.evaluation import train_model
from nasnb.nn import build_model
from nasnb.spaces import CellSpace, ChainSpace

CELL = "|conv_3x3~0|+|skip_connect~0|conv_1x1~1|+|conv_3x3~0|avg_pool_3x3~1|conv_3x3~2|"
CASES = [
    ("cell", CellSpace().parse(CELL), {"channels": 16}, 5),
    ("chain", ChainSpace().parse("conv3x3-32-relu-bn > maxpool > conv3x3-64-relu-bn > fc64-relu"), {}, 10),
]
BATCH, LR, WD = 64, 0.05, 5e-4


def bare_loop(model: nn.Module, data: Dataset, epochs: int, seed: int = 0) -> float:
    """What one would write by hand: shuffle indices, step, cosine lr, evaluate each epoch."""
    x, y = data.train.x, data.train.y
    n = len(y)
    steps_per_epoch = math.ceil(n / BATCH)
    total = epochs * steps_per_epoch
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, weight_decay=WD)
    shuffle = torch.Generator().manual_seed(seed)
    step = 0
    accuracy = 0.0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(n, generator=shuffle)
        running = 0.0
        for i in range(0, n, BATCH):
            idx = order[i : i + BATCH]
            for group in opt.param_groups:
                group["lr"] = LR * 0.5 * (1 + math.cos(math.pi * step / total))
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += loss.item()
            step += 1
        model.eval()
        with torch.no_grad():
            accuracy = (model(data.val.x).argmax(1) == data.val.y).float().mean().item()
    return accuracy


def nasnb_loop(model: nn.Module, data: Dataset, epochs: int, seed: int = 0) -> float:
    return train_model(model, data, epochs=epochs, batch_size=BATCH, lr=LR, weight_decay=WD, seed=seed, device="cpu")[
        "accuracy"
    ]


def timed(loop, model: nn.Module, data: Dataset, epochs: int) -> tuple[float, float]:
    start = time.perf_counter()
    accuracy = loop(model, data, epochs)
    return time.perf_counter() - start, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("digits")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, digits train={len(data.train)}, "
        f"batch {BATCH}, medians of {args.repeats} alternating pairs"
    )
    ratios = []
    for name, arch, options, epochs in CASES:
        torch.manual_seed(0)
        initial = build_model(arch, data.input_shape, data.num_classes, **options)
        timed(bare_loop, copy.deepcopy(initial), data, 1)  # warm-up: first convolutions pay for setup
        seconds: dict[str, list[float]] = {"bare": [], "nasnb": []}
        accuracy: dict[str, float] = {}
        for r in range(args.repeats):
            order = [("bare", bare_loop), ("nasnb", nasnb_loop)]
            for label, loop in order if r % 2 == 0 else order[::-1]:
                elapsed, accuracy[label] = timed(loop, copy.deepcopy(initial), data, epochs)
                seconds[label].append(elapsed)
        rate = {k: epochs * len(data.train) / statistics.median(v) for k, v in seconds.items()}
        ratios.append(statistics.median(b / n for b, n in zip(seconds["bare"], seconds["nasnb"])))
        print(
            f"{name:6s} {epochs:2d} epochs: "
            f"bare {rate['bare']:8.0f} samples/s (val acc {accuracy['bare']:.3f}), "
            f"nasnb {rate['nasnb']:8.0f} samples/s (val acc {accuracy['nasnb']:.3f}), "
            f"median pair ratio {ratios[-1]:.3f}"
        )
    print(f"worst ratio {min(ratios):.3f} (goal >= 0.95)")


if __name__ == "__main__":
    main()
