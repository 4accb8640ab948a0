"""The two importance estimators side by side: do they rank the decisions and options alike?

``compare_estimators`` runs ``op_importance`` with the marginal and the forest estimator on the
same trials and measures their agreement with Spearman's rho. High agreement says the ranking
does not hinge on the estimator; low agreement is a cue to look for interactions between
decisions or for a population that is not a random sample (evolution's never is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..spaces import BaseSpace
from .importance import ESTIMATORS, OpImportance, _trials_and_space, op_importance

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class EstimatorComparison:
    """Both estimators on the same trials: side-by-side frames and how well their ranks agree."""

    marginal: OpImportance
    forest: OpImportance
    options: pd.DataFrame  # decision, option, marginal, forest
    decisions: pd.DataFrame  # decision, marginal, forest, marginal_rank, forest_rank
    option_spearman: float
    decision_spearman: float


def compare_estimators(
    trials: Any,
    space: BaseSpace | None = None,
    *,
    metric: str = "accuracy",
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> EstimatorComparison:
    """Marginal and forest importance of the same trials, side by side, with Spearman rank agreement.

    High agreement says the ranking does not hinge on the estimator; low agreement is a cue to
    look for interactions between decisions or for a population that is not a random sample.
    """
    import pandas as pd

    trials, space = _trials_and_space(trials, space)
    results = {
        name: op_importance(
            trials, space, metric=metric, estimator=name, n_bootstrap=n_bootstrap, confidence=confidence, seed=seed
        )
        for name in ESTIMATORS
    }
    m, f = results["marginal"], results["forest"]
    options = m.options[["decision", "option", "effect"]].rename(columns={"effect": "marginal"})
    options = options.assign(forest=f.options["effect"].to_numpy() if len(f.options) == len(options) else np.nan)
    decisions = m.decisions[["decision", "importance"]].rename(columns={"importance": "marginal"})
    decisions = decisions.merge(
        f.decisions[["decision", "importance"]].rename(columns={"importance": "forest"}), on="decision", how="outer"
    )
    for name in ESTIMATORS:
        decisions[f"{name}_rank"] = decisions[name].rank(ascending=False, method="average")
    decisions = decisions.sort_values("marginal", ascending=False, na_position="last").reset_index(drop=True)
    return EstimatorComparison(
        m,
        f,
        pd.DataFrame(options).reset_index(drop=True),
        decisions,
        spearman(options["marginal"], options["forest"]),
        spearman(decisions["marginal"], decisions["forest"]),
    )


def spearman(a: Any, b: Any) -> float:
    """Spearman rank correlation over the pairs where both are finite; NaN with fewer than 3 pairs."""
    from scipy.stats import spearmanr

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return float("nan")
    return float(spearmanr(x[keep], y[keep]).statistic)


__all__ = ["EstimatorComparison", "compare_estimators", "spearman"]
