"""Fill the tabulated benchmarks: train every functionally distinct cell of CellSpace with a fixed recipe.

Two tables, two formats, side by side until the second is complete:

``digits`` (the shipped single-seed table): one training per cell, results in the git-ignored
``benchmarks/tables/digits.jsonl``; ``train``/``pack`` as before::

    python benchmarks/make_table.py train --table digits --workers 2
    python benchmarks/make_table.py pack --table digits

``digits-seeds`` (the multi-seed table, issue 13): every distinct cell trained with seeds 0, 1 and 2
of the recipe ``nasnb.evaluation.recipes.RECIPES["digits-seeds"]``, keeping per
epoch train/validation loss and accuracy, test loss and accuracy, parameters, MACs and training
seconds. Work is cut into chunks of ``CHUNK`` cells in a fixed random order of the distinct
cells (so any finished prefix of chunks is a uniform sample of the space, good enough for noise
and proxy studies while the rest trains). A finished chunk is written as a small committed shard,
``benchmarks/tables/digits-seeds/chunk-NNNN.json.gz``; the chunk in progress is appended line by
line to the git-ignored ``benchmarks/tables/digits-seeds/partial.jsonl``. So::

    nice -n 19 python benchmarks/make_table.py train --table digits-seeds   # resumable: run it again
    python benchmarks/make_table.py status --table digits-seeds             # cells x seeds done, rate
    python benchmarks/make_table.py pack --table digits-seeds --partial     # -> nasnb/evaluation/tables/

continue exactly where any earlier session stopped: chunks that have a shard are skipped, and the
partial chunk's finished (cell, seed) trainings are kept. Every training is deterministic (one
torch thread, the model seed derived from the training seed and the cell's canonical key, one
fixed data split), so a shard made by another session on the same kind of machine holds the same
numbers (another CPU can differ by a few validation images through float rounding).

Why this recipe (the original one: 8 channels, batch 128, lr 0.1, 6 epochs, now on a fixed split):
``benchmarks/bench_recipes.py`` measured seed-to-seed Spearman rho on a stratified sample of cells,
and it beat both more optimiser steps (batch 32) and wider cells (16 channels), which train most
cells to 96-99 % where 360 validation images cannot rank them, while costing half as much; seed 0
is the training behind the shipped one-seed table. Numbers and caveats: benchmarks/tables/README.md.
``--chunks a:b`` restricts a process to chunks a..b-1, so several processes (one per core, or a
CUDA machine's cores) can fill disjoint parts and commit their shards independently.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
PACKAGE_TABLES = HERE.parent / "nasnb" / "evaluation" / "tables"
# per-cell status codes in the packed table (nasnb.evaluation.table reads them)
STATUS = {"ok": 0, "failed": 1, "missing": 2}
MULTI_SEED = {"digits-seeds": (0, 1, 2)}  # table name -> training seeds
CHUNK = 16  # distinct cells per committed shard: 48 trainings, about 30 core-seconds on an idle core
ORDER_SEED = 0  # the fixed random order in which distinct cells are trained
CURVES = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")


def representatives() -> list[tuple[str, Any]]:
    """(canonical key, first cell with that key) in CellSpace's iteration order."""
    from nasnb.spaces import CellSpace

    seen: dict[str, Any] = {}
    for arch in CellSpace():
        seen.setdefault(arch.key, arch)
    return list(seen.items())


