"""What compression removed and what it cost, as data first and thin matplotlib renderers second.

* ``pruned_cell_graph``: the cell drawing (``spaces.drawing``) with each edge labelled by what
  pruning left of it (channels before -> after, or the share of zero weights);
* ``edge_sensitivity``: which cell edges and operations the accuracy depends on (from ``sensitivity``);
* ``tradeoff_points``: accuracy against size and against latency, every technique on one chart;
* ``distillation_table``: per class, teacher, lone student and distilled student, and where the
  distilled student still disagrees with its teacher.

The data functions are tested directly; the renderers only draw what they return (STYLE.md, point 6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..spaces import Architecture
from ..spaces.drawing import OP_COLOURS, ArchitectureGraph, architecture_graph, draw_graph
from .record import CompressionResult


def pruned_cell_graph(arch: Architecture, result: CompressionResult, cell: int = 0) -> ArchitectureGraph:
    """The cell of ``arch`` with each edge's ``kept`` share (1.0 = untouched) and a label saying what went.

    Works for structured results (``channels_before``/``channels_after`` per conv layer) and
    unstructured ones (``sparsity`` per layer). After structured pruning every edge carries the
    channels it has *after* pruning: a convolution its own output channels, and an edge without
    weights (skip, pooling) the channels of its stage, since it passes on what flows into it (the
    stage's channels are coupled: a node adds its edges channel by channel). Unstructured pruning
    zeroes weights only, so weightless edges keep 1.0 there.
    """
    body = _body_index(result, cell)
    per_edge: dict[str, dict[str, Any]] = {}
    for row in result.layers:
        parts = row["layer"].split(".")
        if len(parts) < 4 or parts[0] != "body" or parts[2] != "edges" or int(parts[1]) != body:
            continue
        src, dst = parts[3].split("_")
        per_edge[f"{int(src)}->{int(dst)}"] = row
    stage = stage_channels(result, body)
    graph = architecture_graph(arch, show_none=False)
    edges = []
    for edge in graph.edges:
        row = per_edge.get(edge["decision"])
        kept, label = 1.0, edge["label"]
        if row is not None and "channels_after" in row:
            kept = row["channels_after"] / row["channels_before"]
            label = f"{label}\n{row['channels_before']}->{row['channels_after']} ch"
        elif row is not None and "sparsity" in row:
            kept = 1.0 - row["sparsity"]
            label = f"{label}\n{row['sparsity']:.0%} zero"
        elif row is None and stage is not None:  # no weights of its own: it carries the stage's channels
            kept = stage[1] / stage[0]
            label = f"{label}\n{stage[0]}->{stage[1]} ch"
        # the long arc (in -> out) rises higher than usual, clear of the two-line label of the arc below it
        bend = -0.8 if edge["bend"] < 0 and edge["target"] - edge["source"] == 3 else edge["bend"]
        edges.append({**edge, "label": label, "kept": kept, "bend": bend})
    title = f"cell {cell} after {result.method}"
    if stage is not None:
        title += f": {stage[0]} -> {stage[1]} channels"
    return replace(graph, edges=edges, title=title)


def stage_channels(result: CompressionResult, body: int) -> tuple[int, int] | None:
    """Channels (before, after) of the stage holding ``model.body[body]``, or None for a result without widths.

    A cell's convolutions all output the stage's channels; a cell without any takes the output of the
    last convolution before it (the stem, or the reduction that opens the stage).
    """
    before = None
    for row in result.layers:
        if "channels_after" not in row:
            continue
        parts = row["layer"].split(".")
        if parts[0] not in ("stem", "body"):  # the classifier comes after every stage
            continue
        index = int(parts[1]) if parts[0] == "body" else -1
        if index == body and len(parts) > 2 and parts[2] == "edges":
            return row["channels_before"], row["channels_after"]
        if index < body:
            before = (row["channels_before"], row["channels_after"])
    return before


def _body_index(result: CompressionResult, cell: int) -> int:
    """Position in ``model.body`` of the ``cell``-th cell (reductions sit between stages)."""
    from ..nn.cell import Cell

    positions = [i for i, m in enumerate(result.model.body) if isinstance(m, Cell)]
    if not 0 <= cell < len(positions):
        raise ValueError(f"cell must be in 0..{len(positions) - 1}, got {cell!r}")
    return positions[cell]


def edge_sensitivity(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Edge rows of ``sensitivity`` sorted by accuracy drop (largest first): what the accuracy depends on."""
    edges = [dict(r) for r in rows if r.get("kind") == "edge"]
    return sorted(edges, key=lambda r: (-r["drop"], r["cell"], r["edge"]))


def tradeoff_points(baseline: CompressionResult, results: Sequence[CompressionResult]) -> list[dict[str, Any]]:
    """One point per model: method, file and tensor bytes, latency at batch 1 and 64, test accuracy, params."""
    keys = ("method", "size_bytes", "tensor_bytes", "latency_ms_b1", "latency_ms_b64", "test_accuracy", "params")
    points = []
    for r in [baseline, *results]:
        point = {k: getattr(r, k) for k in keys}
        point["setting"] = next((f"{k}={v}" for k, v in r.settings.items() if k in _SETTING_KEYS), "")
        value = next((r.settings[k] for k in _SETTING_KEYS[:3] if k in r.settings), None)
        name = _SHORT_NAMES.get(r.method, r.method)
        point["label"] = name if value is None else f"{name} {value:g}"
        points.append(point)
    return points


_SETTING_KEYS = ("rank_ratio", "ratio", "amount", "engine")
_SHORT_NAMES = {"prune-structured": "structured", "prune-unstructured": "unstructured", "lowrank": "rank"}


def tradeoff_range(points: Sequence[dict[str, Any]], *, within: float = 12.0) -> tuple[float, float]:
    """The accuracy range (in %) a trade-off chart shows: every point within ``within`` points of the baseline.

    Points far below (a low rank without fine-tuning can fall to chance) would squash the cluster
    that matters into a sliver; the renderer draws them on the lower edge with their accuracy.
    """
    accuracies = [100 * p["test_accuracy"] for p in points]
    top = max(accuracies)
    reference = next((100 * p["test_accuracy"] for p in points if p["method"] == "baseline"), top)
    shown = [a for a in accuracies if a >= reference - within]
    low, high = min(shown), max(shown)
    pad = max(1.0, 0.12 * (high - low))
    return max(0.0, low - pad), min(100.0, high + pad)


def distillation_table(result) -> list[dict[str, Any]]:
    """Per-class rows of a ``DistillationResult``, largest gain of distillation first."""
    return sorted((dict(r) for r in result.per_class), key=lambda r: -r["gain"])


# -- renderers --------------------------------------------------------------------------------------


def plot_pruned_cell(graph: ArchitectureGraph, ax: Any = None):
    """Draw ``pruned_cell_graph``: line width is the share kept, the grey halo what was removed."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.4))
    draw_graph(graph, ax, edge_width=lambda edge: 0.6 + 4.4 * edge["kept"], halo=5.0)
    ax.text(
        0.5,
        -0.02,
        "arrow width: channels (or weights) kept; grey halo: what pruning removed",
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=8,
        color="#555555",
    )
    return ax


def plot_edge_sensitivity(rows: Sequence[dict[str, Any]], ax: Any = None):
    """Bars: validation accuracy lost when each live cell edge is removed, largest on top."""
    import matplotlib.pyplot as plt

    edges = edge_sensitivity(rows)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 0.3 * max(len(edges), 3) + 1))
    labels = [f"cell {r['cell']}  {r['edge']}  {r['op']}" for r in edges][::-1]
    drops = [100 * r["drop"] for r in edges][::-1]
    colours = [OP_COLOURS.get(r["op"], "#333333") for r in edges][::-1]
    ax.barh(range(len(edges)), drops, color=colours)
    ax.set_yticks(range(len(edges)), labels, fontsize=8)
    ax.set_xlabel("validation accuracy lost when the edge is removed (points)")
    ax.set_title("which edges the accuracy depends on", fontsize=9)
    return ax


def plot_tradeoff(points: Sequence[dict[str, Any]], axes: Any = None):
    """Accuracy against file size and against latency at batch 64, one colour per technique.

    The baseline is a black star with dashed guides through it; every point has its own label, placed
    where it overlaps no other label or marker; points below ``tradeoff_range`` sit on the lower edge
    as a down-pointing triangle, labelled with their real accuracy.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        # 9.2 inches at 100 dpi: shown unscaled in a notebook at 1366 pixels wide, so the 9-point labels stay 9 points
        fig, axes = plt.subplots(1, 2, figsize=(9.2, 4.6), sharey=True)
    low, high = tradeoff_range(points)
    methods = list(dict.fromkeys(p["method"] for p in points if p["method"] != "baseline"))
    colours = {m: plt.get_cmap("tab10")(i + 1) for i, m in enumerate(methods)}
    colours["baseline"] = "black"
    panels = list(zip(axes, ("size_bytes", "latency_ms_b64")))
    labels: list[tuple[Any, float, float, str, Any]] = []
    for ax, key in panels:
        base = next((p for p in points if p["method"] == "baseline"), None)
        if base is not None:
            ax.axhline(100 * base["test_accuracy"], color="#888888", ls="--", lw=0.8, zorder=1)
            ax.axvline(base[key], color="#888888", ls="--", lw=0.8, zorder=1)
        for method in ["baseline", *methods]:
            mine = [p for p in points if p["method"] == method]
            if not mine:
                continue
            xs = [p[key] for p in mine]
            ys = [max(100 * p["test_accuracy"], low + 0.02 * (high - low)) for p in mine]
            if len(mine) > 1:  # a sweep: solid within the range, dotted to the points on the lower edge
                ax.plot(xs, ys, ":", color=colours[method], lw=1.0, zorder=2)
                kept = [(x, y) for p, x, y in zip(mine, xs, ys) if 100 * p["test_accuracy"] >= low]
                ax.plot([x for x, _ in kept], [y for _, y in kept], "-", color=colours[method], lw=1.2, zorder=2)
            for p, x, y in zip(mine, xs, ys):
                below = 100 * p["test_accuracy"] < low
                marker, size = ("*", 17) if method == "baseline" else ("v" if below else "o", 8)
                ax.plot(  # a white rim keeps two markers on the same spot both visible
                    [x],
                    [y],
                    marker,
                    color=colours[method],
                    ms=size,
                    mec="white",
                    mew=1.0,
                    zorder=3 if method == "baseline" else 4,
                )
                text = f"{p['label']} ({100 * p['test_accuracy']:.0f} %)" if below else p["label"]
                labels.append((ax, x, y, text, colours[method]))
    for ax, _ in panels:
        ax.set_ylim(low, high)
        ax.margins(x=0.12)
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.25)
    axes[0].set_xlabel("size as saved by torch.save (bytes)", fontsize=10)
    axes[1].set_xlabel("CPU latency at batch 64 (ms), one noisy timing", fontsize=10)
    axes[0].set_ylabel("test accuracy (%)", fontsize=10)
    figure = axes[0].figure
    title = "what each technique costs: up and to the left is better\ndashed lines cross at the baseline"
    if any(100 * p["test_accuracy"] < low for p in points):
        title += "; ▼ on the lower edge: below the range shown, accuracy in brackets"
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    _place_labels(figure, labels)
    return axes


