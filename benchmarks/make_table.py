"""Fill the tabulated benchmark: train every functionally distinct cell of CellSpace once.

    python benchmarks/make_table.py train --dataset digits --workers 2     # resumable, shows progress
    python benchmarks/make_table.py pack --dataset digits                  # -> nasnb/evaluation/tables/

Results land one JSON line per cell in benchmarks/tables/<dataset>.jsonl, flushed as they
finish, so an interrupted run continues where it stopped. Each cell is trained with the fixed
recipe of nasnb.evaluation.recipes, seeded by its canonical key, so the table is deterministic.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PACKAGE_TABLES = HERE.parent / "nasnb" / "evaluation" / "tables"
# per-cell status codes in the packed table (nasnb.evaluation.table reads them)
STATUS = {"ok": 0, "failed": 1, "missing": 2}


def representatives():
    """(canonical key, first cell with that key) in CellSpace's iteration order."""
    from nasnb.spaces import CellSpace

    seen = {}
    for arch in CellSpace():
        seen.setdefault(arch.key, arch)
    return list(seen.items())


def _init_worker(dataset: str) -> None:
    import torch

    torch.set_num_threads(1)
    global _TRAINER
    from nasnb.evaluation import Trainer
    from nasnb.evaluation.recipes import recipe

    _TRAINER = Trainer(**recipe(dataset))


def _train(item):
    key, text = item
    from nasnb.spaces import CellSpace

    arch = CellSpace().parse(text)
    try:
        metrics = _TRAINER(arch)
        return {"key": key, "arch": text, "status": "ok", **metrics}
    except Exception as err:  # a diverged cell is a data point too
        return {"key": key, "arch": text, "status": "failed", "error": f"{type(err).__name__}: {err}"}


def train(dataset: str, workers: int, limit: int | None) -> None:
    from tqdm import tqdm

    out = HERE / "tables" / f"{dataset}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        from nasnb.spaces import CellSpace

        space = CellSpace()
        for line in out.read_text().splitlines():
            try:
                row = json.loads(line)
                key = space.parse(row["arch"]).key
            except (ValueError, KeyError):
                continue  # a torn last line is retrained
            if key == row["key"]:  # trained under the current key (the Trainer's seed derives from it)
                done.add(key)
        with open(out, "rb+") as f:  # drop a torn tail
            data = f.read()
            f.seek(0)
            f.truncate(data.rfind(b"\n") + 1)
    todo = [(k, str(a)) for k, a in representatives() if k not in done]
    if limit is not None:
        todo = todo[:limit]
    print(f"{len(done)} cells done, {len(todo)} to train with {workers} worker(s)", file=sys.stderr)
    ctx = get_context("spawn")
    t0 = time.time()
    with ctx.Pool(workers, initializer=_init_worker, initargs=(dataset,)) as pool, open(out, "a") as f:
        for row in tqdm(pool.imap_unordered(_train, todo, chunksize=4), total=len(todo), unit="cell"):
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())
    print(f"trained {len(todo)} cells in {time.time() - t0:.0f}s", file=sys.stderr)


def pack(dataset: str, partial: bool = False) -> None:
    """Compact arrays: per distinct cell metrics + curve, and the index of every one of the 15,625 cells.

    ``partial`` packs a table that is still being filled (untrained cells are NaN), for development.
    """
    from nasnb.evaluation.recipes import recipe
    from nasnb.spaces import CellSpace

    rows = {}
    space = CellSpace()
    for line in (HERE / "tables" / f"{dataset}.jsonl").read_text().splitlines():
        row = json.loads(line)
        if space.parse(row["arch"]).key == row["key"]:  # rows from an older canonical form are retrained
            rows[row["key"]] = row
    reps = representatives()
    missing = [k for k, _ in reps if k not in rows]
    for k in missing if partial else []:
        rows[k] = {"status": "missing"}
    if missing and not partial:
        raise SystemExit(f"{len(missing)} cells not trained yet; run `make_table.py train` first")
    keys = [k for k, _ in reps]
    position = {k: i for i, k in enumerate(keys)}
    index = np.array([position[a.key] for a in CellSpace()], dtype=np.uint16)
    epochs = recipe(dataset)["epochs"]

    def column(name, dtype=np.float32, fill=np.nan):
        return np.array([rows[k].get(name, fill) if rows[k]["status"] == "ok" else fill for k in keys], dtype=dtype)

    curves = np.full((len(keys), epochs), np.nan, dtype=np.float64)
    for i, k in enumerate(keys):
        if rows[k]["status"] == "ok":
            curve = rows[k]["curves"]["val_accuracy"]
            curves[i, : len(curve)] = curve
    status = np.array([STATUS[rows[k]["status"]] for k in keys], dtype=np.uint8)
    PACKAGE_TABLES.mkdir(parents=True, exist_ok=True)
    target = PACKAGE_TABLES / f"{dataset}.npz"
    np.savez_compressed(
        target,
        index=index,
        keys=np.array(keys),
        val_accuracy=column("accuracy", np.float64),  # exact fractions of the validation set
        test_accuracy=column("test_accuracy", np.float64),
        train_seconds=column("train_seconds"),
        params=column("params", np.int64, -1),
        macs=column("macs", np.int64, -1),
        curves=curves,
        status=status,
        recipe=np.array(json.dumps(recipe(dataset))),
    )
    print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB, {len(keys)} cells)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["train", "pack"])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--partial", action="store_true", help="pack even if cells are missing (development)")
    parser.add_argument("--limit", type=int, default=None, help="train at most N more cells (for a trial run)")
    args = parser.parse_args()
    if args.command == "train":
        train(args.dataset, args.workers, args.limit)
    else:
        pack(args.dataset, args.partial)


if __name__ == "__main__":
    main()
