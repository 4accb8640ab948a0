"""The one knob for torch's CPU threads: ``threads=`` on every evaluator, default 1.

NAS trains and scores many *small* networks. On a busy 2-core machine, torch's default of one
thread per core made them 4-10x slower than a single thread (the threads wait on each other),
and DARTS even found a different cell for the same seed, because parallel reductions add in a
different order. So every evaluator that runs torch -- ``Trainer``, ``ProxyEvaluator`` (and
``prescreen``), ``DARTS`` -- and the explainers that run networks take the same argument:

* ``threads=1`` (default): one thread during each call, torch's setting restored afterwards;
* ``threads=N``: N threads, for a large model on an idle many-core machine;
* ``threads=None``: leave torch's setting alone (e.g. you called ``torch.set_num_threads`` yourself).

The setting applies only inside the call, so an evaluator never changes the notebook's torch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from .._checks import check_int

#: threads per evaluation unless an evaluator is told otherwise
DEFAULT_THREADS = 1


def check_threads(owner: object, threads: int | None) -> None:
    """``threads`` must be None or an int >= 1 (the error names ``owner``)."""
    check_int(owner, "threads", threads, low=1, optional=True)


@contextmanager
def limited_threads(threads: int | None, owner: object = "threads") -> Iterator[None]:
    """Run a block on ``threads`` CPU threads (None: leave torch's setting), restoring it afterwards."""
    check_threads(owner, threads)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if threads is not None:
            torch.set_num_threads(previous)


__all__ = ["DEFAULT_THREADS", "check_threads", "limited_threads"]
