"""Budget: how much a search may spend, in evaluations and/or seconds."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)\s*$")
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


@dataclass(frozen=True)
class Budget:
    """Stop after ``evaluations`` trials (failed ones count) or ``seconds`` of search time."""

    evaluations: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.evaluations is not None and (
            isinstance(self.evaluations, bool) or not isinstance(self.evaluations, int) or self.evaluations < 1
        ):
            raise ValueError(f"budget evaluations must be a positive integer, got {self.evaluations!r}")
        if self.seconds is not None and not (
            isinstance(self.seconds, (int, float)) and math.isfinite(self.seconds) and self.seconds > 0
        ):
            raise ValueError(f"budget seconds must be a positive number, got {self.seconds!r}")

    def exhausted(self, n_trials: int, elapsed: float) -> bool:
        return (self.evaluations is not None and n_trials >= self.evaluations) or (
            self.seconds is not None and elapsed >= self.seconds
        )

    def to_dict(self) -> dict[str, Any]:
        return {"evaluations": self.evaluations, "seconds": self.seconds}

    @classmethod
    def parse(cls, value: Any) -> Budget | None:
        """From an int (evaluations), a ``"90s"``/``"5min"`` string, a dict or a Budget; None = unlimited."""
        if value is None or isinstance(value, Budget):
            return value
        if isinstance(value, dict):
            return cls(**value)
        if isinstance(value, bool):
            raise ValueError(f"budget must be a number of evaluations or a duration, got {value!r}")
        if isinstance(value, int):
            return cls(evaluations=value)
        if isinstance(value, str):
            text = value.strip()
            if text.isdigit():
                return cls(evaluations=int(text))
            if m := _DURATION.match(text):
                return cls(seconds=float(m.group(1)) * _UNITS[m.group(2)])
        raise ValueError(
            f"budget must be a positive number of evaluations (e.g. 50) or a duration ('90s', '5min'), got {value!r}"
        )
