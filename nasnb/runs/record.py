"""Recording a live search: the run config, the trial log, checkpoints and the writer's lock.

``RunRecorder`` is the only object that writes to a run directory. It takes the directory's
lock before anything else (so creating a run is not exists-then-write: a second writer is
refused before it can look), writes ``run.json`` once, appends each trial as it lands, saves
checkpoints, and rewrites the budget in force when a resume changes it.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from ..trial import Proposal, Trial, jsonable
from .files import (
    CHECKPOINT_FILE,
    RUN_FILE,
    RunLogError,
    RunWriter,
    check_run_dir,
    read_config,
    write_json_atomic,
)
from .lock import RunLock

LATE_FILE = "late.jsonl"
FORMAT = 2  # 2: checkpoints carry pending proposals and the run id; trials may land out of id order


def run_config(
    *,
    space: dict[str, Any],
    strategy: dict[str, Any],
    seed: int,
    budget: dict[str, Any] | None,
    metric: str,
    evaluator: dict[str, Any],
    max_pending: int,
    trial_timeout: float | None,
    isolate: bool = False,
) -> dict[str, Any]:
    """What ``run.json`` holds: enough to rebuild the search and to replay it exactly."""
    import numpy

    versions = {"nasnb": _version(), "python": platform.python_version(), "numpy": numpy.__version__}
    torch = sys.modules.get("torch")
    if torch is not None:
        versions["torch"] = torch.__version__
    return {
        "format": FORMAT,
        "run_id": uuid.uuid4().hex,
        "space": space,
        "strategy": strategy,
        "seed": seed,
        "budget": budget,
        "metric": metric,
        "evaluator": evaluator,
        "max_pending": max_pending,
        "trial_timeout": trial_timeout,
        "isolate": isolate,
        "versions": versions,
        "created": time.time(),
    }


class RunRecorder:
    """A locked, open run directory this process writes to."""

    def __init__(self, path: Path, config: dict[str, Any], lock: RunLock, writer: RunWriter | None) -> None:
        self.path = path
        self.config = config
        self._lock = lock
        self._writer = writer
        self.closed = False

    @classmethod
    def create(cls, run_dir: str | os.PathLike, config: dict[str, Any]) -> RunRecorder:
        """Start a new run in ``run_dir`` (made if missing); refused if it holds a run or is in use."""
        path = Path(run_dir)
        check_run_dir(path, new=True)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunLogError(f"cannot create run directory {str(path)!r}: {err.strerror or err}") from None
        lock = RunLock(path).acquire()
        try:
            writer = RunWriter(path, config)
        except BaseException:
            lock.release()
            raise
        return cls(path, config, lock, writer)

    @classmethod
    def reopen(cls, run_dir: str | os.PathLike) -> RunRecorder:
        """Take the lock of an existing run and read its config; ``open_log`` once the log is read."""
        path = Path(run_dir)
        check_run_dir(path)
        lock = RunLock(path).acquire()
        try:
            config = read_config(path)
        except BaseException:
            lock.release()
            raise
        return cls(path, config, lock, None)

    def open_log(self, good_length: int) -> None:
        """Append after the log's clean prefix (``good_length`` bytes, as read once by restore)."""
        self._writer = RunWriter(self.path, None, resume=True, good_length=good_length)

    @property
    def run_id(self) -> str | None:
        return self.config.get("run_id")

    def append(self, trial: Trial) -> None:
        self._writer.append(trial)

    def save_checkpoint(
        self,
        *,
        strategy_state: dict[str, Any],
        told: int,
        asked: int,
        pending: list[tuple[int, Proposal]],
        max_pending: int,
        cap: int | None,
        elapsed: float,
    ) -> None:
        """What resume needs besides the log. The pending proposals are kept too, so a checkpoint
        taken while a trial is out (a stop, Ctrl-C) continues exactly; ``run_id`` ties it to this run."""
        self._writer.save_checkpoint(
            {
                "run_id": self.run_id,
                "n_told": told,
                "n_asked": asked,
                "max_pending": max_pending,
                "cap": cap,
                "elapsed": elapsed,
                "strategy": strategy_state,
                "pending": [
                    {"id": i, "arch": str(p.arch), "decision": p.decision, "fidelity": jsonable(p.fidelity)}
                    for i, p in pending
                ],
            }
        )

    def set_config(self, **changes: Any) -> None:
        """Record settings that changed on resume (the budget in force), atomically."""
        if all(self.config.get(k) == v for k, v in changes.items()):
            return
        self.config = {**self.config, **changes}
        write_json_atomic(self.path / RUN_FILE, self.config)

    def note_late(self, record: dict[str, Any]) -> None:
        """A result that came after its trial was given up (time limit): kept for the record, never used."""
        # written even after close(): the note file is append-only and separate from the trial log
        line = json.dumps(jsonable({**record, "note": "after its time limit"}), separators=(",", ":")) + "\n"
        with open(self.path / LATE_FILE, "a", encoding="utf-8") as f:
            f.write(line)

    def close(self) -> None:
        self.closed = True
        if self._writer is not None:
            self._writer.close()
        self._lock.release()

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT_FILE


def _version() -> str:
    from .. import __version__

    return __version__
