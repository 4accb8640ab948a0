"""How far can a toy table be trusted? Does the digits ranking of cells predict their Fashion-MNIST ranking?

A benchmark table on 8x8 digits is cheap enough to fill on a laptop, but a student should know
whether what wins on digits also wins on a harder dataset. This trains a stratified sample of cells
(equal numbers from each tenth of the digits table's accuracy range) on Fashion-MNIST (Debian's
offline copy in /usr/share/datasets/fashion-mnist, unpacked by nasnb on first use) with the digits
table's recipe — same network, epochs, batch size, learning rate, fixed data split, model seed
derived from the training seed and the canonical key — and prints Spearman's rho between the digits
table and Fashion-MNIST (all cells and the better half), the top-k overlap (of the best k cells on
digits, how many are among the best k on Fashion-MNIST; chance level is k / n), and next to it
the digits table's own seed-to-seed rho, the most any other dataset could agree with it.

Results are appended one JSON line per cell to ``--log`` (default
``benchmarks/tables/transfer-fashion.jsonl``, git-ignored), so a rerun continues where it stopped.

    nice -n 19 python benchmarks/transfer_fashion.py [--cells 300] [--subset 10000] [--table digits] [--shard 0/2]

Two processes with ``--shard 0/2`` and ``--shard 1/2`` share the sample and the log (each line is
one small appended write, so the two never tear each other's lines).

Cost: about 5-10 s per cell on an idle core with ``--subset 10000`` (8,000 training images).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent


def stratified_rows(table, n: int, seed: int = 0) -> list[int]:
    """``n`` trained rows, equal numbers from each tenth of the table's (seed-mean) validation accuracy."""
    ok = np.flatnonzero(table.status == 0)
    deciles = np.minimum((np.argsort(np.argsort(table.val_accuracy[ok])) * 10) // len(ok), 9)
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(10):
        members = ok[deciles == d]
        rows += rng.choice(members, size=min(len(members), max(1, n // 10)), replace=False).tolist()
    return sorted(int(r) for r in rows)


def top_k_overlap(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Fraction of the ``k`` best by ``a`` that are also among the ``k`` best by ``b``."""
    return len(set(np.argsort(-a)[:k]) & set(np.argsort(-b)[:k])) / k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", default="digits", help="the digits table whose ranking is checked")
    parser.add_argument("--cells", type=int, default=300)
    parser.add_argument("--subset", type=int, default=10000, help="Fashion-MNIST images used (None: all 70,000)")
    parser.add_argument("--seed", type=int, default=0, help="training seed on Fashion-MNIST")
    parser.add_argument("--log", default=str(HERE / "tables" / "transfer-fashion.jsonl"))
    parser.add_argument("--summarise", action="store_true", help="train nothing, report what the log holds")
    parser.add_argument(
        "--shard", default="0/1", help="I/N: train every N-th sampled cell from the I-th (one process per core)"
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from nasnb.evaluation.recipes import recipe, train_cell
    from nasnb.evaluation.table import load_table

    table = load_table(args.table)
    settings = {**recipe(args.table), "dataset": "fashion-mnist", "subset": args.subset}
    rows = stratified_rows(table, args.cells)
    log = Path(args.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if log.exists():
        for line in log.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill is retrained
            if record.get("subset") == args.subset and record.get("seed") == args.seed:
                done[record["key"]] = record
    shard, shards = (int(x) for x in args.shard.split("/"))
    todo = [] if args.summarise else [r for r in rows[shard::shards] if str(table.keys[r]) not in done]
    mine = len(rows[shard::shards])
    print(f"{len(rows)} cells sampled, {mine} in shard {args.shard}, {len(todo)} of them to go", file=sys.stderr)
    t0 = time.perf_counter()
    with open(log, "a") as f:
        for i, row in enumerate(todo, 1):
            arch = table.representative(row)
            try:
                accuracy = float(train_cell(arch, settings, args.seed)["curves"]["val_accuracy"][-1])
            except Exception as err:  # a diverged cell ranks last
                print(f"{arch}: {type(err).__name__}: {err}", file=sys.stderr)
                accuracy = float("nan")
            record = {"key": str(table.keys[row]), "subset": args.subset, "seed": args.seed, "accuracy": accuracy}
            f.write(json.dumps(record) + "\n")
            f.flush()
            done[record["key"]] = record
            if i % 10 == 0:
                print(f"{i}/{len(todo)} cells, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    # every logged cell the table has trained counts, not only this run's sample: a sample drawn while
    # the table was still filling is then summarised against the finished table
    row_of = {str(key): row for row, key in enumerate(table.keys)}
    have = sorted(row_of[k] for k in done if k in row_of and table.status[row_of[k]] == 0)
    if len(have) < 10:
        raise SystemExit(f"only {len(have)} cells trained on Fashion-MNIST; run without --summarise first")
    digits = table.val_accuracy[have]
    fashion = np.array([done[str(table.keys[r])]["accuracy"] for r in have])
    keep = np.isfinite(fashion)
    digits, fashion = digits[keep], fashion[keep]
    top = digits >= np.median(digits)
    k = max(1, len(digits) // 10)
    print(
        f"{len(digits)} cells of the {args.table!r} table trained on Fashion-MNIST "
        f"({args.subset} images, seed {args.seed})"
    )
    print(
        f"Spearman rho digits vs Fashion-MNIST: all {spearmanr(digits, fashion)[0]:.3f}, "
        f"better half on digits {spearmanr(digits[top], fashion[top])[0]:.3f}"
    )
    print(
        f"top-{k} overlap: {top_k_overlap(digits, fashion, k):.2f} (chance {k / len(digits):.2f}); "
        f"top-{3 * k}: {top_k_overlap(digits, fashion, 3 * k):.2f} (chance {3 * k / len(digits):.2f})"
    )
    repeat = table.repeatability()
    if np.isfinite(repeat["rho"]):
        print(f"for scale: the table's own seed-to-seed rho {repeat['rho']:.3f} over {repeat['cells']} cells")
    else:
        print("for scale: the one-seed digits table agrees with a retraining at rho 0.52 (bench_table_noise.py)")


if __name__ == "__main__":
    main()
