"""The run directory on disk: ``run.json``, ``trials.jsonl``, ``checkpoint.json``.

``trials.jsonl`` is the source of truth: one line per finished trial, flushed and fsynced as
it lands, so a killed process loses at most the evaluation in flight. The checkpoint only
saves replay time; it is written atomically (temp file + rename) and may lag behind the log.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from ..trial import Trial

RUN_FILE = "run.json"
TRIALS_FILE = "trials.jsonl"
CHECKPOINT_FILE = "checkpoint.json"


class RunLogError(RuntimeError):
    """A run directory cannot be read or continued; the message says what to do."""


class RunLogWarning(UserWarning):
    """Part of a run log was skipped (e.g. a line cut short when the process was killed)."""


def write_json_atomic(path: Path, data: Any, *, fsync: bool = True) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, allow_nan=True)
        f.flush()
        if fsync:
            os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise RunLogError(f"{path} not found: is {path.parent} a nasnb run directory?") from None
    except json.JSONDecodeError as err:
        raise RunLogError(f"{path} is not valid JSON ({err}); the run config is damaged") from None


def read_trials(path: Path) -> tuple[list[Trial], list[str], int]:
    """Trials of a ``trials.jsonl``, the problems met, and the byte length of the good prefix.

    A bad line (truncated by a kill, or corrupt) is reported and skipped, never fatal. The
    good-prefix length lets a writer cut a torn last line before appending after it.
    """
    trials: list[Trial] = []
    problems: list[str] = []
    good = 0
    if not path.exists():
        return trials, problems, good
    data = path.read_bytes()
    lines = data.split(b"\n")
    offset = 0
    for number, raw in enumerate(lines, start=1):
        end = min(offset + len(raw) + 1, len(data))
        offset = end
        if not raw.strip():
            continue
        try:
            trial = Trial.from_dict(json.loads(raw.decode("utf-8")))
        except (ValueError, TypeError, UnicodeDecodeError) as err:
            last = not any(x.strip() for x in lines[number:])
            where = "last line (cut short when the run was killed?)" if last else f"line {number}"
            problems.append(f"{path.name} {where} skipped: {type(err).__name__}: {str(err)[:120]}")
            continue
        trials.append(trial)
        good = end
    return trials, problems, good


def report(problems: list[str]) -> None:
    for problem in problems:
        warnings.warn(problem, RunLogWarning, stacklevel=3)


class RunWriter:
    """Appends trials and checkpoints to a run directory."""

    def __init__(self, run_dir: str | os.PathLike, config: dict[str, Any] | None, *, resume: bool = False):
        self.path = Path(run_dir)
        self.trials_path = self.path / TRIALS_FILE
        if resume:
            if not (self.path / RUN_FILE).exists():
                raise RunLogError(f"cannot resume: {self.path / RUN_FILE} does not exist")
            _, _, good = read_trials(self.trials_path)
            if self.trials_path.exists() and good < self.trials_path.stat().st_size:
                with open(self.trials_path, "r+b") as f:  # cut the torn tail before appending
                    f.truncate(good)
        else:
            if (self.path / RUN_FILE).exists():
                raise RunLogError(
                    f"{self.path} already holds a run; continue it with Search.resume({str(self.path)!r}) "
                    f"or `nasnb resume {self.path}`, or choose another run directory"
                )
            self.path.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.path / RUN_FILE, config)
        self._file = open(self.trials_path, "ab")
        if self._file.tell() > 0:
            with open(self.trials_path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    self._file.write(b"\n")

    def append(self, trial: Trial) -> None:
        self._file.write(trial.to_json().encode("utf-8") + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        write_json_atomic(self.path / CHECKPOINT_FILE, state, fsync=False)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
