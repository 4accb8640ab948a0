"""Immediate feedback for the tutorials' graded exercises, without showing the answer.

The tutorials follow nbgrader's convention (see ``docs/course.md``): an *answer* cell where the
student replaces ``...`` with a value, then a locked *check* cell. The check cell students see
calls :func:`check` with a ``digest`` (a :func:`fingerprint`) of the expected answer, so it can say
"correct" or "not yet: <hint>" while the answer itself appears nowhere in the student's notebook.
The instructor's notebook adds a hidden test, ``check(..., expect=value, strict=True)``, which
nbgrader's ``autograde`` runs and which raises ``AssertionError`` for a wrong or missing answer:
that is how a question earns its points.

Answers are compared after normalising: numbers are rounded to ``decimals`` places (one unit in the
last place either side is accepted, so 0.7149 and 0.7151 both match 0.715), numpy scalars become
Python numbers, tuples become lists, sets become sorted lists and strings are stripped.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Checked", "check", "fingerprint", "normalise"]

_SALT = "nasnb-course-v1"


def normalise(value: Any, decimals: int | None = None) -> Any:
    """Turn an answer into a plain JSON value: what two equal answers have in common."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy / torch scalars
        value = value.item()
    if hasattr(value, "tolist"):  # numpy arrays, torch tensors
        value = value.tolist()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if decimals is None else _round(float(value), decimals)
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        return _round(value, decimals) if decimals is not None else value
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping):
        return {str(k): normalise(v, decimals) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((normalise(v, decimals) for v in value), key=json.dumps)
    if isinstance(value, Sequence):
        return [normalise(v, decimals) for v in value]
    return str(value)


def _round(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text  # -0.000 and 0.000 are one answer


def fingerprint(question: str, value: Any, decimals: int | None = None) -> str:
    """A short fingerprint of ``value`` as the answer to ``question`` (different per question)."""
    text = json.dumps(normalise(value, decimals), sort_keys=True)
    return hashlib.sha256(f"{_SALT}|{question}|{decimals}|{text}".encode()).hexdigest()[:16]


def _candidates(question: str, answer: Any, decimals: int | None) -> set[str]:
    """Digests of the answer and, for a number rounded to ``decimals``, of its two neighbours."""
    found = {fingerprint(question, answer, decimals)}
    if decimals is not None and isinstance(answer, (int, float)) and not isinstance(answer, bool):
        step = 10.0**-decimals
        found |= {fingerprint(question, float(answer) + d, decimals) for d in (-step, step)}
    return found


class Checked:
    """What ``check`` returns: truthy when the answer is right, and silent as a notebook cell's last value.

    A plain ``False`` after "not answered" showed up as ``Out[n]: False`` under every exercise, which
    students read as a failure of the notebook; the printed line already says everything.
    """

    __slots__ = ("ok",)

    def __init__(self, ok: bool) -> None:
        self.ok = bool(ok)

    def __bool__(self) -> bool:
        return self.ok

    def __eq__(self, other: object) -> bool:
        return self.ok == (other.ok if isinstance(other, Checked) else other)

    def __hash__(self) -> int:
        return hash(self.ok)

    def __repr__(self) -> str:
        return repr(self.ok)

    def _ipython_display_(self) -> None:  # IPython shows nothing for it: the printed message is the answer
        return None


def check(
    question: str,
    answer: Any,
    *,
    digest: str | Sequence[str] | None = None,
    expect: Any = ...,
    decimals: int | None = None,
    hint: str = "",
    strict: bool = False,
) -> Checked:
    """Print whether ``answer`` answers ``question``; the result is truthy when it does.

    Give either ``digest`` (what students see: the answer stays hidden) or ``expect`` (the hidden
    tests in the instructor's notebook). ``answer`` left as ``...`` (or ``None``) reports
    "not answered". With ``strict=True`` a wrong or missing answer raises ``AssertionError``, so
    nbgrader's autograde gives the question no points.
    """
    if (digest is None) == (expect is ...):
        raise TypeError(f"check({question!r}): pass exactly one of digest= (student view) or expect= (hidden test)")
    wanted = {fingerprint(question, expect, decimals)} if expect is not ... else _as_set(digest)
    if answer is ... or answer is None:
        message, ok = f"Question {question}: not answered (replace ... with your answer)", False
    elif _candidates(question, answer, decimals) & wanted:
        message, ok = f"Question {question}: correct", True
    else:
        message, ok = f"Question {question}: not yet: {hint or 'compare your value with the question once more'}", False
    print(message)
    if strict and not ok:
        raise AssertionError(message)
    return Checked(ok)


def _as_set(value: str | Sequence[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)
