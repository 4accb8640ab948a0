"""Evaluations in a child process that can be killed: ``Search(..., isolate=True)``.

By default a search runs its evaluator in a thread of the notebook's own process (fast, and a
closure defined in the notebook just works). A thread cannot be killed, so an evaluator that hangs
where no stop request reaches it (a blocking call, ``time.sleep(10**6)``, a deadlock in C code) keeps
its thread after ``trial_timeout`` has failed its trial. With ``isolate=True`` each evaluation runs
in a child process instead; at the time limit, on ``stop()`` or Ctrl-C that child is killed and a
fresh one takes the next evaluation. The price: the child imports torch and loads its dataset once
(a second or two before the first trial, again after each kill), and the evaluator must pickle
(cloudpickle, installed with the ``dask`` extra, takes notebook functions and closures).

``IsolatedExecutor`` is a ``concurrent.futures.Executor``, so ``run()`` drives it like any other
(``nasnb/parallel.py``); cancelling a running future kills its process. ``step()`` evaluates through
``evaluate_isolated``, which waits for the child in short slices so a stop or the time limit
reaches it like any cooperative evaluation.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
from typing import Any

POLL = 0.05  # seconds between looks at a kill request while a child evaluates
STARTED = b"s"  # the child's word that it has unpickled the call and runs it


class IsolatedFuture(cf.Future):
    """A future whose ``cancel()`` also ends a running task, by killing the process it runs in."""

    def __init__(self) -> None:
        super().__init__()
        self.kill_requested = threading.Event()
        self.killed = False

    def cancel(self) -> bool:
        if super().cancel():
            return True
        if self.done():
            return False
        self.kill_requested.set()  # the slot's thread kills the child within POLL seconds
        self.killed = True
        return True


class IsolatedExecutor(cf.Executor):
    """Runs each submitted call in one of ``max_workers`` child processes (spawned on first use)."""

    reports_running = True  # futures turn running() when the child starts the call (for time limits)

    def __init__(self, max_workers: int = 1) -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers must be an int >= 1, got {max_workers!r}")
        self._max_workers = max_workers
        self._tasks: queue.SimpleQueue[tuple[IsolatedFuture, bytes] | None] = queue.SimpleQueue()
        self._slots: list[_Slot] = []
        self._shutdown = False
        self._lock = threading.Lock()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> IsolatedFuture:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to an IsolatedExecutor after shutdown()")
            payload = _dumps((fn, args, kwargs))
            future = IsolatedFuture()
            self._tasks.put((future, payload))
            if len(self._slots) < self._max_workers:
                slot = _Slot(self._tasks)
                self._slots.append(slot)
                slot.start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the children; ``cancel_futures`` also kills the ones evaluating."""
        with self._lock:
            self._shutdown = True
            slots = list(self._slots)
        if cancel_futures:
            while True:
                try:
                    item = self._tasks.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for slot in slots:
            if cancel_futures and slot.current is not None:
                slot.current.cancel()
            self._tasks.put(None)
        if wait:
            for slot in slots:
                slot.join()

    @property
    def pids(self) -> list[int]:
        """Process ids of the live children (for tests and for a user looking at ``ps``)."""
        return [s.process.pid for s in self._slots if s.process is not None and s.process.is_alive()]


