"""The two importance estimators on a coded population: marginal means and a random forest.

Both work on the same input, built once from the trials: ``codes`` (one row per trial, one
column per decision point, the index of the chosen option or -1 where the decision does not
occur in that architecture) and ``y`` (the metric). Both return, per decision, the option
effects and the decision's importance with percentile intervals, so ``importance.py`` can wrap
either in the same frames and the tests can check either against planted truth.

Units are shared on purpose: an option's *effect* is how far the metric moves when that option
is chosen, compared with the average option of the same decision; a decision's *importance* is
the standard deviation of its option effects, i.e. how much the metric typically moves when the
decision is changed. Comparing estimators, or a decision's importance with its effects, then
needs no conversion.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

#: bootstrap refits of the forest estimator (each a small forest): intervals without minutes of CPU
FOREST_REFITS = 30
FOREST_TREES = 40
PERMUTATION_REPEATS = 2


@dataclass(frozen=True)
class DecisionEstimate:
    """Estimates for one decision point: arrays over its options, scalars for the decision."""

    effect: np.ndarray
    low: np.ndarray
    high: np.ndarray
    count: np.ndarray
    importance: float
    importance_low: float
    importance_high: float
    n: int


#: trials per block of bootstrap weights: the weights of trial r come from rng((seed, r // BLOCK))
BLOCK = 256


class MarginalSums:
    """Running sums behind the marginal estimator, so a growing population costs O(new trials).

    Per option (all decisions' options side by side, ``offsets``): the count, sum and sum of
    squares of the metric over the trials that chose it, and the same for each of
    ``n_bootstrap`` resamples. Resamples are Poisson bootstraps (each trial enters resample b
    with a Poisson(1) weight, as in online bagging): unlike a multinomial resample they need no
    knowledge of how many trials will come, so adding a trial adds its weighted row and nothing
    is recomputed. Weights depend only on the seed and the trial's position, so sums built in
    any number of steps, or restored at a checkpoint and continued, are the same sums.
    """

    def __init__(self, sizes: list[int], n_bootstrap: int, seed: int = 0) -> None:
        self.sizes = list(sizes)
        self.offsets = np.r_[0, np.cumsum(self.sizes)].astype(np.int64)
        self.n_bootstrap = int(n_bootstrap)
        self.seed = seed
        width = int(self.offsets[-1])
        self.n = 0
        self.point = np.zeros((3, width))
        self.boot = np.zeros((self.n_bootstrap, 3, width)) if self.n_bootstrap else None
        self._weights: tuple[int, np.ndarray] | None = None

    def copy(self) -> MarginalSums:
        other = MarginalSums.__new__(MarginalSums)
        other.__dict__.update(self.__dict__)
        other.point = self.point.copy()
        other.boot = None if self.boot is None else self.boot.copy()
        return other

    def add(self, codes: np.ndarray, y: np.ndarray) -> MarginalSums:
        """Fold in trials (rows of ``codes``, -1 where a decision does not occur) with metric ``y``."""
        codes = np.asarray(codes, dtype=np.int64).reshape(-1, len(self.sizes))
        y = np.asarray(y, dtype=float).reshape(-1)
        if not len(y):
            return self
        rows = self._rows(codes, y)  # (m, 3 * width)
        width = self.point.shape[1]
        self.point += rows.sum(axis=0).reshape(3, width)
        if self.boot is not None:
            start = self.n
            while start < self.n + len(y):
                block, at = divmod(start, BLOCK)
                stop = min(self.n + len(y), (block + 1) * BLOCK)
                w = self._block(block)[:, at : at + stop - start]
                self.boot += (w @ rows[start - self.n : stop - self.n]).reshape(self.n_bootstrap, 3, width)
                start = stop
        self.n += len(y)
        return self

    def _rows(self, codes: np.ndarray, y: np.ndarray) -> np.ndarray:
        m, width = len(y), self.point.shape[1]
        rows = np.zeros((m, 3, width))
        active = codes >= 0
        r, j = np.nonzero(active)
        column = self.offsets[j] + codes[r, j]
        rows[r, 0, column] = 1.0
        rows[r, 1, column] = y[r]
        rows[r, 2, column] = y[r] * y[r]
        return rows.reshape(m, 3 * width)

    def _block(self, block: int) -> np.ndarray:
        if self._weights is None or self._weights[0] != block:
            rng = np.random.default_rng((int(self.seed), block))
            self._weights = (block, rng.poisson(1.0, size=(self.n_bootstrap, BLOCK)).astype(float))
        return self._weights[1]

    def estimates(self, confidence: float) -> list[DecisionEstimate | None]:
        """Per decision (None where it never occurred): effects, importance and their intervals."""
        out: list[DecisionEstimate | None] = []
        for j in range(len(self.sizes)):
            span = slice(int(self.offsets[j]), int(self.offsets[j + 1]))
            sums = self.point[:, span]
            n = int(sums[0].sum())
            if n == 0:
                out.append(None)
                continue
            boot = None if self.boot is None else _summaries(self.boot[:, :, span].transpose(1, 0, 2))
            out.append(_estimate(_summaries(sums), boot, confidence, n))
        return out


def marginal(
    codes: np.ndarray,
    y: np.ndarray,
    sizes: list[int],
    n_bootstrap: int,
    confidence: float,
    seed: int = 0,
) -> list[DecisionEstimate | None]:
    """Option effects as differences of conditional means, decision importance as their spread.

    Each decision is looked at only among the trials in which it occurs (a chain's ``L3.width``
    only in chains of depth >= 3). Centering the option means on their own average removes
    whatever those trials share (being deeper, say), which is why conditional decisions need no
    further correction. Intervals are percentile bootstraps over trials, resampled jointly for
    all decisions (``MarginalSums``): sums of weighted rows, so they grow with the population.
    """
    return MarginalSums(sizes, n_bootstrap, seed).add(codes, y).estimates(confidence)


def _summaries(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(counts, effects, importance) from per-option (count, sum, sum of squares).

    The spread of estimated option means overstates the true spread by the noise of the means,
    (k-1)/k times their mean squared standard error; that part is subtracted, so a decision
    that does nothing scores about 0 instead of "a little" (noise is pooled over the options).
    """
    count, total, squares = sums
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample may miss every option: NaN, not a warning
        means = np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)
        seen = (count > 0).sum(axis=-1)
        centre = np.nanmean(np.where(count > 0, means, np.nan), axis=-1, keepdims=True) if means.size else means
        effects = means - centre
        spread = np.nanmean(effects**2, axis=-1)
        residual = np.nansum(
            squares - np.where(count > 0, total * total / np.where(count > 0, count, 1.0), 0.0), axis=-1
        )
        dof = count.sum(axis=-1) - seen
        pooled = np.where(dof > 0, np.maximum(residual, 0.0) / np.where(dof > 0, dof, 1.0), 0.0)
        mean_se2 = pooled * np.nanmean(np.where(count > 0, 1.0 / np.where(count > 0, count, 1.0), np.nan), axis=-1)
        noise = mean_se2 * (seen - 1) / np.maximum(seen, 1)
        importance = np.where(seen >= 2, np.sqrt(np.maximum(spread - noise, 0.0)), np.nan)
    return count, effects, importance


