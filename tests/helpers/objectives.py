"""Module-level objectives, importable by worker processes (Dask, process pools)."""

import os
import time


def planted_cell(arch, epochs=None):
    """Known per-op effects; also reports which process evaluated it."""
    score = sum({"conv_3x3": 1.0, "conv_1x1": 0.6, "skip_connect": 0.3}.get(op, 0.0) for op in arch.values())
    time.sleep(0.02)
    return {"accuracy": score / 6.0, "pid": os.getpid()}
