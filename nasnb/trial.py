"""Trial and Proposal: the records a search is made of.

Everything that shows or explains a search (explorer, panel, importance, replay) reads these
records rather than a live loop, so they are frozen, named and JSON round-trippable.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .spaces import Architecture

OK = "ok"
FAILED = "failed"


@dataclass(frozen=True)
class Proposal:
    """What a strategy asks to evaluate next, and why.

    ``decision`` is a JSON-able record of the reasons (parents, probabilities, Q-values, ...).
    ``fidelity`` optionally asks for a cheaper evaluation (e.g. ``{"epochs": 3}``) and is passed
    to the evaluator as keyword arguments.
    """

    arch: Architecture
    decision: dict[str, Any] = field(default_factory=dict)
    fidelity: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Trial:
    """One finished evaluation: what was proposed, why, how it scored."""

    id: int
    step: int
    arch: str
    decision: dict[str, Any]
    metrics: dict[str, Any]
    status: str = OK
    error: str | None = None
    started: float = 0.0
    seconds: float = 0.0
    fidelity: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    def score(self, metric: str = "accuracy") -> float | None:
        """The metric as a float, or None for a failed trial or a missing/non-finite value."""
        if not self.ok:
            return None
        value = self.metrics.get(metric)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            return None
        return float(value)

    def to_json(self) -> str:
        return json.dumps(_finite(asdict(self)), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trial:
        if type(data) is dict and tuple(data) == _ORDER:  # a line as to_json writes it: check only what can differ
            values = tuple(data.values())
            if all(type(v) is t for v, t in zip(values, _ORDER_TYPES)) and values[5] in (OK, FAILED):
                return cls(*values)
        if not isinstance(data, Mapping):
            raise TypeError(f"a trial record is a JSON object, got {type(data).__name__}")
        missing = {"id", "step", "arch"} - set(data)
        if missing:
            raise ValueError(f"trial record lacks field(s) {sorted(missing)}")
        for name, kind in _FIELD_TYPES:
            value = data.get(name)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise TypeError(f"trial field {name!r} must be {kind.__name__}, got {type(value).__name__}")
        if data.get("status", OK) not in (OK, FAILED):
            raise ValueError(f"trial status must be 'ok' or 'failed', got {str(data.get('status'))[:40]!r}")
        return cls(**{k: v for k, v in data.items() if k in _KNOWN})


class PackedDecision(str):
    """A decision kept as its compact JSON text until someone reads it (see ``_LazyDecision``)."""

    __slots__ = ()


class _LazyDecision:
    """``Trial.decision``: a loaded run keeps each decision as JSON text and parses it on first read.

    A decision (parents, tournaments, probabilities, Q-values) is most of a trial's memory once
    parsed (about 2 KB of small dicts against 0.3 KB of text), yet most uses of a loaded run (best
    trial, show, the DataFrame) never read it. Readers always get the dict: the first read parses
    and keeps it, so equality, ``repr``, ``to_json`` and pickling see exactly what they saw before.
    """

    def __init__(self, slot: Any) -> None:
        self._slot = slot  # the dataclass's own slot descriptor

    def __get__(self, trial: Trial | None, owner: type | None = None) -> Any:
        if trial is None:
            return self._slot
        value = self._slot.__get__(trial, owner)
        if type(value) is PackedDecision:
            value = json.loads(value)
            self._slot.__set__(trial, value)  # frozen to users; the cache is ours
        return value

    def __set__(self, trial: Trial, value: Any) -> None:
        self._slot.__set__(trial, value)


Trial.decision = _LazyDecision(Trial.__dict__["decision"])  # type: ignore[assignment]


def decision_kind(trial: Trial) -> Any:
    """``trial.decision.get("kind")`` without keeping a parsed copy of a packed decision."""
    raw = Trial.__dict__["decision"]._slot.__get__(trial, Trial)
    decision = json.loads(raw) if type(raw) is PackedDecision else raw
    return decision.get("kind")


def compact_trial(record: dict[str, Any], decision_text: str | None = None) -> Trial:
    """A checked Trial from a parsed log record, stored compactly: the decision packed, names interned.

    ``decision_text`` is the decision as it stood in the log line when the caller cut it out (the
    record then holds ``{}`` in its place); without it the record's decision is packed here. What
    readers get is unchanged (``decision`` parses on first read); a loaded run holds about 40 %
    of the memory it did.
    """
    trial = Trial.from_dict(record)
    if decision_text is not None:
        if trial.decision:
            raise ValueError("compact_trial: a record whose decision was cut out must hold {} in its place")
        if not decision_text.startswith("{"):  # the text is one whole JSON value: an object iff it starts so
            raise TypeError(f"trial field 'decision' must be dict, got {decision_text[:40]!r}")
        if decision_text != "{}":
            Trial.decision.__set__(trial, PackedDecision(decision_text))
    elif trial.decision:
        Trial.decision.__set__(trial, PackedDecision(json.dumps(trial.decision, separators=(",", ":"))))
    object.__setattr__(trial, "arch", sys.intern(trial.arch))
    object.__setattr__(trial, "status", sys.intern(trial.status))
    return trial


_KNOWN = frozenset(Trial.__dataclass_fields__)
_ORDER = tuple(Trial.__dataclass_fields__)
_ORDER_TYPES = (int, int, str, dict, dict)  # id, step, arch, decision, metrics (exact types: no bool as int)
_FIELD_TYPES = (("id", int), ("step", int), ("arch", str), ("decision", dict), ("metrics", dict))


def jsonable(value: Any) -> Any:
    """A strict JSON round trip: what a trial holds live is exactly what a replay reads back.

    Non-finite floats become None, so the log stays standard JSON that a browser can parse.
    """
    return json.loads(json.dumps(_finite(value), allow_nan=False, default=_default))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _finite(value.tolist())
    return value


def _default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable: {value!r}")
