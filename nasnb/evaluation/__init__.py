"""Evaluators and the machinery every evaluator shares: errors, cooperative stop/pause, progress.

``Trainer`` and ``train_model`` need torch; they are imported on first use so that importing
nasnb (or this package, for the control functions) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from .control import Control, EvaluationInterrupted, checkpoint, controlled, report_progress
from .errors import DivergedError, EvaluationError

_LAZY = {
    "Trainer": ".trainer", "train_model": ".trainer", "evaluate_model": ".trainer",
    "TableEvaluator": ".table", "BenchmarkTable": ".table", "load_table": ".table", "regret_curve": ".table",
    "ProxyEvaluator": ".proxies", "prescreen": ".proxies",
    "proxy_correlations": ".proxy_analysis", "plot_proxy_correlation": ".proxy_analysis",
    "DARTS": ".darts", "DartsResult": ".darts", "plot_alphas": ".darts_plots",
}

__all__ = [
    "DARTS",
    "BenchmarkTable",
    "Control",
    "DartsResult",
    "DivergedError",
    "EvaluationError",
    "EvaluationInterrupted",
    "ProxyEvaluator",
    "TableEvaluator",
    "Trainer",
    "checkpoint",
    "controlled",
    "evaluate_model",
    "load_table",
    "plot_alphas",
    "plot_proxy_correlation",
    "prescreen",
    "proxy_correlations",
    "regret_curve",
    "report_progress",
    "train_model",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