def _estimate(point, boot, confidence: float, n: int) -> DecisionEstimate:
    count, effect, importance = point
    k = len(count)
    low, high = np.full(k, np.nan), np.full(k, np.nan)
    imp_low = imp_high = float("nan")
    if boot is not None:
        tail = 50.0 * (1.0 - confidence)
        _, boot_effect, boot_importance = boot
        tried = count >= 2
        low[tried], high[tried] = _intervals(boot_effect[:, tried], tail)
        if np.isfinite(importance):
            imp_low, imp_high = _interval(boot_importance, tail)
    return DecisionEstimate(effect, low, high, count.astype(int), float(importance), imp_low, imp_high, n)


def _interval(samples: np.ndarray, tail: float) -> tuple[float, float]:
    """Percentile interval, or NaNs when most resamples could not estimate the quantity at all."""
    lo, hi = _intervals(np.asarray(samples, dtype=float).reshape(-1, 1), tail)
    return float(lo[0]), float(hi[0])


def _intervals(samples: np.ndarray, tail: float) -> tuple[np.ndarray, np.ndarray]:
    """``_interval`` of each column of ``samples`` (resamples x quantities) at once.

    The percentiles of each column's finite values, interpolated linearly as ``np.percentile``
    does; NaN for a column where fewer than half of the resamples (or fewer than 2) are finite.
    """
    n, m = samples.shape
    finite = np.isfinite(samples)
    count = finite.sum(axis=0)
    ordered = np.sort(np.where(finite, samples, np.inf), axis=0)  # the finite values first, in order
    columns = np.arange(m)
    bounds = []
    for q in (tail, 100.0 - tail):
        position = np.maximum(count - 1, 0) * (q / 100.0)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(count - 1, 0))
        frac = position - below
        with np.errstate(invalid="ignore"):
            value = ordered[below, columns] + frac * (ordered[above, columns] - ordered[below, columns])
        bounds.append(np.where(count >= max(2, n // 2), value, np.nan) if m else np.zeros(0))
    return bounds[0], bounds[1]


def forest(
    codes: np.ndarray,
    y: np.ndarray,
    sizes: list[int],
    n_bootstrap: int,
    confidence: float,
    rng: np.random.Generator,
) -> list[DecisionEstimate | None]:
    """Bagged random forests: permutation importance per decision, partial dependence per option.

    A forest can pick up interactions the marginal means average away (an edge that only
    matters when the edges before it carry something). Each of ``min(n_bootstrap, 30)`` forests
    is fitted on a bootstrap sample; the trials it did not see (out of bag) measure how much
    worse it predicts when a decision's column is shuffled among the trials where that decision
    occurs. For an additive effect with spread s, shuffling raises the squared error by about
    2 s², so ``sqrt(increase / 2)`` is reported: the same units as the marginal importance.
    Option effects are partial dependence: predict every trial (where the decision occurs) with
    the option forced, average, centre over the options. Estimates average the forests and
    intervals are percentiles over them. A forest averages neighbouring architectures, which
    shrinks every effect toward 0, so these intervals show how stable the forest's answer is,
    not a calibrated confidence about the true effect: rank with the forest, size with the
    marginal means.
    """
    from sklearn.ensemble import RandomForestRegressor

    n, d = codes.shape
    refits = max(1, min(int(n_bootstrap), FOREST_REFITS)) if n_bootstrap else 1
    x = codes.astype(float)
    effects = [np.full((refits, k), np.nan) for k in sizes]
    importances = np.full((refits, d), np.nan)
    probes, slices = _probes(x, codes, sizes)
    for r in range(refits):
        rows = rng.integers(n, size=n) if refits > 1 else np.arange(n)
        model = RandomForestRegressor(
            n_estimators=FOREST_TREES,
            min_samples_leaf=2,
            max_features=0.5,
            random_state=int(rng.integers(2**31)),
            n_jobs=1,
        )
        model.fit(x[rows], y[rows])
        if len(probes):
            predicted = model.predict(probes)
            for j, span in slices.items():
                means = predicted[span].reshape(sizes[j], -1).mean(axis=1)
                effects[j][r] = means - means.mean()
        held_out = np.setdiff1d(np.arange(n), rows) if refits > 1 else np.arange(n)
        importances[r] = _permutation(model, x, y, codes, held_out, rng)
    out: list[DecisionEstimate | None] = []
    tail = 50.0 * (1.0 - confidence)
    for j, k in enumerate(sizes):
        active = codes[:, j] >= 0
        if not active.any():
            out.append(None)
            continue
        count = np.bincount(codes[active, j], minlength=k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # options no forest could judge stay NaN
            effect = np.nanmean(effects[j], axis=0)
        effect = np.where(count > 0, effect, np.nan)
        bounds = [
            _interval(effects[j][:, o], tail) if count[o] >= 2 and refits > 1 else (np.nan, np.nan) for o in range(k)
        ]
        column = importances[:, j]
        importance = float(np.nanmean(column)) if np.isfinite(column).any() and (count > 0).sum() >= 2 else np.nan
        imp_low, imp_high = _interval(column, tail) if np.isfinite(importance) and refits > 1 else (np.nan, np.nan)
        out.append(
            DecisionEstimate(
                effect,
                np.array([b[0] for b in bounds]),
                np.array([b[1] for b in bounds]),
                count.astype(int),
                importance,
                imp_low,
                imp_high,
                int(active.sum()),
            )
        )
    return out


def _probes(x: np.ndarray, codes: np.ndarray, sizes: list[int]) -> tuple[np.ndarray, dict[int, slice]]:
    """Every active row with decision j forced to each option, stacked for one predict call."""
    blocks, slices, start = [], {}, 0
    for j, k in enumerate(sizes):
        active = x[codes[:, j] >= 0]
        if len(active) == 0:
            continue
        block = np.repeat(active[None], k, axis=0)
        block[:, :, j] = np.arange(k)[:, None]
        blocks.append(block.reshape(-1, x.shape[1]))
        slices[j] = slice(start, start + k * len(active))
        start += k * len(active)
    return (np.concatenate(blocks) if blocks else np.empty((0, x.shape[1]))), slices


def _permutation(
    model, x: np.ndarray, y: np.ndarray, codes: np.ndarray, rows: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """sqrt(MSE increase / 2) per decision, shuffling its column among held-out rows where it occurs."""
    out = np.full(x.shape[1], np.nan)
    if len(rows) < 2:
        return out
    base = (model.predict(x[rows]) - y[rows]) ** 2
    for j in range(x.shape[1]):
        active = rows[codes[rows, j] >= 0]
        if len(active) < 2:
            continue
        where = np.isin(rows, active)
        increase = []
        for _ in range(PERMUTATION_REPEATS):
            shuffled = x[active].copy()
            shuffled[:, j] = shuffled[rng.permutation(len(active)), j]
            increase.append(np.mean((model.predict(shuffled) - y[active]) ** 2) - base[where].mean())
        out[j] = float(np.sqrt(max(float(np.mean(increase)), 0.0) / 2.0))
    return out
