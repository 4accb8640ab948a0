"""Bayesian optimisation: a Gaussian process guesses every architecture's score, with doubt.

After a few random architectures, a surrogate model is fitted to the scores seen so far. It
predicts, for any architecture, a mean (what we expect) and a standard deviation (how unsure we
are). The acquisition function turns the two into one number that is high where the expected
score is good *or* the doubt is large: expected improvement (how much, on average, we would beat
the best so far) or an upper confidence bound (mean + κ·std). The next architecture is the one
with the highest acquisition among candidates found by hill-climbing from the best points seen
(over ``space.neighbors``) plus random samples, so both refinement and surprise are on the table.

The GP works on ``space.encode(arch)``, a one-hot vector of the choices. Its kernel is
k(x, x') = exp(−h(x, x') / ℓ) with h the number of decisions on which the two architectures
differ (the exponentiated Hamming / overlap kernel, the natural one for categorical inputs).
The length-scale ℓ and the noise level are chosen by marginal likelihood on a small grid.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..spaces import Architecture, BaseSpace
from ..trial import Proposal, Trial
from ._checks import check_choice, check_float, check_int, check_metric
from .base import BaseStrategy

LENGTH_SCALES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
NOISES = (1e-4, 1e-3, 1e-2, 1e-1, 0.3)


class GPPrediction(NamedTuple):
    """What the GP believes about each architecture: latent ``mean`` and ``std``, in the units of y."""

    mean: np.ndarray
    std: np.ndarray


class HammingGP:
    """Exact GP regression with the exponentiated Hamming kernel on standardised targets."""

    def __init__(self, length_scale: float = 2.0, noise: float = 1e-3) -> None:
        self.length_scale = length_scale
        self.noise = noise

    @staticmethod
    def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Number of differing decisions (half the L1 distance of one-hot vectors)."""
        return 0.5 * np.abs(a[:, None, :] - b[None, :, :]).sum(axis=2)

    def fit(self, x: np.ndarray, y: np.ndarray) -> HammingGP:
        """Standardise ``y``, then keep the (ℓ, noise) of the grid with the best marginal likelihood."""
        self.x_ = x
        self.y_mean_ = float(np.mean(y))
        self.y_std_ = float(np.std(y)) or 1.0
        z = (y - self.y_mean_) / self.y_std_
        dist = self.distances(x, x)
        best = None
        for ell in LENGTH_SCALES:
            kernel = np.exp(-dist / ell)
            for noise in NOISES:
                try:
                    factor = np.linalg.cholesky(kernel + noise * np.eye(len(x)))
                except np.linalg.LinAlgError:
                    continue
                inverse = np.linalg.inv(factor)  # small n: one inverse makes every prediction a matmul
                alpha = inverse.T @ (inverse @ z)
                log_ml = -0.5 * float(z @ alpha) - float(np.log(np.diag(factor)).sum())
                if best is None or log_ml > best[0]:
                    best = (log_ml, ell, noise, inverse, alpha)
        _, self.length_scale, self.noise, self.inverse_factor_, self.alpha_ = best
        return self

    def predict(self, x: np.ndarray) -> GPPrediction:
        """Mean and standard deviation of the latent score (noise excluded), in the units of y."""
        k = np.exp(-self.distances(x, self.x_) / self.length_scale)
        mean = k @ self.alpha_
        v = self.inverse_factor_ @ k.T
        var = np.maximum(1.0 - np.sum(v * v, axis=0), 1e-12)
        return GPPrediction(self.y_mean_ + self.y_std_ * mean, self.y_std_ * np.sqrt(var))


