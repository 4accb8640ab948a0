"""Decision paths of a search: who descends from whom, through which change, at what gain.

Evolutionary strategies record each child's parents and the exact edit; successive halving
records which earlier trial earned a promotion. ``lineage_graph`` turns those records into a
graph (one node per trial, one edge per parent → child link), so the search's history can be
drawn, walked (``path_to_best``) and narrated (``narrate.explain_trial``). Strategies that keep
no parents (random search, Q-learning, REINFORCE, BO) give a graph of isolated nodes: a search
without ancestry is worth seeing as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..trial import Trial

if TYPE_CHECKING:
    import networkx as nx


def as_trials(source: Any) -> list[Trial]:
    """Trials from a Run, a Search or an iterable of Trials."""
    trials = list(getattr(source, "trials", source))
    bad = [type(t).__name__ for t in trials if not isinstance(t, Trial)]
    if bad:
        raise TypeError(f"expected Trial records (a Run, a Search or a list of Trials), got {bad[0]}")
    return trials


def parent_ids(trial: Trial) -> list[tuple[int, str]]:
    """``(parent id, link kind)`` of each recorded parent, in order: ``parent_links`` without the
    recorded changes, cheap enough to run on every trial of a long run."""
    d = trial.decision or {}
    origin = d.get("promoted_from")
    if isinstance(origin, dict) and origin.get("trial") is not None:
        return [(int(origin["trial"]), "promotion")]
    parents = d.get("parents")
    if not parents:
        return []
    kind = "crossover" if d.get("kind") == "crossover" or d.get("crossover") is not None else "mutation"
    out = []
    for parent in parents:
        pid = parent.get("id") if isinstance(parent, dict) else parent
        if isinstance(pid, int) and not isinstance(pid, bool):
            out.append((pid, kind))
    return out


def parent_links(trial: Trial) -> list[dict[str, Any]]:
    """The trial's recorded parents as ``{"parent", "kind", "change"}``, in the order recorded.

    Reads evolution (``parents``: ids, ``change``, optional ``mutation`` after a crossover),
    NSGA-II (``parents``: dicts with id/rank/crowding, ``crossover``, ``mutation``) and successive
    halving / Hyperband (``promoted_from``), including inside a pre-screening strategy's base.
    """
    d = trial.decision or {}
    links: list[dict[str, Any]] = []
    for i, (pid, kind) in enumerate(parent_ids(trial)):
        if kind == "promotion":
            origin = d["promoted_from"]
            change = {
                "kind": "promotion",
                "rung": origin.get("rung"),
                "epochs": origin.get("epochs"),
                "to_epochs": d.get("epochs"),
                "score": origin.get("score"),
            }
        elif kind == "crossover":
            crossing = d.get("change") if d.get("kind") == "crossover" else d.get("crossover")
            side = "from_a" if i == 0 else "from_b"
            change = {"kind": "crossover", "took": list((crossing or {}).get(side, [])), "mutation": d.get("mutation")}
        else:
            change = d.get("change") if d.get("kind") == "mutation" else d.get("mutation")
            change = dict(change or {"kind": "mutation"})
        links.append({"parent": pid, "kind": kind, "change": change})
    return links


def lineage_graph(trials: Any, metric: str = "accuracy") -> nx.DiGraph:
    """A directed graph of the search: node per trial, edge per recorded parent → child link.

    Node attributes: ``arch``, ``score`` (None when failed), ``status``, ``kind``, ``step``,
    ``error``. Edge attributes: ``kind`` (mutation, crossover, promotion), ``change`` (the
    recorded edit: decision, from, to; or the crossed decisions; or rung/epochs) and ``delta``
    (child score minus parent score, None if either is missing). Links to trials absent from
    ``trials`` (a truncated log) are left out.
    """
    import networkx as nx

    listed = as_trials(trials)
    graph = nx.DiGraph(metric=metric)
    for t in listed:
        graph.add_node(
            t.id,
            arch=t.arch,
            score=t.score(metric),
            status=t.status,
            kind=(t.decision or {}).get("kind"),
            step=t.step,
            error=t.error,
        )
    for t in listed:
        for link in parent_links(t):
            if link["parent"] not in graph or link["parent"] == t.id:
                continue
            before, after = graph.nodes[link["parent"]]["score"], graph.nodes[t.id]["score"]
            delta = after - before if before is not None and after is not None else None
            graph.add_edge(
                link["parent"],
                t.id,
                kind=link["kind"],
                change=link["change"],
                delta=delta,
                label=change_label(link["kind"], link["change"]),
            )
    return graph


def change_label(kind: str, change: dict[str, Any] | None) -> str:
    """Short text for an edge: ``1->3: conv_1x1→conv_3x3``, ``crossover (3)``, ``promoted 1→3 ep``."""
    change = change or {}
    if kind == "promotion":
        return f"promoted {change.get('epochs')}→{change.get('to_epochs')} epochs"
    if kind == "crossover":
        return f"crossover ({len(change.get('took', []))} from here)"
    if "decision" in change:
        return f"{change['decision']}: {change.get('from')}→{change.get('to')}"
    return kind


def path_to_best(trials: Any, metric: str = "accuracy") -> list[Trial]:
    """The chain of trials from a root (a trial without recorded parents) to the best trial.

    At each step back it follows the first recorded parent: the tournament winner that was
    mutated (or the first of two crossed parents, or the trial that earned a promotion). Empty
    when no trial succeeded; just ``[best]`` when the best trial has no recorded parents.
    """
    listed = as_trials(trials)
    by_id = {t.id: t for t in listed}
    scored = [t for t in listed if t.score(metric) is not None]
    if not scored:
        return []
    best = max(scored, key=lambda t: (t.score(metric), -t.id))
    path, seen = [best], {best.id}
    while True:
        links = [link for link in parent_links(path[-1]) if link["parent"] in by_id]
        if not links or links[0]["parent"] in seen:
            break
        path.append(by_id[links[0]["parent"]])
        seen.add(path[-1].id)
    return path[::-1]


class Segments(NamedTuple):
    """Line segments to draw: ``x`` and ``y`` of shape (n, 2), one row per (start, end) pair."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class LineageLayout:
    """The lineage as drawn: node ``i`` (trial ``ids[i]``) at ``x[i]`` = step, ``y[i]`` = score,
    trials without a score just below the lowest one (``floor``); ``scored``/``failed`` say which
    are which, ``kinds[i]`` codes the decision's kind into ``kind_names``. ``edges`` are (parent,
    child) node indices with their ``edge_kinds`` (codes into ``kind_names``: mutation,
    crossover, promotion) and ``edge_labels``; ``path`` the node indices from a root to the best
    trial and ``path_edges`` the links along it."""

    metric: str
    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    scored: np.ndarray
    failed: np.ndarray
    kinds: np.ndarray
    kind_names: tuple[str | None, ...]
    floor: float
    edges: np.ndarray
    edge_kinds: np.ndarray
    edge_labels: Sequence[str]
    path: np.ndarray
    path_edges: np.ndarray

    def segments(self, pairs: np.ndarray) -> Segments:
        """``Segments(x, y)`` of each (parent, child) pair, arrays of shape (n, 2), for line drawing."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        return Segments(self.x[pairs], self.y[pairs])


def lineage_layout(source: Any, path: Iterable[int] | None = None, *, metric: str = "accuracy") -> LineageLayout:
    """Where each trial and link of the lineage is drawn: x = step, y = score (time and quality).

    Laying trials out by time and score keeps the picture still while it grows (a force layout
    reshuffles with every trial) and makes the path to the best trial read left to right, uphill.
    ``source`` is a lineage graph (``lineage_graph``), ``Columns`` (the explorer's prefix of a
    search) or a list of Trials, a Run or a Search. ``path``: trial ids to highlight, root first;
    None follows first parents back from the best trial (for a graph: nothing highlighted).
    """
    from .columns import as_columns

    if hasattr(source, "nodes") and hasattr(source, "edges"):
        return _graph_layout(source, path)
    columns = as_columns(source, metric)
    if path is None:
        chain = np.asarray(columns.path_to_best(), dtype=np.int64)
    else:
        chain = np.asarray([p for p in map(columns.position, path) if p is not None], dtype=np.int64)
    edges = np.column_stack([columns.edge_parent, columns.edge_child]).astype(np.int64).reshape(-1, 2)
    return _layout(
        columns.metric,
        columns.ids,
        columns.steps,
        columns.scores,
        columns.failed,
        columns.kinds,
        columns.kind_names,
        edges,
        columns.edge_kinds,
        columns.edge_labels,
        chain,
    )


def _graph_layout(graph: nx.DiGraph, path: Iterable[int] | None) -> LineageLayout:
    ids = sorted(graph.nodes)
    where = {node: i for i, node in enumerate(ids)}
    attrs = [graph.nodes[i] for i in ids]
    names: list[str | None] = []

    def code(kind: str | None) -> int:
        if kind not in names:
            names.append(kind)
        return names.index(kind)

    codes = [code(a.get("kind")) for a in attrs]
    scores = [a.get("score") for a in attrs]
    pairs, kinds, labels = [], [], []
    for u, v, data in graph.edges(data=True):
        if u in where and v in where:
            pairs.append((where[u], where[v]))
            kinds.append(code(data.get("kind", "mutation")))
            labels.append(data.get("label") or change_label(data.get("kind", ""), data.get("change")))
    chain = np.asarray([where[i] for i in (path or ()) if i in where], dtype=np.int64)
    return _layout(
        graph.graph.get("metric", "score"),
        np.asarray(ids, dtype=np.int64),
        np.asarray([a.get("step", i) for i, a in zip(ids, attrs)], dtype=float),
        np.asarray([s if isinstance(s, (int, float)) else np.nan for s in scores], dtype=float),
        np.asarray([a.get("status") == "failed" for a in attrs], dtype=bool),
        np.asarray(codes, dtype=np.int64),
        tuple(names),
        np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
        np.asarray(kinds, dtype=np.int64),
        labels,
        chain,
    )


def _layout(metric, ids, steps, scores, failed, kinds, kind_names, edges, edge_kinds, labels, chain) -> LineageLayout:
    """The one layout both front doors share: failures just below the lowest score, path links marked."""
    scored = np.isfinite(scores)
    if scored.any():
        low, high = float(scores[scored].min()), float(scores[scored].max())
        floor = low - 0.05 * ((high - low) or 1.0)
    else:
        floor = 0.0
    steps_along = np.column_stack([chain[:-1], chain[1:]]).astype(np.int64).reshape(-1, 2)
    width = max(len(ids), 1)
    linked = np.isin(steps_along[:, 0] * width + steps_along[:, 1], edges[:, 0] * width + edges[:, 1])
    path_edges = steps_along[linked]  # the path's consecutive trials, where a link joins them
    return LineageLayout(
        metric=metric,
        ids=np.asarray(ids),
        x=np.asarray(steps, dtype=float),
        y=np.where(scored, scores, floor),
        scored=scored,
        failed=np.asarray(failed, dtype=bool),
        kinds=np.asarray(kinds),
        kind_names=tuple(kind_names),
        floor=floor,
        edges=edges,
        edge_kinds=np.asarray(edge_kinds, dtype=np.int64),
        edge_labels=labels,
        path=chain,
        path_edges=path_edges,
    )


def plot_lineage(graph: Any, ax: Any = None, *, highlight: Iterable[int] | None = None, labels: bool = False):
    """Draw the lineage: x = step, y = score; grey links, ``highlight`` (e.g. a path's ids) in red.

    ``graph`` is a lineage graph, Columns or trials (see ``lineage_layout``). Failed trials sit on
    the bottom edge as crosses; promotions are dashed. ``labels`` writes the change on each
    highlighted link.
    """
    import matplotlib.pyplot as plt

    layout = lineage_layout(graph, [] if highlight is None else list(highlight))
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    hot = {(int(u), int(v)) for u, v in layout.path_edges}
    kinds = [layout.kind_names[k] for k in layout.edge_kinds.tolist()]
    for (u, v), kind, label in zip(layout.edges.tolist(), kinds, layout.edge_labels):
        on = (u, v) in hot
        ax.plot(
            layout.x[[u, v]],
            layout.y[[u, v]],
            color="tab:red" if on else "#b0b0b0",
            lw=1.6 if on else 0.6,
            ls="--" if kind == "promotion" else "-",
            zorder=2 if on else 1,
        )
        if on and labels:
            ax.annotate(label, (layout.x[[u, v]].mean(), layout.y[[u, v]].mean()), fontsize=6.5, color="tab:red")
    ok = layout.scored
    ax.scatter(layout.x[ok], layout.y[ok], s=12, c="tab:blue", zorder=3)
    if (~ok).any():
        ax.scatter(layout.x[~ok], layout.y[~ok], s=16, marker="x", c="black", zorder=3, label="failed")
        ax.legend(fontsize=7, loc="lower right")
    if len(layout.path):
        ax.scatter(layout.x[layout.path], layout.y[layout.path], s=22, c="tab:red", zorder=4)
    ax.set_xlabel("step")
    ax.set_ylabel(layout.metric)
    ax.set_title(f"lineage: {len(layout.ids)} trials, {len(layout.edges)} links", fontsize=9)
    return ax


__all__ = [
    "LineageLayout",
    "Segments",
    "as_trials",
    "change_label",
    "lineage_graph",
    "lineage_layout",
    "parent_ids",
    "parent_links",
    "path_to_best",
    "plot_lineage",
]
