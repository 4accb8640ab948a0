"""One way to check a setting, so every error names the owner, the parameter, the rule and the value.

Constructors only store their arguments (scikit-learn's convention); the checks run when the
object is used (``setup``, ``__call__``, ``search``) or on ``validate()``. Every check here raises
``ValueError("<Owner> parameter <name> must be <rule>, got <value>")``, the one wording the whole
package uses, whether the owner is a strategy, an evaluator or a function. ``owner`` is the object
being configured (its class name is used) or a plain string such as ``"train_model"``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def check(owner: object, name: str, value: Any, ok: bool, rule: str) -> None:
    """The general form: raise unless ``ok``, saying that ``name`` must be ``rule``."""
    if not ok:
        raise ValueError(f"{_who(owner)} parameter {name} must be {rule}, got {value!r}")


def is_int(value: Any, low: int | None = None, high: int | None = None) -> bool:
    """An int (not a bool) within ``[low, high]``."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    return ok and (low is None or value >= low) and (high is None or value <= high)


def is_number(value: Any) -> bool:
    """A finite real number (int or float, not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_int(
    owner: object,
    name: str,
    value: Any,
    *,
    low: int | None = None,
    high: int | None = None,
    optional: bool = False,
) -> None:
    """``value`` must be an int (not a bool) within ``[low, high]`` (or None with ``optional``)."""
    rule = f"an int{_range(low, high)}"
    ok = (optional and value is None) or is_int(value, low, high)
    check(owner, name, value, ok, f"None or {rule}" if optional else rule)


def check_float(
    owner: object,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    optional: bool = False,
) -> None:
    """``value`` must be a finite number within ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    ok = is_number(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    ok = ok and (high is None or value <= high)
    bound = _range(low, high)
    if low_open:
        bound = bound.replace(">=", ">").replace(f"[{low},", f"({low},")
    rule = f"a number{bound}"
    check(owner, name, value, ok or (optional and value is None), f"None or {rule}" if optional else rule)


def check_choice(owner: object, name: str, value: Any, options: Iterable[Any]) -> None:
    """``value`` must be one of ``options``."""
    options = list(options)
    check(owner, name, value, _is_in(value, options), f"one of {options}")


def check_bool(owner: object, name: str, value: Any) -> None:
    """``value`` must be True or False (not 0, 1 or a string)."""
    check(owner, name, value, isinstance(value, bool), "True or False")


def check_metric(owner: object, name: str, value: Any) -> None:
    """``value`` must be a metric name (a non-empty string)."""
    check(owner, name, value, isinstance(value, str) and bool(value), "a metric name such as 'accuracy'")


def _is_in(value: Any, options: list[Any]) -> bool:
    try:
        return value in options
    except TypeError:  # an unhashable or incomparable value is simply not an option
        return False


def _who(owner: object) -> str:
    return owner if isinstance(owner, str) else type(owner).__name__


def _range(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


__all__ = ["check", "check_bool", "check_choice", "check_float", "check_int", "check_metric", "is_int", "is_number"]
