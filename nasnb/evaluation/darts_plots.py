"""Pictures of a DARTS search: how the architecture weights moved, epoch by epoch.

The plot is the point of the exercise: it shows the mass of ``softmax(alpha)`` drifting towards
parameter-free operations (the known failure of DARTS) where the argmax cell alone would hide it.
Two steps as everywhere in nasnb: ``alpha_trajectories`` computes what to draw, ``plot_alphas``
draws it with matplotlib, imported only when called.
"""

from __future__ import annotations

from dataclasses import dataclass

from .darts import DartsResult


@dataclass(frozen=True)
class AlphaTrajectories:
    """Per-epoch probabilities of every operation on every edge, and the parameter-free share."""

    epochs: list[int]
    probabilities: dict[str, dict[str, list[float]]]  # edge -> op -> one value per epoch
    param_free_share: list[float]
    argmax: dict[str, str]  # the final argmax op per edge
    perturbation: dict[str, str]  # the op perturbation-based selection kept per edge


def alpha_trajectories(result: DartsResult) -> AlphaTrajectories:
    """What ``plot_alphas`` draws, read off a DartsResult."""
    edges = list(result.records[0].alphas)
    ops = list(result.records[0].alphas[edges[0]])
    return AlphaTrajectories(
        epochs=[r.epoch for r in result.records],
        probabilities={e: {o: [r.alphas[e][o] for r in result.records] for o in ops} for e in edges},
        param_free_share=result.param_free_shares(),
        argmax={e: result.argmax_cell[e] for e in edges},
        perturbation={e: result.perturbation_cell[e] for e in edges},
    )


def plot_alphas(result: DartsResult):
    """One panel per edge (softmax(alpha) of each op over epochs) plus the parameter-free share.

    Each edge's title names the op argmax keeps and the op perturbation keeps; returns the Figure.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError("plot_alphas needs matplotlib: pip install matplotlib") from err
    data = alpha_trajectories(result)
    fig, axes = plt.subplots(2, 4, figsize=(12, 5), sharex=True)
    flat = axes.ravel()
    for ax, (edge, ops) in zip(flat, data.probabilities.items()):
        for op, values in ops.items():
            ax.plot(data.epochs, values, label=op)
        ax.set_title(f"{edge}\nargmax {data.argmax[edge]} | perturb. {data.perturbation[edge]}", fontsize=9)
        ax.set_ylabel("softmax(α)", fontsize=8)
    share = flat[len(data.probabilities)]
    share.plot(data.epochs, data.param_free_share, color="black")
    share.set_ylim(0, 1)
    share.set_title("share on parameter-free ops", fontsize=9)
    handles, labels = flat[0].get_legend_handles_labels()
    legend = flat[len(data.probabilities) + 1]
    legend.axis("off")
    legend.legend(handles, labels, loc="center")
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    fig.tight_layout()
    return fig