_OFFSETS = [(7, 5, "left", "bottom"), (7, -5, "left", "top"), (-7, 5, "right", "bottom"), (-7, -5, "right", "top")]
_OFFSETS += [
    (0, 9, "center", "bottom"),
    (0, -9, "center", "top"),
    (10, 0, "left", "center"),
    (-10, 0, "right", "center"),
    (-3, 9, "left", "bottom"),  # above or below, reaching inwards: for points near a side of the frame
    (-3, -9, "left", "top"),
    (3, 9, "right", "bottom"),
    (3, -9, "right", "top"),
]
_NEAR = len(_OFFSETS)  # beyond these, a label is a longer way off and a thin line says whose it is
_OFFSETS += [(dx * k, dy * k, ha, va) for k in (3, 5) for dx, dy, ha, va in _OFFSETS]


def _place_labels(figure: Any, labels: Sequence[tuple[Any, float, float, str, Any]]) -> None:
    """Put each label at the first of a few offsets where it stays inside its axes and overlaps nothing drawn."""
    renderer = figure.canvas.get_renderer()
    taken: dict[Any, list[Any]] = {}
    for ax, x, y, _, _ in labels:  # every marker is taken before any label is placed
        px, py = ax.transData.transform((x, y))
        taken.setdefault(ax, []).append(_box(px - 7, py - 7, px + 7, py + 7))

    def annotate(ax: Any, x: float, y: float, text: str, colour: Any, offset: int) -> Any:
        dx, dy, ha, va = _OFFSETS[offset]
        far = offset >= _NEAR
        return ax.annotate(
            text,
            (x, y),
            xytext=(dx, dy),
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=9,
            color=colour,
            zorder=6,
            arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.6, "shrinkB": 4} if far else None,
        )

    for ax, x, y, text, colour in labels:
        inside = ax.get_window_extent(renderer)
        point = ax.transData.transform((x, y))
        best: tuple[float, int] | None = None
        for offset in range(len(_OFFSETS)):
            note = annotate(ax, x, y, text, colour, offset)
            box = _text_box(note, renderer)
            note.remove()
            outside = not (inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1))
            line = _line_boxes(point, box) if offset >= _NEAR else []
            cost = 1e9 * outside + sum(_overlap(b, other) for b in [box, *line] for other in taken[ax])
            if best is None or cost < best[0]:
                best = (cost, offset)
            if cost == 0:
                break
        # the first place that overlaps nothing, or else the one that overlaps least
        box = _text_box(annotate(ax, x, y, text, colour, best[1]), renderer)
        line = _line_boxes(point, box) if best[1] >= _NEAR else []
        taken[ax] += [box, *line]