class _Slot(threading.Thread):
    """One child process and the thread that feeds it tasks and watches for kill requests."""

    def __init__(self, tasks: queue.SimpleQueue) -> None:
        super().__init__(name="nasnb-isolate", daemon=True)
        self._tasks = tasks
        self.process: multiprocessing.process.BaseProcess | None = None
        self._conn: Any = None
        self.current: IsolatedFuture | None = None

    def run(self) -> None:
        try:
            while (item := self._tasks.get()) is not None:
                future, payload = item
                if future.cancelled():
                    continue
                self.current = future
                try:
                    self._run(future, payload)
                finally:
                    self.current = None
        finally:
            self._stop_child()

    def _run(self, future: IsolatedFuture, payload: bytes) -> None:
        """Send one call to the child; the future turns running when the child starts it (imports done)."""
        started = False
        try:
            self._ensure_child()
            self._conn.send_bytes(payload)
            while True:
                if self._conn.poll(POLL):
                    message = self._conn.recv_bytes()
                    if not started:
                        started = True
                        if not future.set_running_or_notify_cancel():
                            self._kill()
                            return
                        if message == STARTED:
                            continue
                    ok, value = pickle.loads(message)
                    break
                if future.cancelled() or future.kill_requested.is_set():
                    self._kill()
                    if started:
                        future.set_exception(cf.CancelledError("the evaluation's process was killed"))
                    return
                if not self.process.is_alive():
                    raise ChildProcessError(f"exit code {self.process.exitcode}")
        except (EOFError, OSError, ChildProcessError) as err:
            self._kill()
            if not future.done():
                future.set_exception(ChildProcessError(f"the evaluation's process died ({type(err).__name__}: {err})"))
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def _ensure_child(self) -> None:
        if self.process is not None and self.process.is_alive():
            return
        context = multiprocessing.get_context("spawn")  # no fork: the parent runs threads (and maybe torch)
        parent, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, os.getpid()), name="nasnb-isolated", daemon=True)
        self.process.start()
        child.close()
        self._conn = parent

    def _kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.join(5)
            self.process = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _stop_child(self) -> None:
        if self.process is not None and self.process.is_alive() and self._conn is not None:
            try:
                self._conn.send_bytes(b"")  # asks the child to exit
                self.process.join(2)
            except OSError:
                pass
        self._kill()


def evaluate_isolated(executor: IsolatedExecutor, evaluator: Any, proposal: Any, metric: str) -> Any:
    """``evaluate`` in the executor's child; a stop or time limit met while waiting kills the child."""
    from .evaluation.control import EvaluationInterrupted, checkpoint
    from .evaluation.runner import Outcome, describe_error, evaluate
    from .trial import FAILED

    t0 = time.perf_counter()
    future = executor.submit(evaluate, evaluator, proposal, metric)
    try:
        while True:
            try:
                return future.result(timeout=POLL)
            except cf.TimeoutError:
                checkpoint()  # raises EvaluationInterrupted when the search stops or the time limit passes
    except (EvaluationInterrupted, KeyboardInterrupt):
        future.cancel()
        raise
    except Exception as err:  # the child died (a crash in C code, os._exit): a failed trial
        return Outcome(FAILED, {}, describe_error(err), time.perf_counter() - t0)


def _dumps(value: Any) -> bytes:
    """The call as bytes for the child (cloudpickle where installed); a TypeError saying why not."""
    try:
        import cloudpickle

        dumps = cloudpickle.dumps
    except ImportError:
        dumps = pickle.dumps
    try:
        return dumps(value)
    except Exception as err:
        hint = "" if dumps is not pickle.dumps else "; install cloudpickle for functions defined in a notebook"
        raise TypeError(
            f"isolate=True sends the evaluator to a child process, but it cannot be pickled "
            f"({type(err).__name__}: {str(err)[:200]}){hint}"
        ) from None


def _serve(conn: Any, parent_pid: int) -> None:
    """The child's loop: run each call it receives and send back (ok, result or exception)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which decides to kill us
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    while True:
        try:
            payload = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not payload:
            return
        try:
            fn, args, kwargs = pickle.loads(payload)
            conn.send_bytes(STARTED)
            reply = (True, fn(*args, **kwargs))
        except BaseException as err:  # sent back to the parent, which records a failed trial
            reply = (False, err)
        try:
            data = pickle.dumps(reply)
        except Exception as err:
            data = pickle.dumps((False, TypeError(f"the evaluation's result cannot be pickled: {err}")))
        conn.send_bytes(data)


def _exit_with_parent(parent_pid: int) -> None:
    """End this child when its parent is gone (killed with -9), so no evaluation is left running."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(0)
