"""Names kept for one release after they were replaced, each warning what to use instead."""

from __future__ import annotations

import os
import warnings
from typing import Any


class _ClassOrInstance:
    """``Search.resume(run_dir)`` and ``search.resume()``: two meanings that shared one name."""

    __doc__ = "Deprecated: nasnb.resume_search(run_dir) continues a run; search.unpause() un-pauses."

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return _resume_run
        return instance._deprecated_unpause


def _resume_run(run_dir: str | os.PathLike, evaluator: Any = None, **kwargs: Any) -> Any:
    """Deprecated: ``nasnb.resume_search(run_dir, ...)``."""
    from .resume import resume_search

    warnings.warn(
        "Search.resume(run_dir) is deprecated; use nasnb.resume_search(run_dir)", DeprecationWarning, stacklevel=2
    )
    return resume_search(run_dir, evaluator, **kwargs)


deprecated_resume = _ClassOrInstance()