def _line_boxes(point: Any, box: Any) -> list[Any]:
    """Small boxes along the connecting line from a point to its label, so no other label sits on it."""
    (px, py), (cx, cy) = point, ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
    along = [(px + i / 16 * (cx - px), py + i / 16 * (cy - py)) for i in range(1, 16)]
    return [  # clear of the marker at one end and of the label itself at the other
        _box(x - 2, y - 2, x + 2, y + 2)
        for x, y in along
        if (x - px) ** 2 + (y - py) ** 2 > 81 and not box.contains(x, y)
    ]


def _text_box(note: Any, renderer: Any) -> Any:
    """The window extent of an annotation's text alone (not its connecting line), with 2 pixels around it."""
    from matplotlib.text import Text

    note.update_positions(renderer)
    return Text.get_window_extent(note, renderer).padded(2)


def _overlap(a: Any, b: Any) -> float:
    """Area (pixels) two boxes share."""
    return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))


def _box(x0: float, y0: float, x1: float, y1: float) -> Any:
    from matplotlib.transforms import Bbox

    return Bbox([[x0, y0], [x1, y1]])


def plot_distillation(result, ax: Any = None):
    """Per-class test accuracy of the teacher, the student alone and the distilled student."""
    import matplotlib.pyplot as plt
    import numpy as np

    rows = list(result.per_class)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2))
    x = np.arange(len(rows))
    for offset, key, colour in (
        (-0.27, "alone", "#999999"),
        (0.0, "distilled", "tab:orange"),
        (0.27, "teacher", "tab:blue"),
    ):
        ax.bar(x + offset, [100 * r[key] for r in rows], width=0.27, label=key, color=colour)
    ax.set_xticks(x, [str(r["class"]) for r in rows])
    ax.set_ylabel("test accuracy (%)")
    low = min(100 * min(r["alone"], r["distilled"], r["teacher"]) for r in rows)
    ax.set_ylim(max(0, low - 10), 101)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(
        f"per class: distilled {result.gain_points:+.1f} points over alone\n"
        f"agrees with the teacher on {result.agreement:.0%} of test images (alone: {result.agreement_alone:.0%})",
        fontsize=9,
    )
    return ax
