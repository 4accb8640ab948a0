"""Search's executor seam for a population: calls from k worker threads meet in one batch."""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from typing import TYPE_CHECKING, Any

from ..spaces import Architecture

if TYPE_CHECKING:
    from .population import PopulationTrainer


class _Gather:
    """Collects calls from the executor's threads and trains them as one batch.

    The first caller of a batch leads it: it waits until ``size`` calls have arrived or none
    has arrived for ``linger`` seconds, trains them all with ``evaluate_batch``, and hands each
    waiting caller its own result.
    """

    def __init__(self, trainer: PopulationTrainer, size: int, linger: float) -> None:
        self.trainer = trainer
        self.size = size
        self.linger = linger
        self.cond = threading.Condition()
        self.pending: list[_Call] = []
        self.last_arrival = 0.0

    def submit(self, arch: Architecture, epochs: int | None) -> dict[str, Any]:
        call = _Call(arch, epochs)
        with self.cond:
            self.pending.append(call)
            self.last_arrival = time.monotonic()
            self.cond.notify_all()
            leader = len(self.pending) == 1
            if leader:
                while len(self.pending) < self.size:
                    left = self.linger - (time.monotonic() - self.last_arrival)
                    if left <= 0:
                        break
                    self.cond.wait(left)
                batch, self.pending = self.pending, []
        if leader:
            self._run(batch)
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]

    def _run(self, batch: list[_Call]) -> None:
        by_epochs: dict[int | None, list[_Call]] = {}
        for call in batch:
            by_epochs.setdefault(call.epochs, []).append(call)
        for epochs, calls in by_epochs.items():
            try:
                results = self.trainer.evaluate_batch([c.arch for c in calls], epochs=epochs)
            except BaseException as err:  # every waiting caller learns what went wrong
                for call in calls:
                    call.error = err
                    call.done.set()
                continue
            for call, result in zip(calls, results):
                call.result = result
                call.done.set()


class _Call:
    __slots__ = ("arch", "epochs", "result", "error", "done")

    def __init__(self, arch: Architecture, epochs: int | None) -> None:
        self.arch, self.epochs = arch, epochs
        self.result: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()


class PopulationExecutor(cf.ThreadPoolExecutor):
    """A ``concurrent.futures`` executor whose ``k`` worker threads train their calls as one batch.

    ``Search(space, strategy, trainer, executor=trainer.executor(k))`` keeps up to ``k``
    proposals in flight (as with a Dask executor); their calls to ``trainer`` meet in one batch.
    The search records each trial exactly as with ``Trainer``: same metrics, same run log.
    """

    def __init__(self, trainer: PopulationTrainer, k: int, *, linger: float = 0.2) -> None:
        from .population import PopulationTrainer  # here: population.py imports this module

        if not isinstance(trainer, PopulationTrainer):
            raise TypeError(f"PopulationExecutor needs a PopulationTrainer, got {type(trainer).__name__}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"PopulationExecutor k (candidates per batch) must be an int >= 1, got {k!r}")
        if not isinstance(linger, (int, float)) or linger <= 0:
            raise ValueError(f"PopulationExecutor linger must be a number of seconds > 0, got {linger!r}")
        super().__init__(max_workers=k, thread_name_prefix="nasnb-population")
        self.trainer = trainer
        trainer._gather = _Gather(trainer, k, float(linger))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        self.trainer._gather = None


__all__ = ["PopulationExecutor"]
