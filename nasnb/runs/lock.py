"""One writer per run directory: an OS lock on ``<run>/.lock``.

The lock is ``flock`` on an open file, taken without waiting: the kernel grants it to one open
file at a time and drops it when its holder exits, however it exits (kill -9 included), so a
lock can never outlive its process. The holder writes who it is (pid, host, command, since) into
the file, which is what a refused writer is told. A file naming a process that no longer holds
the lock is a stale record, detected and overwritten. Readers (``load_run``, ``nasnb show``, the
panel) never take the lock: they read the append-only log while a run is live.

On Windows, where there is no ``flock``, the same is done with ``msvcrt.locking`` on one byte far
past the holder record (Windows byte locks are mandatory, so locking the record itself would stop a
refused writer from reading who holds it); Windows also drops the lock when its holder exits. That
path is chosen by platform and has not been run here (the project is tested on Linux).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from .files import RunLogError

LOCK_FILE = ".lock"

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # everywhere but Windows
    msvcrt = None  # type: ignore[assignment]

WINDOWS_LOCK_OFFSET = 1 << 20  # the byte msvcrt locks: past any holder record, which stays readable


class RunLocked(RunLogError):
    """Another process (or another Search in this one) is writing to this run directory."""


class RunLock:
    """An exclusive hold on a run directory while this process writes to it."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock at once or raise RunLocked naming the holder."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        if not _lock(fd):
            holder = _read(fd)
            os.close(fd)
            raise RunLocked(_refusal(self.path.parent, holder)) from None
        previous = _read(fd)
        if previous.get("pid") and not _is_running(previous):
            warnings.warn(
                f"{self.path.parent}: took over from a writer that is gone ({describe(previous)})",
                RuntimeWarning,
                stacklevel=3,
            )
        os.ftruncate(fd, 0)
        _write(fd, json.dumps(holder_info()).encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # no stale record for the next writer
        except OSError:
            pass
        _unlock(fd)
        os.close(fd)  # closing drops the lock too

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __del__(self) -> None:
        self.release()


def holder_info() -> dict[str, Any]:
    """Who this process is, as a refused writer should be told."""
    argv = list(getattr(sys, "argv", None) or ["python"])
    program = Path(argv[0]).name if argv[0] else "python"
    if program in ("cli.py", "nasnb") or argv[0].endswith(os.path.join("nasnb", "cli.py")):
        program = "nasnb"
    elif program in ("ipykernel_launcher.py", "-c", ""):
        program = "python (Jupyter kernel)" if "ipykernel" in program else "python"
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join([program, *argv[1:]])[:300],
        "since": time.time(),
    }


def current_holder(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """Who writes to ``run_dir`` now, or None: for readers that want to say "live"."""
    path = Path(run_dir) / LOCK_FILE
    if (fcntl is None and msvcrt is None) or not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        if not _lock(fd, shared=True):  # Windows has no shared lock: a brief exclusive one
            return _read(fd) or {"pid": None}
        _unlock(fd)
        return None
    finally:
        os.close(fd)


def describe(holder: dict[str, Any]) -> str:
    if not holder.get("pid"):
        return "a process that has not yet said who it is"
    since = holder.get("since")
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if isinstance(since, (int, float)) else "?"
    same = " — this process" if holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname() else ""
    return f"pid {holder['pid']}{same} on {holder.get('host', '?')}, `{holder.get('command', '?')}`, since {started}"


def _refusal(run_dir: Path, holder: dict[str, Any]) -> str:
    here = holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname()
    hint = (
        "another Search in this process writes to it: call .close() on that one first"
        if here
        else "wait for it to finish or stop it (Ctrl-C); reading it (nasnb show, load_run) works meanwhile"
    )
    return f"{run_dir} is in use by {describe(holder)}; {hint}"


def _lock(fd: int, shared: bool = False) -> bool:
    """Take the OS lock on ``fd`` without waiting; False if another open file holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        elif msvcrt is not None:
            os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True  # (with neither, one writer is the user's responsibility)


def _unlock(fd: int) -> None:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        elif msvcrt is not None:
            os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    except OSError:
        pass


def _pread(fd: int, size: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, size, 0)
    os.lseek(fd, 0, os.SEEK_SET)  # Windows has no pread
    return os.read(fd, size)


def _write(fd: int, data: bytes) -> None:
    if hasattr(os, "pwrite"):
        os.pwrite(fd, data, 0)
    else:
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, data)


def _read(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(_pread(fd, 4096).decode("utf-8") or "{}")
    except (ValueError, UnicodeDecodeError, OSError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_running(holder: dict[str, Any]) -> bool:
    if holder.get("host") != socket.gethostname():
        return True  # cannot tell for another machine; assume alive
    if os.name == "nt":  # os.kill(pid, 0) would terminate it there; we hold the lock, so its holder is gone
        return False
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError, OSError):
        return True
    return True
