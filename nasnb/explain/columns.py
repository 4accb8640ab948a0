"""A search's trials as columns: converted once as they land, read as a prefix for any step.

Every picture of a search (population, best so far, Pareto front, lineage) is a function of its
first ``k`` trials. Walking the Trial records for each redraw costs O(k) Python work, so a
10,000-trial replay took seconds per slider move. ``TrialColumns`` converts each trial once
(amortised O(1) when appended) into numpy columns and keeps the running quantities (best so far
and where it was found, lowest and highest score, which costs every success reports) as prefix
arrays; ``view(k)`` is then a frozen ``Columns`` of numpy slices, no copies: the state at step
``k`` is read, not recomputed, and a live search and a replay read it the same way.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..trial import Trial
from .curves import best_so_far

COSTS = ("params", "macs", "latency_ms")


@dataclass(frozen=True)
class Columns:
    """The first ``len(self)`` trials of a search, one numpy array per fact, in log order.

    Per trial (position ``p``): ``ids``, ``steps``, ``scores`` (``metric``; NaN when failed or
    missing), ``failed`` (status failed), ``kinds`` (codes into ``kind_names``: the decision's
    kind), ``costs[name]`` (NaN when missing), ``first_parent`` (position of the first recorded
    parent already in the log, -1 for none). Running, over positions ``0..p``: ``best`` (NaN
    before the first success), ``best_at`` (its position, the earliest on ties; -1 before),
    ``low``/``high`` (lowest and highest score), ``cost_missing[name]`` (successes without that
    cost). Edges (parent → child links, as positions) in child order: ``edge_parent``,
    ``edge_child``, ``edge_kinds`` (codes into ``kind_names``) and ``edge_labels``.
    """

    metric: str
    ids: np.ndarray
    steps: np.ndarray
    scores: np.ndarray
    failed: np.ndarray
    kinds: np.ndarray
    kind_names: tuple[str | None, ...]
    costs: Mapping[str, np.ndarray]
    cost_missing: Mapping[str, np.ndarray]
    first_parent: np.ndarray
    best: np.ndarray
    best_at: np.ndarray
    low: np.ndarray
    high: np.ndarray
    edge_parent: np.ndarray
    edge_child: np.ndarray
    edge_kinds: np.ndarray
    edge_labels: Sequence[str]
    positions: Mapping[int, int]

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, trial_id: int | None) -> int | None:
        """Where trial ``trial_id`` sits in the log, or None when it is not among these trials."""
        if trial_id is None:
            return None
        n = len(self.ids)
        if 0 <= trial_id < n and self.ids[trial_id] == trial_id:
            return int(trial_id)  # a sequential search: ids are positions
        p = self.positions.get(int(trial_id))
        return p if p is not None and p < n else None

    def best_position(self) -> int | None:
        """Position of the successful trial with the highest score (the earliest of equals)."""
        return int(self.best_at[-1]) if len(self.best_at) and self.best_at[-1] >= 0 else None

    def kind(self, position: int) -> str | None:
        return self.kind_names[int(self.kinds[position])]

    def cost_choices(self) -> list[str]:
        """Costs (params, macs, latency_ms) every successful trial reports; none before a success."""
        if not len(self) or bool(self.failed.all()):
            return []
        return [name for name in self.costs if self.cost_missing[name][-1] == 0]

    def path_to_best(self) -> list[int]:
        """Positions from a root to the best trial, following each trial's first recorded parent."""
        at = self.best_position()
        path, seen = [], set()
        while at is not None and at >= 0 and at not in seen:
            path.append(at)
            seen.add(at)
            at = int(self.first_parent[at])
        return path[::-1]