# -- the original single-seed table ---------------------------------------------------------------
def _init_worker(dataset: str, population: int | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    global _TRAINER
    from nasnb.evaluation import PopulationTrainer, Trainer
    from nasnb.evaluation.recipes import recipe

    _TRAINER = (PopulationTrainer if population else Trainer)(**recipe(dataset))


def _train_batch(items):
    """``--population K``: K cells trained as one batch; the rows are exactly those ``_train`` writes."""
    from nasnb.spaces import CellSpace

    try:
        results = _TRAINER.evaluate_batch([CellSpace().parse(text) for _, text in items])
    except Exception:  # e.g. memory: fall back to one at a time rather than lose the chunk
        return [_train(item) for item in items]
    return [
        {"key": key, "arch": text, "status": "failed", "error": metrics["error"]}
        if "error" in metrics
        else {"key": key, "arch": text, "status": "ok", **metrics}
        for (key, text), metrics in zip(items, results)
    ]


def _train(item):
    key, text = item
    from nasnb.spaces import CellSpace

    arch = CellSpace().parse(text)
    try:
        metrics = _TRAINER(arch)
        return {"key": key, "arch": text, "status": "ok", **metrics}
    except Exception as err:  # a diverged cell is a data point too
        return {"key": key, "arch": text, "status": "failed", "error": f"{type(err).__name__}: {err}"}


def train(dataset: str, workers: int, limit: int | None, population: int | None = None) -> None:
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
        _drop_torn_tail(out)
    todo = [(k, str(a)) for k, a in representatives() if k not in done]
    if limit is not None:
        todo = todo[:limit]
    print(f"{len(done)} cells done, {len(todo)} to train with {workers} worker(s)", file=sys.stderr)
    ctx = get_context("spawn")
    t0 = time.time()
    with ctx.Pool(workers, initializer=_init_worker, initargs=(dataset, population)) as pool, open(out, "a") as f:
        if population:  # PopulationTrainer: K cells per batch, same recipe, same rows
            batches = [todo[i : i + population] for i in range(0, len(todo), population)]
            rows = (row for batch in pool.imap_unordered(_train_batch, batches) for row in batch)
        else:
            rows = pool.imap_unordered(_train, todo, chunksize=4)
        for row in tqdm(rows, total=len(todo), unit="cell"):
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


def _drop_torn_tail(path: Path) -> None:
    """Cut a file after its last newline: a line half-written by a killed process is retrained."""
    with open(path, "rb+") as f:
        data = f.read()
        f.seek(0)
        f.truncate(data.rfind(b"\n") + 1)


# -- the multi-seed table --------------------------------------------------------------------------
def shard_dir(table: str) -> Path:
    return HERE / "tables" / table


def chunk_order(reps: list[tuple[str, Any]]) -> list[list[tuple[str, str]]]:
    """The distinct cells in a fixed random order, cut into chunks of ``CHUNK``: the unit of a shard."""
    order = np.random.default_rng(ORDER_SEED).permutation(len(reps))
    cells = [(reps[i][0], str(reps[i][1])) for i in order]
    return [cells[i : i + CHUNK] for i in range(0, len(cells), CHUNK)]


def _round(value: float, digits: int = 6) -> float:
    return float(f"{value:.{digits}g}")


def train_one(arch_text: str, key: str, settings: dict[str, Any], seed: int) -> dict[str, Any]:
    """One (cell, seed) training as a compact JSON-able row; a diverged training is a row too."""
    from nasnb.evaluation.recipes import train_cell
    from nasnb.spaces import CellSpace

    arch = CellSpace().parse(arch_text)
    if arch.key != key:
        raise SystemExit(f"cell {arch_text} now has canonical key {arch.key!r}, not {key!r}: the space changed")
    row: dict[str, Any] = {"key": key, "arch": arch_text, "seed": seed}
    try:
        out = train_cell(arch, settings, seed)
    except Exception as err:  # divergence is a result of the recipe, recorded as such
        return {**row, "status": "failed", "error": f"{type(err).__name__}: {err}"}
    return {
        **row,
        "status": "ok",
        "params": int(out["params"]),
        "macs": int(out["macs"]),
        "train_seconds": _round(out["train_seconds"], 4),
        "test_accuracy": _round(out["test_accuracy"]),
        "test_loss": _round(out["test_loss"]),
        "curves": {name: [_round(v) for v in out["curves"][name]] for name in CURVES},
    }


def _init_seed_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _train_job(job: tuple[str, str, dict[str, Any], int]) -> dict[str, Any]:
    return train_one(*job)


def read_shards(table: str) -> dict[int, list[dict[str, Any]]]:
    """Finished chunks: chunk number -> its rows."""
    shards = {}
    for path in sorted(shard_dir(table).glob("chunk-*.json.gz")):
        with gzip.open(path, "rt") as f:
            shards[int(path.name[6:10])] = json.load(f)["rows"]
    return shards


def read_partial(table: str) -> dict[tuple[str, int], dict[str, Any]]:
    path = shard_dir(table) / "partial.jsonl"
    rows = {}
    if path.exists():
        _drop_torn_tail(path)
        for line in path.read_text().splitlines():
            row = json.loads(line)
            rows[row["key"], row["seed"]] = row
    return rows


def write_shard(table: str, number: int, rows: list[dict[str, Any]], settings: dict[str, Any]) -> Path:
    """Atomically write a finished chunk (written to a temporary name, then renamed)."""
    path = shard_dir(table) / f"chunk-{number:04d}.json.gz"
    tmp = path.with_suffix(".tmp")
    payload = {"table": table, "chunk": number, "recipe": settings, "rows": rows}
    with gzip.GzipFile(tmp, "wb", mtime=0) as f:  # mtime 0: the same rows give the same bytes
        f.write(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    os.replace(tmp, path)
    return path


def train_seeds(table: str, workers: int, chunks: tuple[int, int] | None, limit: int | None) -> None:
    from nasnb.evaluation.recipes import recipe

    settings = recipe(table)
    seeds = MULTI_SEED[table]
    plan = chunk_order(representatives())
    first, last = chunks or (0, len(plan))
    shard_dir(table).mkdir(parents=True, exist_ok=True)
    done = read_shards(table)
    partial = read_partial(table)
    todo_chunks = [c for c in range(first, min(last, len(plan))) if c not in done]
    print(
        f"{table}: {len(done)} of {len(plan)} chunks done ({sum(len(r) for r in done.values())} trainings), "
        f"{len(partial)} trainings in the partial chunk; {len(todo_chunks)} chunks to go in [{first}, {last})",
        file=sys.stderr,
    )
    pool = get_context("spawn").Pool(workers, initializer=_init_seed_worker) if workers > 1 else None
    if pool is None:
        _init_seed_worker()
    trained, t0 = 0, time.time()
    try:
        for number in todo_chunks:
            cells = plan[number]
            jobs = [(text, key, settings, s) for key, text in cells for s in seeds if (key, s) not in partial]
            if limit is not None:
                jobs = jobs[: max(0, limit - trained)]
            results = pool.imap(_train_job, jobs) if pool else map(_train_job, jobs)
            with open(shard_dir(table) / "partial.jsonl", "a") as f:
                for row in results:
                    f.write(json.dumps(row, separators=(",", ":")) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                    partial[row["key"], row["seed"]] = row
                    trained += 1
            if all((key, s) in partial for key, _ in cells for s in seeds):
                rows = [partial.pop((key, s)) for key, _ in cells for s in seeds]
                path = write_shard(table, number, rows, settings)
                _rewrite_partial(table, partial)
                rate = trained / max(time.time() - t0, 1e-9) * 3600
                print(f"chunk {number} done -> {path.name} ({rate:.0f} trainings per hour)", file=sys.stderr)
            if limit is not None and trained >= limit:
                break
    finally:
        if pool is not None:
            pool.close()
            pool.join()


def _rewrite_partial(table: str, partial: dict[tuple[str, int], dict[str, Any]]) -> None:
    path = shard_dir(table) / "partial.jsonl"
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in partial.values()))
    os.replace(tmp, path)


def status(table: str) -> None:
    plan = chunk_order(representatives())
    done = read_shards(table)
    rows = [r for rs in done.values() for r in rs]
    seeds = MULTI_SEED[table]
    seconds = sum(r.get("train_seconds", 0.0) for r in rows)
    cells = len({r["key"] for r in rows})
    total = sum(len(c) for c in plan)
    print(
        f"{table}: {len(done)} of {len(plan)} chunks, {cells} of {total} distinct cells x {len(seeds)} seeds "
        f"({len(rows)} trainings, {sum(r['status'] == 'failed' for r in rows)} diverged); "
        f"{len(read_partial(table))} trainings in the partial chunk"
    )
    if rows:
        per = seconds / len(rows)
        left = (total * len(seeds) - len(rows)) * per / 3600
        print(
            f"{per:.2f} s per training as measured while training (wall clock, one thread: a busy machine "
            f"inflates it; about 0.6 s on an idle core): about {left:.1f} such core-hours left"
        )


def pack_seeds(table: str, partial: bool) -> None:
    """Shards -> ``nasnb/evaluation/tables/<table>.npz``: arrays over (cell, seed[, epoch])."""
    from nasnb.evaluation.recipes import recipe
    from nasnb.spaces import CellSpace

    settings = recipe(table)
    seeds = MULTI_SEED[table]
    reps = representatives()
    keys = [k for k, _ in reps]
    position = {k: i for i, k in enumerate(keys)}
    rows = [r for rs in read_shards(table).values() for r in rs]
    if partial:
        rows += list(read_partial(table).values())
    n, s, e = len(keys), len(seeds), settings["epochs"]
    status = np.full((n, s), STATUS["missing"], dtype=np.uint8)
    curves = {name: np.full((n, s, e), np.nan, dtype=np.float32) for name in CURVES}
    scalars = {
        name: np.full((n, s), np.nan, dtype=np.float32) for name in ("test_accuracy", "test_loss", "train_seconds")
    }
    params = np.full(n, -1, dtype=np.int64)
    macs = np.full(n, -1, dtype=np.int64)
    for r in rows:
        i, j = position[r["key"]], seeds.index(r["seed"])
        status[i, j] = STATUS[r["status"]]
        if r["status"] != "ok":
            continue
        params[i], macs[i] = r["params"], r["macs"]
        for name in scalars:
            scalars[name][i, j] = r[name]
        for name in CURVES:
            values = r["curves"][name]
            curves[name][i, j, : len(values)] = values
    if not partial and np.any(status == STATUS["missing"]):
        raise SystemExit(f"{int(np.sum(status == STATUS['missing']))} trainings missing; pass --partial to pack anyway")
    index = np.array([position[a.key] for a in CellSpace()], dtype=np.uint16)
    PACKAGE_TABLES.mkdir(parents=True, exist_ok=True)
    target = PACKAGE_TABLES / f"{table}.npz"
    np.savez_compressed(
        target,
        index=index,
        keys=np.array(keys),
        seeds=np.array(seeds, dtype=np.int64),
        seed_status=status,
        params=params,
        macs=macs,
        recipe=np.array(json.dumps(settings)),
        **{f"seed_{name}": v for name, v in scalars.items()},
        **{f"seed_{name}": v for name, v in curves.items()},
    )
    done = int(np.sum(np.all(status != STATUS["missing"], axis=1)))
    print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB, {done} of {n} cells with every seed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["train", "pack", "status"])
    parser.add_argument("--table", "--dataset", dest="table", default="digits")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--partial", action="store_true", help="pack even if cells are missing")
    parser.add_argument("--limit", type=int, default=None, help="train at most N more (cell, seed) pairs")
    parser.add_argument("--chunks", default=None, help="multi-seed tables: only chunks A:B (disjoint per process)")
    parser.add_argument("--population", type=int, default=None, help="single-seed table: train K cells per batch")
    args = parser.parse_args()
    if args.population is not None and (args.population < 1 or args.table in MULTI_SEED or args.command != "train"):
        raise SystemExit(
            "--population K (K >= 1) is for `train` of the single-seed table, whose recipe is the Trainer's; "
            "multi-seed tables train with recipes.train_cell, which PopulationTrainer does not reproduce"
        )
    if args.table in MULTI_SEED:
        if args.command == "train":
            chunks = tuple(int(x) for x in args.chunks.split(":")) if args.chunks else None
            train_seeds(args.table, args.workers, chunks, args.limit)
        elif args.command == "status":
            status(args.table)
        else:
            pack_seeds(args.table, args.partial)
    elif args.command == "train":
        train(args.table, args.workers, args.limit, args.population)
    elif args.command == "pack":
        pack(args.table, args.partial)
    else:
        raise SystemExit(f"status is for the multi-seed tables {sorted(MULTI_SEED)}")


if __name__ == "__main__":
    main()
