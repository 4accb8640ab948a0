"""Decision paths of a search: who descends from whom, through which change, at what gain.

Evolutionary strategies record each child's parents and the exact edit; successive halving
records which earlier trial earned a promotion. ``lineage_graph`` turns those records into a
graph (one node per trial, one edge per parent → child link), so the search's history can be
drawn, walked (``path_to_best``) and narrated (``narrate.explain_trial``). Strategies that keep
no parents (random search, Q-learning, REINFORCE, BO) give a graph of isolated nodes: a search
without ancestry is worth seeing as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

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


def parent_links(trial: Trial) -> list[dict[str, Any]]:
    """The trial's recorded parents as ``{"parent", "kind", "change"}``, in the order recorded.

    Reads evolution (``parents``: ids, ``change``, optional ``mutation`` after a crossover),
    NSGA-II (``parents``: dicts with id/rank/crowding, ``crossover``, ``mutation``) and successive
    halving / Hyperband (``promoted_from``), including inside a pre-screening strategy's base.
    """
    d = trial.decision or {}
    kind = d.get("kind")
    links: list[dict[str, Any]] = []
    origin = d.get("promoted_from")
    if isinstance(origin, dict) and origin.get("trial") is not None:
        change = {
            "kind": "promotion",
            "rung": origin.get("rung"),
            "epochs": origin.get("epochs"),
            "to_epochs": d.get("epochs"),
            "score": origin.get("score"),
        }
        return [{"parent": int(origin["trial"]), "kind": "promotion", "change": change}]
    parents = d.get("parents") or []
    for i, parent in enumerate(parents):
        pid = parent.get("id") if isinstance(parent, dict) else parent
        if not isinstance(pid, int) or isinstance(pid, bool):
            continue
        if kind == "crossover" or d.get("crossover") is not None:
            crossing = d.get("change") if kind == "crossover" else d.get("crossover")
            side = "from_a" if i == 0 else "from_b"
            change = {"kind": "crossover", "took": list((crossing or {}).get(side, [])), "mutation": d.get("mutation")}
            links.append({"parent": pid, "kind": "crossover", "change": change})
        else:
            change = d.get("change") if kind == "mutation" else d.get("mutation")
            links.append({"parent": pid, "kind": "mutation", "change": dict(change or {"kind": "mutation"})})
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


def plot_lineage(graph: nx.DiGraph, ax: Any = None, *, highlight: Iterable[int] | None = None, labels: bool = False):
    """Draw the lineage: x = step, y = score; grey links, ``highlight`` (e.g. a path's ids) in red.

    Failed trials sit on the bottom edge as crosses; promotions are dashed. ``labels`` writes the
    change on each highlighted link.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    scores = [s for _, s in graph.nodes(data="score") if s is not None]
    floor = (min(scores) - 0.05 * (max(scores) - min(scores) or 1.0)) if scores else 0.0
    pos = {
        n: (data["step"], data["score"] if data["score"] is not None else floor) for n, data in graph.nodes(data=True)
    }
    path = list(highlight or [])
    on_path = set(zip(path, path[1:]))
    for u, v, data in graph.edges(data=True):
        (x0, y0), (x1, y1) = pos[u], pos[v]
        hot = (u, v) in on_path
        ax.plot(
            [x0, x1],
            [y0, y1],
            color="tab:red" if hot else "#b0b0b0",
            lw=1.6 if hot else 0.6,
            ls="--" if data["kind"] == "promotion" else "-",
            zorder=2 if hot else 1,
        )
        if hot and labels:
            ax.annotate(data["label"], ((x0 + x1) / 2, (y0 + y1) / 2), fontsize=6.5, color="tab:red")
    ok = [n for n, d in graph.nodes(data=True) if d["score"] is not None]
    failed = [n for n in graph.nodes if n not in set(ok)]
    ax.scatter([pos[n][0] for n in ok], [pos[n][1] for n in ok], s=12, c="tab:blue", zorder=3)
    if failed:
        ax.scatter(
            [pos[n][0] for n in failed],
            [pos[n][1] for n in failed],
            s=16,
            marker="x",
            c="black",
            zorder=3,
            label="failed",
        )
        ax.legend(fontsize=7, loc="lower right")
    if path:
        ax.scatter(
            [pos[n][0] for n in path if n in pos], [pos[n][1] for n in path if n in pos], s=22, c="tab:red", zorder=4
        )
    ax.set_xlabel("step")
    ax.set_ylabel(graph.graph.get("metric", "score"))
    ax.set_title(f"lineage: {graph.number_of_nodes()} trials, {graph.number_of_edges()} links", fontsize=9)
    return ax


__all__ = ["as_trials", "change_label", "lineage_graph", "parent_links", "path_to_best", "plot_lineage"]