class _Grow:
    """A numpy array that grows by appending chunks (capacity doubles, so appends are O(1) amortised)."""

    def __init__(self, dtype: Any) -> None:
        self.data = np.empty(64, dtype=dtype)
        self.size = 0

    def extend(self, values: Any) -> None:
        values = np.asarray(values, dtype=self.data.dtype)
        need = self.size + len(values)
        if need > len(self.data):
            grown = np.empty(max(need, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : need] = values
        self.size = need

    def last(self, default: Any) -> Any:
        return self.data[self.size - 1] if self.size else default

    def upto(self, n: int) -> np.ndarray:
        view = self.data[:n]
        view.flags.writeable = False
        return view


class TrialColumns:
    """Append-only columns of a search's trials for one ``metric``: ``extend(new_trials)``, ``view(k)``.

    ``costs`` are the metrics kept as cost columns; ``labels`` also keeps a text label for each
    link (``change_label``; the matplotlib lineage writes them, the explorer does not need them).

    Thread-safe: a search thread (or a redraw thread) may extend while another thread reads a
    view; a view never changes once taken. Links to a parent not yet in the log (a parallel or
    damaged log) are left out, as ``lineage_graph`` leaves out links to absent trials.
    """

    def __init__(self, metric: str = "accuracy", costs: Sequence[str] = COSTS, *, labels: bool = False) -> None:
        self.metric = metric
        self.labels = labels
        self._lock = threading.Lock()
        self._ids, self._steps = _Grow(np.int64), _Grow(np.int64)
        self._scores, self._failed, self._kinds = _Grow(float), _Grow(bool), _Grow(np.int16)
        self._costs = {name: _Grow(float) for name in costs}
        self._missing = {name: _Grow(np.int64) for name in costs}
        self._first_parent = _Grow(np.int64)
        self._best, self._best_at = _Grow(float), _Grow(np.int64)
        self._low, self._high = _Grow(float), _Grow(float)
        self._edge_parent, self._edge_child, self._edge_kinds = _Grow(np.int64), _Grow(np.int64), _Grow(np.int16)
        self._edge_labels: list[str] = []
        self._edges_upto = _Grow(np.int64)  # edges whose child is at a position <= p
        self._kind_names: list[str | None] = []
        self._kind_code: dict[str | None, int] = {}
        self._positions: dict[int, int] = {}

    def __len__(self) -> int:
        return self._ids.size

    @classmethod
    def of(cls, trials: Iterable[Trial], metric: str = "accuracy") -> Columns:
        """The columns of ``trials`` in one go, link labels included (for a plot of a finished run)."""
        return cls(metric, labels=True).extend(trials).view()

    def extend(self, trials: Iterable[Trial]) -> TrialColumns:
        """Append trials in log order; returns the columns so construction and filling chain."""
        from .lineage import change_label, parent_ids, parent_links

        trials = list(trials)
        if not trials:
            return self
        with self._lock:
            start = len(self)
            ids, steps, scores, failed, kinds, first = [], [], [], [], [], []
            costs: dict[str, list[float]] = {name: [] for name in self._costs}
            e_parent, e_child, e_kind = [], [], []
            metric, code, positions, labels = self.metric, self._code, self._positions, self._edge_labels
            cost_columns = list(costs.items())
            for offset, trial in enumerate(trials):
                if not isinstance(trial, Trial):
                    raise TypeError(f"expected Trial records, got {type(trial).__name__}")
                p = start + offset
                ids.append(trial.id)
                steps.append(trial.step)
                score = trial.score(metric)
                scores.append(math.nan if score is None else score)
                ok = trial.ok
                failed.append(not ok)
                decision = trial.decision or {}
                kinds.append(code(decision.get("kind")))
                metrics = trial.metrics
                for name, column in cost_columns:
                    column.append(_number(metrics.get(name)) if ok else math.nan)
                parent = -1
                links = parent_ids(trial) if decision else ()
                changes = [link["change"] for link in parent_links(trial)] if self.labels and links else None
                for i, (pid, kind) in enumerate(links):
                    q = positions.get(pid)
                    if q is None or pid == trial.id:
                        continue
                    parent = q if parent < 0 else parent
                    e_parent.append(q)
                    e_child.append(p)
                    e_kind.append(code(kind))
                    labels.append(change_label(kind, changes[i]) if changes is not None else kind)
                first.append(parent)
                positions.setdefault(trial.id, p)
            self._append(start, ids, steps, scores, failed, kinds, costs, first, e_parent, e_child, e_kind)
        return self

    def _append(self, start, ids, steps, scores, failed, kinds, costs, first, e_parent, e_child, e_kind) -> None:
        score = np.asarray(scores, dtype=float)
        ok = ~np.asarray(failed, dtype=bool)
        best = best_so_far(score, initial=self._best.last(np.nan))
        before = np.r_[self._best.last(np.nan), best[:-1]]  # the best before each trial
        with np.errstate(invalid="ignore"):
            improved = np.isfinite(score) & (np.isnan(before) | (score > before))  # ties keep the earlier
        where = np.where(improved, np.arange(start, start + len(score)), -1)
        best_at = np.maximum.accumulate(np.r_[int(self._best_at.last(-1)), where])[1:]
        low = np.fmin.accumulate(np.r_[self._low.last(np.nan), score])[1:]
        high = np.fmax.accumulate(np.r_[self._high.last(np.nan), score])[1:]
        self._ids.extend(ids)
        self._steps.extend(steps)
        self._scores.extend(score)
        self._failed.extend(~ok)
        self._kinds.extend(kinds)
        for name, values in costs.items():
            values = np.asarray(values, dtype=float)
            self._costs[name].extend(values)
            self._missing[name].extend(self._missing[name].last(0) + np.cumsum(ok & np.isnan(values)))
        self._first_parent.extend(first)
        self._best.extend(best)
        self._best_at.extend(best_at)
        self._low.extend(low)
        self._high.extend(high)
        child = np.asarray(e_child, dtype=np.int64)
        upto = np.searchsorted(child, np.arange(start, start + len(ids)), "right")
        self._edges_upto.extend(self._edge_child.size + upto)
        self._edge_parent.extend(e_parent)
        self._edge_child.extend(child)
        self._edge_kinds.extend(e_kind)

    def _code(self, kind: str | None) -> int:
        code = self._kind_code.get(kind)
        if code is None:
            code = self._kind_code[kind] = len(self._kind_names)
            self._kind_names.append(kind)
        return code

    def view(self, k: int | None = None) -> Columns:
        """The first ``k`` trials (all when None), as a frozen ``Columns`` of array slices."""
        with self._lock:
            n = len(self) if k is None else max(0, min(int(k), len(self)))
            m = int(self._edges_upto.data[n - 1]) if n else 0
            return Columns(
                metric=self.metric,
                ids=self._ids.upto(n),
                steps=self._steps.upto(n),
                scores=self._scores.upto(n),
                failed=self._failed.upto(n),
                kinds=self._kinds.upto(n),
                kind_names=tuple(self._kind_names),
                costs={name: column.upto(n) for name, column in self._costs.items()},
                cost_missing={name: column.upto(n) for name, column in self._missing.items()},
                first_parent=self._first_parent.upto(n),
                best=self._best.upto(n),
                best_at=self._best_at.upto(n),
                low=self._low.upto(n),
                high=self._high.upto(n),
                edge_parent=self._edge_parent.upto(m),
                edge_child=self._edge_child.upto(m),
                edge_kinds=self._edge_kinds.upto(m),
                edge_labels=_Frozen(self._edge_labels, m),
                positions=self._positions,
            )


class _Frozen(Sequence):
    """The first ``n`` items of a list that only grows: a view without copying it."""

    def __init__(self, items: list, n: int) -> None:
        self._items, self._n = items, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._items[: self._n][index]
        if not -self._n <= index < self._n:
            raise IndexError(index)
        return self._items[index % self._n]


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return math.nan
    return float(value)


def as_columns(source: Any, metric: str = "accuracy") -> Columns:
    """``source`` as Columns: Columns pass through; a Run, a Search or a list of Trials is converted."""
    if isinstance(source, Columns):
        return source
    return TrialColumns.of(getattr(source, "trials", source), metric)


__all__ = ["COSTS", "Columns", "TrialColumns", "as_columns"]
