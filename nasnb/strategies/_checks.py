"""Parameter checks shared by the strategies.

Constructors only store their arguments (scikit-learn's convention), so every strategy checks
them in ``setup``; these helpers make each error name the strategy, the parameter, the
constraint and the value received, in the same words everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def check_int(owner: object, name: str, value: Any, *, low: int | None = None, high: int | None = None) -> None:
    """``value`` must be an int (not a bool) within ``[low, high]``."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    ok = ok and (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        raise ValueError(f"{_who(owner)} parameter {name} must be an int{_range(low, high)}, got {value!r}")


def check_float(
    owner: object,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> None:
    """``value`` must be a finite real number within ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    ok = ok and (high is None or value <= high)
    if not ok:
        bound = _range(low, high).replace(">=", ">") if low_open else _range(low, high)
        raise ValueError(f"{_who(owner)} parameter {name} must be a number{bound}, got {value!r}")


def check_bool(owner: object, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{_who(owner)} parameter {name} must be True or False, got {value!r}")


def check_choice(owner: object, name: str, value: Any, options: Iterable[Any]) -> None:
    options = list(options)
    if value not in options:
        raise ValueError(f"{_who(owner)} parameter {name} must be one of {options}, got {value!r}")


def check_metric(owner: object, name: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{_who(owner)} parameter {name} must be a metric name such as 'accuracy', got {value!r}")


def _who(owner: object) -> str:
    return type(owner).__name__


def _range(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""
