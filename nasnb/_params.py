"""Constructor arguments as configuration, scikit-learn's convention, written once.

Evaluators keep every ``__init__`` argument as an attribute of the same name, so their settings
can be read back from the signature: ``get_params()`` for saving and comparing, a ``repr`` that
names only what differs from the defaults (what a student changed is what they see).
"""

from __future__ import annotations

import inspect
from typing import Any


class ConstructorParams:
    """Mixin: ``get_params()`` and a short ``repr`` from the constructor's signature."""

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments: ``type(self)(**obj.get_params())`` is an equal object."""
        return {name: getattr(self, name) for name in inspect.signature(type(self)).parameters}

    def __repr__(self) -> str:
        defaults = {k: p.default for k, p in inspect.signature(type(self)).parameters.items()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k]]
        return f"{type(self).__name__}({', '.join(changed)})"
