"""The run directory on disk: ``run.json``, ``trials.jsonl``, ``checkpoint.json``.

``trials.jsonl`` is the source of truth: one line per finished trial, flushed and fsynced as
it lands, so a killed process loses at most the evaluation in flight. The checkpoint only
saves replay time; it is written atomically (temp file + rename) and may lag behind the log.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any, NamedTuple

from ..trial import Trial, compact_trial

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
    except IsADirectoryError:
        raise RunLogError(f"{path} is a directory, not a file: this is not a nasnb run directory") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RunLogError(f"{path} is not valid JSON ({str(err)[:120]}); the file is damaged") from None
    except OSError as err:
        raise RunLogError(f"{path} cannot be read: {err.strerror or err}") from None


def read_config(run_dir: Path) -> dict[str, Any]:
    """run.json, checked to be a run's configuration (a dict naming its space and strategy)."""
    check_run_dir(run_dir)
    config = read_json(run_dir / RUN_FILE)
    if not isinstance(config, dict):
        raise RunLogError(
            f"{run_dir / RUN_FILE} holds a JSON {type(config).__name__}, not a run's configuration "
            "(an object with space, strategy, seed ...); the file is damaged or not from nasnb"
        )
    missing = [k for k in ("space", "strategy", "evaluator") if not isinstance(config.get(k), dict)]
    if missing:
        raise RunLogError(
            f"{run_dir / RUN_FILE} lacks {', '.join(missing)}: it is not a complete nasnb run configuration"
        )
    return config


def check_run_dir(run_dir: Path, *, new: bool = False) -> None:
    """Clear errors for paths that cannot be a run directory (empty, a file, a file inside it that is a folder)."""
    if str(run_dir) in ("", "."):
        if new:
            raise RunLogError("the run directory is empty: name a folder for the run, e.g. runs/demo")
    if run_dir.exists() and not run_dir.is_dir():
        raise RunLogError(f"run directory {str(run_dir)!r} is a file, not a directory: choose another path")
    if not new and not run_dir.exists():
        raise RunLogError(f"run directory {str(run_dir)!r} does not exist")
    for name in (RUN_FILE, TRIALS_FILE, CHECKPOINT_FILE):
        if (run_dir / name).is_dir():
            raise RunLogError(f"{run_dir / name} is a directory; a run keeps a file there. Remove or rename it")


class TrialLog(NamedTuple):
    """What ``read_trials`` found in a ``trials.jsonl``."""

    trials: list[Trial]  # in log order (the order they finished)
    problems: list[str]  # one line per skipped (truncated or corrupt) record
    good_length: int  # bytes of the clean prefix: a writer cuts a torn tail there before appending


def read_trials(path: Path) -> TrialLog:
    """Trials of a ``trials.jsonl``, the problems met, and the byte length of the good prefix.

    A bad line (truncated by a kill, or corrupt) is reported and skipped, never fatal. The
    good-prefix length lets a writer cut a torn last line before appending after it.
    """
    trials: list[Trial] = []
    problems: list[str] = []
    good = 0
    if not path.exists():
        return TrialLog(trials, problems, good)
    if path.is_dir():
        raise RunLogError(f"{path} is a directory; a run keeps its trial log there. Remove or rename it")
    data = path.read_bytes()
    fast = _read_all_at_once(data)
    if fast is not None:
        return TrialLog(fast, problems, len(data))
    lines = data.split(b"\n")
    offset = 0
    for number, raw in enumerate(lines, start=1):
        end = min(offset + len(raw) + 1, len(data))
        offset = end
        if not raw.strip():
            continue
        try:
            trial = compact_trial(json.loads(raw.decode("utf-8")))
        except (ValueError, TypeError, UnicodeDecodeError) as err:
            last = not any(x.strip() for x in lines[number:])
            where = "last line (cut short when the run was killed?)" if last else f"line {number}"
            problems.append(f"{path.name} {where} skipped: {type(err).__name__}: {str(err)[:120]}")
            continue
        trials.append(trial)
        good = end
    return TrialLog(trials, problems, good)


# the start of a line as Trial.to_json writes it, up to the decision; the arch is matched as a whole JSON
# string, so the "decision" found after it is the record's own, never one nested inside a value
_HEAD = re.compile(r'\{"id":-?\d+,"step":-?\d+,"arch":"(?:[^"\\]|\\.)*","decision":')
_DECODER = json.JSONDecoder()


def _read_all_at_once(data: bytes) -> list[Trial] | None:
    """Every line in one JSON parse (keys shared between records), or None if any line is bad.

    One ``json.loads`` over the whole log is several times faster than one per line and, since
    the parser memoises object keys within a call, all records share their key strings. Each
    decision is cut out of its line first and kept as text (``compact_trial``): it is parsed
    once here to find where it ends, and again only if someone reads it.
    """
    body = data.rstrip(b"\n")
    if not body or not data.endswith(b"\n") or b"\n\n" in body:
        return None
    try:
        lines = body.decode("utf-8").split("\n")
        decisions: list[str | None] = []
        for n, line in enumerate(lines):
            head = _HEAD.match(line)
            if head is None:
                decisions.append(None)
                continue
            start = head.end()
            end = _DECODER.raw_decode(line, start)[1]
            decisions.append(line[start:end])
            lines[n] = line[:start] + "{}" + line[end:]
        records = json.loads("[" + ",".join(lines) + "]")
        if len(records) != len(lines):  # a line holding two values: let the slow path name it
            return None
        return [compact_trial(r, d) for r, d in zip(records, decisions)]
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def report(problems: list[str]) -> None:
    for problem in problems:
        warnings.warn(problem, RunLogWarning, stacklevel=3)


class RunWriter:
    """Appends trials and checkpoints to a run directory."""

    def __init__(
        self,
        run_dir: str | os.PathLike,
        config: dict[str, Any] | None,
        *,
        resume: bool = False,
        good_length: int | None = None,
    ):
        self.path = Path(run_dir)
        self.trials_path = self.path / TRIALS_FILE
        if resume:
            if not (self.path / RUN_FILE).exists():
                raise RunLogError(f"cannot resume: {self.path / RUN_FILE} does not exist")
            good = good_length if good_length is not None else read_trials(self.trials_path).good_length
            if self.trials_path.exists() and good < self.trials_path.stat().st_size:
                with open(self.trials_path, "r+b") as f:  # cut the torn tail before appending
                    f.truncate(good)
        else:
            if (self.path / RUN_FILE).exists():
                raise RunLogError(
                    f"{self.path} already holds a run; continue it with nasnb.resume_search({str(self.path)!r}) "
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