class BayesianStrategy(BaseStrategy):
    """GP-based Bayesian optimisation over ``space.encode``.

    Parameters: ``n_initial`` (random architectures before the first model), ``acquisition``
    (``"ei"``, expected improvement, or ``"ucb"``), ``xi`` (EI's minimum improvement worth
    having), ``kappa`` (UCB's weight on the std), ``n_random`` (random candidates per ask),
    ``n_starts`` (best points to hill-climb from), ``metric`` (maximised). Architectures already
    evaluated (by canonical key) are never proposed again. Failed trials are ignored.
    """

    name = "bo"

    def __init__(
        self,
        *,
        n_initial: int = 10,
        acquisition: str = "ei",
        xi: float = 0.0,
        kappa: float = 2.0,
        n_random: int = 100,
        n_starts: int = 3,
        metric: str = "accuracy",
    ) -> None:
        self.n_initial = n_initial
        self.acquisition = acquisition
        self.xi = xi
        self.kappa = kappa
        self.n_random = n_random
        self.n_starts = n_starts
        self.metric = metric

    def setup(self, space: BaseSpace, seed: int | None = 0) -> None:
        check_int(self, "n_initial", self.n_initial, low=1)
        check_choice(self, "acquisition", self.acquisition, ("ei", "ucb"))
        check_float(self, "xi", self.xi, low=0.0)
        check_float(self, "kappa", self.kappa, low=0.0)
        check_int(self, "n_random", self.n_random, low=0)
        check_int(self, "n_starts", self.n_starts, low=0)
        if self.n_random == 0 and self.n_starts == 0:
            raise ValueError("BayesianStrategy parameters n_random and n_starts cannot both be 0: no candidates")
        check_metric(self, "metric", self.metric)
        super().setup(space, seed)
        self.observed_: list[dict[str, Any]] = []  # {"arch", "score"} of successful trials
        self.proposed_: set[str] = set()  # canonical keys already proposed

    def _sample_new(self) -> Architecture:
        arch = self.space_.sample(self.rng_)
        for _ in range(100):
            if arch.key not in self.proposed_:
                break
            arch = self.space_.sample(self.rng_)
        return arch

    def ask(self) -> Proposal:
        self._require_setup()
        self.n_asked_ += 1
        if self.n_asked_ <= self.n_initial:
            return self._propose(self._sample_new(), {"kind": "init"})
        if len(self.observed_) < 2:
            reason = "fewer than 2 successful trials: nothing to fit the surrogate to yet"
            return self._propose(self._sample_new(), {"kind": "random", "reason": reason})
        archs = [self.space_.parse(o["arch"]) for o in self.observed_]
        scores = np.array([o["score"] for o in self.observed_])
        gp = HammingGP().fit(np.stack([self.space_.encode(a) for a in archs]).astype(float), scores)
        pool = self._candidates(gp, archs, scores)
        if not pool:
            return self._propose(self._sample_new(), {"kind": "random", "reason": "no unevaluated candidate"})
        ranked = sorted(pool.values(), key=lambda c: -c["acquisition_value"])  # stable: first found wins ties
        best, others = ranked[0], ranked[1:4]
        decision = {
            "kind": "bo",
            "acquisition": self.acquisition,
            "mean": best["mean"],
            "std": best["std"],
            "acquisition_value": best["acquisition_value"],
            "source": best["source"],
            "best_so_far": float(scores.max()),
            "kernel": {"length_scale": gp.length_scale, "noise": gp.noise},
            "runners_up": [{k: c[k] for k in ("arch", "mean", "std", "acquisition_value", "source")} for c in others],
        }
        return self._propose(self.space_.parse(best["arch"]), decision)

    def _propose(self, arch: Architecture, decision: dict[str, Any]) -> Proposal:
        self.proposed_.add(arch.key)
        return Proposal(arch, decision)

    def _score(self, gp: HammingGP, archs: list[Architecture], best: float) -> list[tuple[float, float, float]]:
        mean, std = gp.predict(np.stack([self.space_.encode(a) for a in archs]).astype(float))
        if self.acquisition == "ucb":
            acq = mean + float(self.kappa) * std
        else:
            from scipy.special import ndtr

            gain = mean - best - float(self.xi)
            z = gain / std
            acq = gain * ndtr(z) + std * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
        return [(float(m), float(s), float(a)) for m, s, a in zip(mean, std, acq)]

    def _candidates(self, gp: HammingGP, archs: list[Architecture], scores: np.ndarray) -> dict[str, dict]:
        """Unevaluated candidates by key: hill-climbs from the best points, then random samples."""
        best = float(scores.max())
        pool: dict[str, dict[str, Any]] = {}

        def add(batch: list[Architecture], source: str) -> None:
            fresh = [a for a in batch if a.key not in self.proposed_ and a.key not in pool]
            for arch, (m, s, a) in zip(fresh, self._score(gp, fresh, best) if fresh else []):
                pool[arch.key] = {"arch": str(arch), "mean": m, "std": s, "acquisition_value": a, "source": source}

        for start in (archs[i] for i in np.argsort(-scores, kind="stable")[: self.n_starts]):
            current, current_value = start, -np.inf
            for _ in range(len(self.space_.choices)):
                around = self.space_.neighbors(current)
                add(around, "local")
                step = max(
                    (pool[n.key] for n in around if n.key in pool), key=lambda c: c["acquisition_value"], default=None
                )
                if step is None or step["acquisition_value"] <= current_value:
                    break
                current, current_value = self.space_.parse(step["arch"]), step["acquisition_value"]
        add([self.space_.sample(self.rng_) for _ in range(self.n_random)], "random")
        return pool

    def tell(self, trial: Trial) -> None:
        self.n_told_ += 1
        score = trial.score(self.metric)
        arch = self._parse(trial)
        self.proposed_.add(arch.key)
        if score is not None:
            self.observed_.append({"arch": str(arch), "score": score})

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "observed": [dict(o) for o in self.observed_],
            "proposed": sorted(self.proposed_),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.observed_ = [dict(o) for o in state["observed"]]
        self.proposed_ = set(state["proposed"])
