"""Per-op importance across a population: which choices, at which decision points, paid off.

A search leaves behind many (architecture, score) pairs. Reading them per decision point answers
the questions students ask first: does ``conv_3x3`` on edge ``1->3`` help? Does edge ``0->1``
matter at all? ``op_importance`` answers both with intervals, because with thirty trials most
differences are noise, and showing that honestly is half the lesson.

Two estimators (``_estimators.py``): ``"marginal"`` compares average scores of the trials that
made each choice, ``"forest"`` asks a random forest fitted to the population. They agree on
random samples of an additive objective and disagree where interactions or a biased sample
(evolution's population is anything but random) fool the simpler one; ``compare_estimators``
puts them side by side. ``ImportanceTracker`` keeps the answer current while a search runs.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check, check_choice, check_metric, is_int, is_number
from .._lazy import lazy_attributes
from ..spaces import BaseSpace
from ..trial import Trial
from . import _estimators

if TYPE_CHECKING:
    import pandas as pd

ESTIMATORS = ("marginal", "forest")
OPTION_COLUMNS = ["decision", "option", "effect", "low", "high", "n"]
DECISION_COLUMNS = ["decision", "importance", "low", "high", "n", "active"]


@dataclass(frozen=True)
class OpImportance:
    """Importance of every option and decision point, with intervals.

    ``options``: one row per (decision, option) of every decision that occurred at least once:
    ``effect`` (metric change from choosing this option, relative to the average option of the
    same decision), its interval ``low``..``high`` and ``n`` (trials that chose it; NaN effect
    for options never tried, NaN interval for options tried fewer than twice).
    ``decisions``: one row per decision point, most important first: ``importance`` (standard
    deviation of its option effects, in metric units), interval, ``n`` (trials where it occurs)
    and ``active`` (that fraction of all trials).
    """

    options: pd.DataFrame
    decisions: pd.DataFrame
    metric: str
    estimator: str
    confidence: float
    n_trials: int
    n_failed: int

    def effect(self, decision: str, option: Hashable) -> float:
        """The effect of one option, e.g. ``result.effect("1->3", "conv_3x3")``."""
        rows = self.options[(self.options["decision"] == decision) & (self.options["option"] == option)]
        if rows.empty:
            raise KeyError(
                f"no option {option!r} at decision {decision!r} in this result; decisions are "
                f"{sorted(set(self.options['decision']))}"
            )
        return float(rows["effect"].iloc[0])

    def ranking(self) -> list[str]:
        """Decision points, most important first (unknown importance last)."""
        return list(self.decisions["decision"])


class ImportanceTracker:
    """Per-op importance kept up to date during a search: ``search.on("trial_finished", tracker.update)``.

    ``update`` only codes one trial (failed trials and missing metrics are counted and skipped;
    each distinct architecture is parsed once), so it is safe in the search thread. ``result``
    recomputes lazily, once per change, and is cached in between. For the marginal estimator
    the new trials are folded into running sums (``_estimators.MarginalSums``), so a result
    costs O(new trials + options x resamples), not O(all trials x resamples): milliseconds at
    any population size. The forest refits its forests on every trial and is better refreshed
    every few trials. ``checkpoint()``/``restore()`` save and restore the sums, so a replay can
    jump to any step from the nearest checkpoint.
    """

    def __init__(
        self,
        space: BaseSpace,
        *,
        metric: str = "accuracy",
        estimator: str = "marginal",
        n_bootstrap: int = 200,
        confidence: float = 0.95,
        seed: int = 0,
    ) -> None:
        _check(self, space, metric, estimator, n_bootstrap, confidence)
        self.space = space
        self.metric = metric
        self.estimator = estimator
        self.n_bootstrap = n_bootstrap
        self.confidence = confidence
        self.seed = seed
        self.decisions_ = list(space.choices)
        self.options_ = [tuple(space.choices[d]) for d in self.decisions_]
        self._index = {d: j for j, d in enumerate(self.decisions_)}
        self._codes: list[np.ndarray] = []  # rows not yet in the running sums (all rows for the forest)
        self._scores: list[float] = []
        self._coded: dict[str, np.ndarray] = {}
        self.n_ok_ = 0
        self.n_failed_ = 0
        self._sums = _estimators.MarginalSums([len(o) for o in self.options_], n_bootstrap, seed)
        self._cache: OpImportance | None = None
        self._lock = threading.Lock()

    def update(self, trial: Trial) -> None:
        """Add one finished trial (a failure, or a trial without the metric, is only counted)."""
        score = trial.score(self.metric)
        if score is None:
            with self._lock:
                self.n_failed_ += 1
                self._cache = None
            return
        row = self._encode(trial)
        with self._lock:
            self._codes.append(row)
            self._scores.append(score)
            self.n_ok_ += 1
            self._cache = None

    def extend(self, trials: Iterable[Trial]) -> ImportanceTracker:
        """Add many trials; returns the tracker so construction and filling chain."""
        for trial in trials:
            self.update(trial)
        return self

    def __len__(self) -> int:
        return self.n_ok_

    def _encode(self, trial: Trial) -> np.ndarray:
        row = self._coded.get(trial.arch)
        if row is not None:
            return row
        try:
            arch = self.space.parse(trial.arch)
        except Exception as err:
            raise ValueError(
                f"trial {trial.id}'s arch {trial.arch!r} is not an architecture of {self.space!r}: {err}"
            ) from err
        row = np.full(len(self.decisions_), -1, dtype=np.int64)
        for name, value in arch.items():
            j = self._index[name]
            row[j] = _option_index(self.options_[j], value)
        row.flags.writeable = False
        self._coded[trial.arch] = row
        return row

    def checkpoint(self) -> tuple[int, int, Any]:
        """The state after the trials seen so far: (successes, failures, running sums).

        ``restore`` puts this tracker, or another one of the same space and settings, back in
        that state. Only the marginal estimator keeps running sums to checkpoint.
        """
        if self.estimator != "marginal":
            raise ValueError(
                f"checkpoints hold the marginal estimator's running sums; this tracker uses {self.estimator!r}"
            )
        with self._lock:
            self._fold()
            return self.n_ok_, self.n_failed_, self._sums.copy()

    def restore(self, state: tuple[int, int, Any], trials: Iterable[Trial] = ()) -> ImportanceTracker:
        """Go back to a ``checkpoint()``, then add ``trials`` (those after it); returns the tracker."""
        n, failed, sums = state
        if self.estimator != "marginal" or len(sums.sizes) != len(self.decisions_):
            raise ValueError("restore needs a checkpoint of a marginal tracker over the same space")
        with self._lock:
            self._codes, self._scores = [], []
            self.n_ok_, self.n_failed_ = n, failed
            self._sums = sums.copy()
            self._cache = None
        return self.extend(trials)

    def _fold(self) -> None:
        """Add the rows not yet in the running sums to them (under the lock)."""
        if self.estimator == "marginal" and self._scores:
            codes = np.array(self._codes, dtype=np.int64).reshape(-1, len(self.decisions_))
            self._sums.add(codes, np.array(self._scores, dtype=float))
            self._codes, self._scores = [], []

    def result(self) -> OpImportance:
        """The importance of everything seen so far (cached until the next ``update``)."""
        with self._lock:
            cached = self._cache
            if cached is not None:
                return cached
            n, n_failed = self.n_ok_, self.n_failed_
            if self.estimator == "marginal":
                self._fold()
                estimates = self._sums.estimates(self.confidence) if n else []
            else:
                codes = np.array(self._codes, dtype=np.int64).reshape(n, len(self.decisions_))
                scores = np.array(self._scores, dtype=float)
        if self.estimator != "marginal":
            rng = np.random.default_rng(self.seed)
            sizes = [len(o) for o in self.options_]
            estimates = _estimators.forest(codes, scores, sizes, self.n_bootstrap, self.confidence, rng) if n else []
        result = self._frames(estimates, n, n_failed)
        with self._lock:
            if self.n_ok_ == n and self.n_failed_ == n_failed:
                self._cache = result
        return result

    def _frames(self, estimates: list, n: int, n_failed: int) -> OpImportance:
        import pandas as pd

        option_rows: list[dict[str, Any]] = []
        decision_rows: list[dict[str, Any]] = []
        for name, options, est in zip(self.decisions_, self.options_, estimates):
            if est is None:
                continue
            for o, option in enumerate(options):
                option_rows.append(
                    {
                        "decision": name,
                        "option": option,
                        "effect": _nan(est.effect[o]),
                        "low": _nan(est.low[o]),
                        "high": _nan(est.high[o]),
                        "n": int(est.count[o]),
                    }
                )
            decision_rows.append(
                {
                    "decision": name,
                    "importance": est.importance,
                    "low": est.importance_low,
                    "high": est.importance_high,
                    "n": est.n,
                    "active": est.n / n,
                }
            )
        options = pd.DataFrame(option_rows, columns=OPTION_COLUMNS)
        decisions = pd.DataFrame(decision_rows, columns=DECISION_COLUMNS)
        if len(decisions):
            decisions = decisions.sort_values("importance", ascending=False, na_position="last", kind="stable")
            decisions = decisions.reset_index(drop=True)
        return OpImportance(options, decisions, self.metric, self.estimator, self.confidence, n, n_failed)


def op_importance(
    trials: Any,
    space: BaseSpace | None = None,
    *,
    metric: str = "accuracy",
    estimator: str = "marginal",
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> OpImportance:
    """Importance of each option and decision point over a population of trials.

    ``trials`` is a list of Trials, a Run or a Search (``space`` defaults to theirs).
    ``estimator`` is ``"marginal"`` (differences of conditional means; fast, exact for additive
    objectives sampled at random) or ``"forest"`` (random-forest permutation importance and
    partial dependence; catches interactions, slower, effects shrunk toward 0). ``n_bootstrap``
    resamples give ``confidence`` intervals (0 skips them; the forest refits at most 30 forests,
    and its intervals measure the forest's stability rather than calibrated coverage). Failed
    trials are left out; no usable trial gives empty frames, a handful give wide or missing (NaN)
    intervals, never an error.
    """
    trials, space = _trials_and_space(trials, space)
    return (
        ImportanceTracker(
            space, metric=metric, estimator=estimator, n_bootstrap=n_bootstrap, confidence=confidence, seed=seed
        )
        .extend(trials)
        .result()
    )


def _trials_and_space(trials: Any, space: BaseSpace | None) -> tuple[list[Trial], BaseSpace]:
    """Accept a Run, a Search or a list of trials; the space comes from the first two when not given."""
    if space is None:
        space = getattr(trials, "space", None)
        if not isinstance(space, BaseSpace):
            raise TypeError(
                "space is required when trials is a plain list: pass the search space, "
                "e.g. op_importance(trials, CellSpace())"
            )
    listed = list(getattr(trials, "trials", trials))
    bad = [type(t).__name__ for t in listed if not isinstance(t, Trial)]
    if bad:
        raise TypeError(f"trials must be Trial records (a Run, a Search or a list of Trials), got {bad[0]}")
    return listed, space


def _check(owner: object, space: Any, metric: Any, estimator: Any, n_bootstrap: Any, confidence: Any) -> None:
    if not isinstance(space, BaseSpace):
        raise TypeError(f"space must be a nasnb space such as CellSpace(), got {type(space).__name__}")
    check_metric(owner, "metric", metric)
    check_choice(owner, "estimator", estimator, ESTIMATORS)
    check(owner, "n_bootstrap", n_bootstrap, is_int(n_bootstrap, low=0), "an int >= 0 (0 = no intervals)")
    ok = is_number(confidence) and 0 < confidence < 1
    check(owner, "confidence", confidence, ok, "a number in (0, 1), such as 0.95")


def _option_index(options: tuple[Hashable, ...], value: Hashable) -> int:
    for i, o in enumerate(options):
        if o == value and type(o) is type(value):
            return i
    return options.index(value)


def _nan(value: Any) -> float:
    value = float(value)
    return value if np.isfinite(value) else float("nan")


__all__ = [
    "ESTIMATORS",
    "ImportanceTracker",
    "OpImportance",
    "op_importance",
]

# moved to estimator_comparison (which imports this module), still importable from here
_MOVED = {
    name: "nasnb.explain.estimator_comparison" for name in ("EstimatorComparison", "compare_estimators", "spearman")
}
__getattr__, __dir__ = lazy_attributes(__name__, _MOVED, globals())
