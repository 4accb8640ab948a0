"""Checks a Search makes before its first trial, and the one it makes after: is the failure systemic?

A wrong setting (``epochs=0``, ``lr=nan``, a CUDA device on a machine without one, the benchmark
table with a space it does not tabulate) used to be found by every trial in turn, so a whole
budget ran and ended with ``best nan``. These checks name the setting instantly; what they
cannot see ahead (a missing dataset, a broken evaluator) shows as the same error for the first
trials, and ``systemic_failure`` then stops the search with what to do.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import TYPE_CHECKING, Any

from .spaces import BaseSpace
from .strategies import BaseStrategy

if TYPE_CHECKING:
    from .search import Search

# errors that come from the machine or the data, never from one architecture: one is enough
ENVIRONMENT_ERRORS = (
    "DatasetUnavailableError",
    "FileNotFoundError",
    "ModuleNotFoundError",
    "ImportError",
    "MemoryError",
    "PermissionError",
)


class SearchFailed(RuntimeError):
    """The search stopped because its trials fail for a reason that is not the architectures."""


def check_settings(search: Search, strategy_arg: Any, run_dir: Any) -> None:
    """Raise TypeError/ValueError naming the first bad setting of ``search``."""
    if not isinstance(search.space, BaseSpace):
        raise TypeError(f"space must be a nasnb space (e.g. CellSpace()), got {type(search.space).__name__}")
    if not isinstance(search.strategy, BaseStrategy):
        raise TypeError(f"strategy must be a BaseStrategy or a name, got {type(strategy_arg).__name__}")
    if not callable(search.evaluator):
        raise TypeError(f"evaluator must be callable as evaluator(arch), got {type(search.evaluator).__name__}")
    if isinstance(search.seed, bool) or not isinstance(search.seed, int):
        raise TypeError(f"seed must be an int, got {search.seed!r}")
    if not isinstance(search.metric, str) or not search.metric:
        raise TypeError(f"metric must be the name of a result, e.g. 'accuracy', got {search.metric!r}")
    _positive_int("n_workers", search.n_workers)
    _positive_int("max_pending", search.max_pending)
    if search.fail_fast is not None:
        _positive_int("fail_fast", search.fail_fast)
    for name in ("trial_timeout", "checkpoint_every"):
        value = getattr(search, name)
        if name == "trial_timeout" and value is None:
            continue
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or value < 0 or (name == "trial_timeout" and value == 0):
            rule = "a number of seconds > 0, or None for no limit" if name == "trial_timeout" else "seconds >= 0"
            raise ValueError(f"{name} must be {rule}, got {value!r}")
    if run_dir is not None:
        if not isinstance(run_dir, (str, os.PathLike)):
            raise TypeError(f"run_dir must be a path, got {type(run_dir).__name__}")
        if not os.fspath(run_dir).strip():
            raise ValueError("run_dir is empty: name a folder for the run (e.g. 'runs/demo'), or None to keep no log")
    strategy_metric = getattr(search.strategy, "metric", search.metric)
    if isinstance(strategy_metric, str) and strategy_metric != search.metric:
        warnings.warn(
            f"the strategy optimises {strategy_metric!r} but the search ranks trials by {search.metric!r}; "
            f"pass metric={strategy_metric!r} to both unless that is what you want",
            UserWarning,
            stacklevel=3,
        )
    check_evaluator(search.evaluator, search.space)
    if search.isolate:
        from .isolate import _dumps

        _dumps(search.evaluator)  # a TypeError now, not at the first trial, if it cannot reach a child process


def check_evaluator(evaluator: Any, space: BaseSpace) -> None:
    """What can be known about an evaluator before it runs: its own ``validate()``, its space, its device."""
    validate = getattr(evaluator, "validate", None)
    if callable(validate):
        try:
            validate()
        except TypeError as err:
            if "argument" not in str(err):  # a validate(...) with required arguments is not this protocol
                raise
    name = getattr(evaluator, "name", None)
    if name == "table":
        from .spaces import CellSpace

        if not isinstance(space, CellSpace):
            raise ValueError(
                f"the benchmark table (TableEvaluator) holds cells of CellSpace(), not {space!r}: "
                "search CellSpace() with it, or train architectures of this space with a Trainer"
            )
    device = getattr(evaluator, "device", None)
    if name == "trainer" and isinstance(device, str) and device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(
                f"the Trainer's device is {device!r} but torch sees no CUDA GPU here; use device='auto' or 'cpu'"
            )


def systemic_failure(search: Search) -> SearchFailed | None:
    """A SearchFailed when the first trials fail for the same reason (or for an environment reason)."""
    n = search.fail_fast
    trials = search.trials
    if n is None or not trials or len(trials) > n or any(t.ok for t in trials):
        return None
    last = trials[-1]
    environment = _signature(last.error)[0] in ENVIRONMENT_ERRORS
    if not environment and (len(trials) < n or len({_signature(t.error) for t in trials}) != 1):
        return None
    where = f"nasnb resume {search.run_dir}" if search.run_dir is not None else "a new run"
    count = "the first trial" if len(trials) == 1 else f"the first {len(trials)} trials all"
    return SearchFailed(
        f"{count} failed with: {last.error}. This comes from the evaluator or its settings (dataset, "
        f"learning rate, device, a bug in the function), not from the architectures, so the search stopped "
        f"instead of spending its budget. Fix it, then continue with {where}; pass fail_fast=None to go on anyway"
    )


def _signature(error: str | None) -> tuple[str, str]:
    text = error or ""
    kind = text.split(":", 1)[0].rsplit(".", 1)[-1]  # DatasetUnavailableError, not nasnb.data.sources....
    where = text.rsplit(" (at ", 1)[-1] if " (at " in text else text
    return kind, where


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
