"""Trained weights kept in a run directory, so a found architecture can be reloaded and deployed.

A search records what each architecture scored; without its weights, the best model would have to
be trained again before it could be compressed or exported. ``Trainer(keep_weights="best")``
(or ``"all"``) writes ``<run_dir>/weights/<arch>-e<epochs>.pt`` after each training: one file per
distinct architecture and requested number of epochs, so two isomorphic cells share a file (they
compute the same function) and a low-fidelity rung of successive halving never overwrites the full
training. Each file is self-describing (architecture, space, network options, input shape, dataset
and metrics beside the state dict), so ``nasnb.load_model`` rebuilds the module from it alone.

With ``"best"`` only the most accurate so far is kept (``best.json`` names it; ties keep the
earlier to finish); the file is written to a temporary name, flushed to disk and renamed into place
under a lock, so Dask workers or threads sharing the run directory cannot leave a worse model or a
half-written file behind. Two trials that tie can finish in either order, so the one whose weights were
kept may not be the one ``Run.best`` names (the earliest in the log): ``load_model(run, "best")`` then
takes the tied trial whose weights exist.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

WEIGHTS_DIR = "weights"
BEST_FILE = "best.json"
KEEP_WEIGHTS = (None, "best", "all")
FORMAT = 1


class MissingWeightsError(FileNotFoundError):
    """A trial has no kept weights; the message says how to retrain it or keep them next time."""


def weights_name(arch_key: str, epochs: int) -> str:
    """File name for an architecture (its canonical key) trained for ``epochs``."""
    digest = hashlib.sha1(arch_key.encode("utf-8")).hexdigest()[:16]
    return f"{digest}-e{int(epochs)}.pt"


def bind_run_dir(evaluator: Callable[..., Any], run_dir: str | os.PathLike) -> None:
    """Tell an evaluator which run it records into (a Trainer then knows where to keep weights).

    Evaluators without a ``bind_run`` method are left alone, so plain functions keep working.
    """
    bind = getattr(evaluator, "bind_run", None)
    if callable(bind):
        bind(run_dir)


def save_weights(
    weights_dir: str | os.PathLike,
    mode: str,
    *,
    record: Mapping[str, Any],
    state_dict: Mapping[str, Any],
    accuracy: float,
) -> Path | None:
    """Write one trained model; returns the file written, or None when ``"best"`` kept an earlier one."""
    import torch

    if mode not in ("best", "all"):
        raise ValueError(f"keep_weights must be one of {list(KEEP_WEIGHTS)}, got {mode!r}")
    folder = Path(weights_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = weights_name(record["key"], record["epochs"])
    payload = {"format": FORMAT, **record, "accuracy": float(accuracy), "state_dict": dict(state_dict)}
    with _locked(folder):
        best = _read_best(folder)
        if mode == "best" and best is not None and not accuracy > best["accuracy"]:
            return None
        tmp = folder / (name + ".tmp")
        with open(tmp, "wb") as handle:
            torch.save(payload, handle)
            _durable(handle)
        os.replace(tmp, folder / name)
        if mode == "best":
            _write_best(folder, {"file": name, "key": record["key"], "accuracy": float(accuracy)})
            if best is not None and best["file"] != name:
                (folder / best["file"]).unlink(missing_ok=True)
    return folder / name


def read_weights(path: str | os.PathLike) -> dict[str, Any]:
    """The saved record (state dict included) of one weights file."""
    import torch

    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise MissingWeightsError(f"{path} does not exist") from None
    except Exception as err:  # torch raises many kinds for a damaged file
        raise ValueError(f"{path} is not a nasnb weights file ({type(err).__name__}: {err})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "state_dict" not in payload:
        raise ValueError(f"{path} is not a nasnb weights file (format {FORMAT} with a state_dict)")
    return payload


def _read_best(folder: Path) -> dict[str, Any] | None:
    try:
        best = json.loads((folder / BEST_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return best if (folder / str(best.get("file"))).exists() else None


def _write_best(folder: Path, best: dict[str, Any]) -> None:
    tmp = folder / (BEST_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(best))
        _durable(handle)
    os.replace(tmp, folder / BEST_FILE)


def _durable(handle: Any) -> None:
    """Flush a file to the disk before it is renamed into place: a rename alone can survive a crash
    that the file's contents do not, leaving an empty file under the final name."""
    handle.flush()
    os.fsync(handle.fileno())


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on the weights folder (POSIX ``flock``; elsewhere, none needed in-process)."""
    try:
        import fcntl
    except ImportError:  # Windows: a single process is the supported case
        yield
        return
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
