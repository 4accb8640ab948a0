"""Evaluators and the machinery every evaluator shares: errors, cooperative stop/pause, progress.

``Trainer`` and ``train_model`` need torch; they are imported on first use so that importing
nasnb (or this package, for the control functions) stays fast.
"""

from __future__ import annotations

from .._lazy import lazy_attributes
from .control import Control, EvaluationInterrupted, checkpoint, controlled, report_progress
from .errors import DivergedError, EvaluationError

_LAZY = {
    "Trainer": ".trainer",
    "PopulationTrainer": ".population",
    "PopulationExecutor": ".population",
    "PopulationMemoryError": ".population",
    "train_model": ".training",
    "evaluate_model": ".scoring",
    "SplitScore": ".scoring",
    "TableEvaluator": ".table_evaluator",
    "BenchmarkTable": ".benchmark_table",
    "load_table": ".table_files",
    "regret_curve": ".regret",
    "ProxyEvaluator": ".proxies",
    "prescreen": ".proxies",
    "ProxyBatch": ".proxies",
    "limited_threads": ".threads",
    "proxy_correlations": ".proxy_analysis",
    "learned_proxy": ".proxy_analysis",
    "proxy_ceiling": ".proxy_analysis",
    "plot_proxy_correlation": ".proxy_analysis",
    "DARTS": ".darts",
    "DartsResult": ".darts",
    "plot_alphas": ".darts_plots",
    "OneShot": ".oneshot",
    "OneShotResult": ".oneshot",
    "rank_agreement": ".oneshot",
}

__all__ = [
    "DARTS",
    "BenchmarkTable",
    "Control",
    "DartsResult",
    "DivergedError",
    "EvaluationError",
    "EvaluationInterrupted",
    "OneShot",
    "OneShotResult",
    "PopulationExecutor",
    "PopulationMemoryError",
    "PopulationTrainer",
    "ProxyBatch",
    "ProxyEvaluator",
    "SplitScore",
    "TableEvaluator",
    "Trainer",
    "checkpoint",
    "controlled",
    "evaluate_model",
    "learned_proxy",
    "limited_threads",
    "load_table",
    "plot_alphas",
    "plot_proxy_correlation",
    "prescreen",
    "rank_agreement",
    "proxy_ceiling",
    "proxy_correlations",
    "regret_curve",
    "report_progress",
    "train_model",
]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
