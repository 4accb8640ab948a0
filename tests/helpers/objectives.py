"""Module-level objectives, importable by worker processes (Dask, process pools)."""

import os
import time


def planted_cell(arch, epochs=None):
    """Known per-op effects; also reports which process evaluated it."""
    score = sum({"conv_3x3": 1.0, "conv_1x1": 0.6, "skip_connect": 0.3}.get(op, 0.0) for op in arch.values())
    time.sleep(0.02)
    return {"accuracy": score / 6.0, "pid": os.getpid()}


def digest(arch) -> int:
    """A stable hash of an architecture's text (Python's hash() changes between processes)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(str(arch)))


def stepwise(arch, epochs=None):
    """A deterministic objective in small cooperative steps, failing for about one architecture in eleven.

    Stands in for training: it calls checkpoint() and reports progress between steps, so a search
    can stop or pause it mid-way; epochs (halving, hyperband) scale the score as a short training would.
    """
    from nasnb.evaluation import checkpoint, report_progress

    d = digest(arch)
    for step in range(3):
        checkpoint()
        time.sleep(0.001)
        report_progress(epoch=step + 1, epochs=3)
    if d % 11 == 0:
        raise RuntimeError(f"loss is nan for {d % 97}")
    accuracy = (d % 1000) / 1000
    if epochs is not None:
        accuracy *= 1 - 0.5 ** (epochs + 1)
    return {"accuracy": accuracy, "params": float(d % 50)}


def hangs_sometimes(arch, epochs=None, cooperative=False, seconds=1.6):
    """stepwise, except that one architecture in seven hangs: in a plain sleep, or in checkpoint() calls."""
    from nasnb.evaluation import checkpoint

    if digest(arch) % 7 == 0:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if cooperative:
                checkpoint()
            time.sleep(0.01)
        return {"accuracy": 0.999}  # a late result that must never be used
    return stepwise(arch, epochs)


def timed_out_reference(arch, epochs=None):
    """What hangs_sometimes gives once its hangs are cut short: the same failures, at once."""
    if digest(arch) % 7 == 0:
        raise TimeoutError("hung")
    return stepwise(arch, epochs)


def dies_once(arch, epochs=None, marker_dir=None):
    """stepwise, but the first evaluation of one architecture in five kills its worker process outright."""
    from pathlib import Path

    if digest(arch) % 5 == 0:
        marker = Path(marker_dir) / f"{digest(arch)}"
        if not marker.exists():
            marker.write_text("died here once")
            os._exit(1)
    return stepwise(arch, epochs)


def sleeps_forever_sometimes(arch, epochs=None):
    """stepwise, except that one architecture in seven sleeps for ever where no stop request reaches it."""
    if digest(arch) % 7 == 0:
        time.sleep(10**6)
    return stepwise(arch, epochs)


def sleeps_forever(arch, epochs=None):
    """An evaluator that never returns and never checks in."""
    time.sleep(10**6)
