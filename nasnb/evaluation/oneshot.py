"""One-shot weight sharing: train one supernet by sampling a single path per step, then score cells with its weights.

Single-path one-shot NAS (Guo et al. 2020, "SPOS"; ENAS, Pham et al. 2018, shares weights the same
way with a learned sampler) trains the supernet of ``nasnb.nn.supernet`` differently from DARTS:
there are no architecture weights. Every training step draws one operation per edge uniformly at
random and trains only that path, so each operation's weights learn to work inside many different
cells. Afterwards any cell can be *scored* without training: copy its operations' weights out of
the supernet (``OneShotResult.inherit``), re-estimate the BatchNorm statistics on the training split
(the shared running averages describe a mixture of paths, not this cell; SPOS recalibrates too) and
measure validation accuracy. One supernet training then ranks thousands of cells, if the inherited
scores rank cells like stand-alone training does; ``rank_agreement`` measures whether they do.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import check_float, check_int
from .._params import ConstructorParams
from ..data import Dataset, load_dataset
from ..nn.build import build_model
from ..nn.cell import Cell, edge_key, live_edges
from ..nn.supernet import SuperCell, SuperNetwork
from ..spaces import EDGES, OPS, Architecture, CellSpace, edge_nodes
from ..spaces.cell import N_NODES
from .control import checkpoint, report_progress
from .threads import DEFAULT_THREADS, check_threads, limited_threads
from .trainer import EVAL_BATCH, evaluate_model, resolve_device


@dataclass(frozen=True)
class OneShotEpoch:
    """One epoch of supernet training: loss and accuracy of the sampled paths on their own batches."""

    epoch: int
    train_loss: float
    train_accuracy: float


@dataclass(frozen=True)
class OneShotResult:
    """A trained supernet and how it was trained; ``inherit(arch)`` reads a cell's network off it."""

    config: dict[str, Any]
    seed: int
    supernet: SuperNetwork
    network: dict[str, Any]  # channels, cells_per_stage, stages: the skeleton the table's networks use
    input_shape: tuple[int, ...]
    num_classes: int
    history: tuple[OneShotEpoch, ...]
    op_counts: dict[str, dict[str, int]]  # edge -> op -> how many training steps sampled it
    seconds: float

    def inherit(self, arch: Architecture | Mapping[str, str]) -> nn.Module:
        """The stand-alone network of ``arch`` (``build_model``'s CellNetwork) holding copies of the shared weights.

        Stem, reductions and head come from the supernet as they are; each live edge gets the weights of
        its operation on that edge. Dead edges have no weights (as in the table's networks).
        """
        ops = self.supernet.ops
        arch = arch if isinstance(arch, Architecture) else CellSpace().validate(dict(arch))
        outside = sorted({arch[e] for e in EDGES if arch[e] not in ops})
        if outside:
            raise ValueError(f"cell {arch} uses {outside}, which this supernet never trained (its ops: {list(ops)})")
        net = build_model(arch, self.input_shape, self.num_classes, **self.network)
        shared = self.supernet
        net.stem.load_state_dict(shared.stem.state_dict())
        net.head.load_state_dict(shared.head.state_dict())
        for mine, theirs in zip(net.body, shared.body):
            if isinstance(mine, Cell):
                for edge in mine.live:
                    key = edge_key(edge)
                    mine.edges[key].load_state_dict(theirs.edges[key].ops[ops.index(mine.ops[edge])].state_dict())
            else:
                mine.load_state_dict(theirs.state_dict())
        return net.to(next(shared.parameters()).device)


class OneShot(ConstructorParams):
    """Single-path one-shot training and inherited-weight scoring on CellSpace, configured like an estimator.

    ``fit(data, seed)`` trains the supernet for ``epochs`` with SGD (momentum 0.9, ``lr`` with cosine
    decay, ``weight_decay``, gradients clipped at 5), one uniformly sampled path per batch; ``score(result,
    archs, data)`` returns each cell's validation accuracy with inherited weights. ``network`` is the
    skeleton (default: the table recipe's for the dataset, so inherited networks are the table's networks),
    ``ops`` the operations the supernet offers, ``calibration`` how many training images re-estimate each
    scored cell's BatchNorm statistics (0: keep the supernet's shared ones). ``threads`` limits torch's CPU
    threads inside each call (the package-wide knob, default 1). ``verbose=k`` prints a line every k epochs
    and every k·10 scored cells; inside a Search, progress goes to the explorer either way.
    """

    def __init__(
        self,
        *,
        epochs: int = 20,
        batch_size: int = 64,
        lr: float = 0.05,
        weight_decay: float = 3e-4,
        ops: tuple[str, ...] = OPS,
        network: dict[str, Any] | None = None,
        calibration: int = 512,
        device: str = "auto",
        threads: int | None = DEFAULT_THREADS,
        verbose: int = 0,
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.ops = ops
        self.network = network
        self.calibration = calibration
        self.device = device
        self.threads = threads
        self.verbose = verbose

    def _check(self) -> None:
        check_int(self, "epochs", self.epochs, low=1)
        check_int(self, "batch_size", self.batch_size, low=2)
        check_float(self, "lr", self.lr, low=0, low_open=True)
        check_float(self, "weight_decay", self.weight_decay, low=0)
        check_int(self, "calibration", self.calibration, low=0)
        check_int(self, "verbose", self.verbose, low=0)
        check_threads(self, self.threads)
        CellSpace(tuple(self.ops))._ops()

    def sample_path(self, rng: np.random.Generator) -> dict[str, str]:
        """One operation per edge, each drawn uniformly from ``ops`` (the SPOS sampler)."""
        return {edge: self.ops[int(i)] for edge, i in zip(EDGES, rng.integers(len(self.ops), size=len(EDGES)))}

    def fit(self, data: Dataset | str, seed: int = 0) -> OneShotResult:
        """Train a supernet on ``data`` (a Dataset or its name); deterministic for a seed and device."""
        self._check()
        start = time.perf_counter()
        data = load_dataset(data) if isinstance(data, str) else data
        dev = resolve_device(self.device)
        network = self.network
        if network is None:
            from .recipes import RECIPES

            network = RECIPES.get(data.name, {}).get("network", {"channels": 8})
        rng = np.random.default_rng(seed)
        counts = {edge: dict.fromkeys(self.ops, 0) for edge in EDGES}
        history = []
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []), limited_threads(self.threads, self):
            torch.manual_seed(seed)
            net = SuperNetwork(data.input_shape, data.num_classes, ops=tuple(self.ops), **network).to(dev)
            net.alpha.requires_grad_(False)  # no architecture weights in one-shot: paths are sampled
            x, y = data.train.x.to(dev), data.train.y.to(dev)
            bs = min(self.batch_size, len(y))
            per_epoch, order = len(y) // bs, torch.Generator().manual_seed(seed)
            opt = torch.optim.SGD(net.weight_parameters(), lr=self.lr, momentum=0.9, weight_decay=self.weight_decay)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.epochs * per_epoch)
            net.train()
            for epoch in range(1, self.epochs + 1):
                perm, loss_sum, correct = torch.randperm(len(y), generator=order).to(dev), 0.0, 0
                for b in range(per_epoch):
                    checkpoint()
                    path = self.sample_path(rng)
                    for edge, op in path.items():
                        counts[edge][op] += 1
                    idx = perm[b * bs : (b + 1) * bs]
                    out = path_forward(net, path, x[idx])
                    loss = nn.functional.cross_entropy(out, y[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    nn.utils.clip_grad_norm_(net.weight_parameters(), 5.0)
                    opt.step()
                    sched.step()
                    loss_sum += float(loss.detach()) * len(idx)
                    correct += int((out.argmax(1) == y[idx]).sum())
                seen = per_epoch * bs
                history.append(OneShotEpoch(epoch, loss_sum / seen, correct / seen))
                report_progress(epoch=epoch, epochs=self.epochs, train_accuracy=history[-1].train_accuracy)
                if self.verbose and (epoch % self.verbose == 0 or epoch == self.epochs):
                    print(
                        f"epoch {epoch}/{self.epochs}: sampled paths' loss {loss_sum / seen:.3f}, "
                        f"accuracy {correct / seen:.3f}"
                    )
            opt.zero_grad(set_to_none=True)  # leave no gradients of the last path behind
        return OneShotResult(
            config=self.get_params(),
            seed=seed,
            supernet=net,
            network=dict(network),
            input_shape=tuple(data.input_shape),
            num_classes=data.num_classes,
            history=tuple(history),
            op_counts=counts,
            seconds=time.perf_counter() - start,
        )

    def score(self, result: OneShotResult, archs: Sequence[Architecture], data: Dataset | str) -> np.ndarray:
        """Validation accuracy of each cell with weights inherited from ``result``'s supernet (no training)."""
        self._check()
        data = load_dataset(data) if isinstance(data, str) else data
        scores = np.empty(len(archs))
        with torch.no_grad(), limited_threads(self.threads, self):
            for i, arch in enumerate(archs):
                checkpoint()
                net = result.inherit(arch)
                if self.calibration:
                    recalibrate(net, data.train.x[: self.calibration])
                scores[i] = evaluate_model(net, data.val).accuracy
                report_progress(scored=i + 1, candidates=len(archs))
                if self.verbose and ((i + 1) % (10 * self.verbose) == 0 or i + 1 == len(archs)):
                    print(f"scored {i + 1}/{len(archs)} cells")
        return scores


def path_forward(net: SuperNetwork, path: Mapping[str, str], x: torch.Tensor) -> torch.Tensor:
    """The supernet run as the single cell ``path`` (edge -> op): exactly what ``inherit(path)`` computes.

    Like the table's networks, only live edges run (a ``none`` edge, or one cut off from the input or the
    output, contributes nothing), so training and scoring see one and the same network.
    """
    live = live_edges(path)
    h = net.stem(x)
    for block in net.body:
        if not isinstance(block, SuperCell):
            h = block(h)
            continue
        nodes: list[torch.Tensor | None] = [h] + [None] * (N_NODES - 1)
        for edge in live:
            src, dst = edge_nodes(edge)
            mixed = block.edges[edge_key(edge)]
            out = mixed.ops[mixed.names.index(path[edge])](nodes[src])
            nodes[dst] = out if nodes[dst] is None else nodes[dst] + out
        h = h.new_zeros(h.shape) if nodes[-1] is None else nodes[-1]
    return net.head(h)


def recalibrate(net: nn.Module, x: torch.Tensor) -> None:
    """Re-estimate every BatchNorm's running mean and variance on ``x`` (a plain average over batches)."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average, independent of the order of batches
    net.train()
    with torch.no_grad():
        for i in range(0, len(x), EVAL_BATCH):
            net(x[i : i + EVAL_BATCH].to(next(net.parameters()).device))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    net.eval()


@dataclass(frozen=True)
class RankAgreement:
    """How well ``scores`` rank cells like ``truth``: rank correlations and the overlap of the two top-k sets."""

    n: int
    spearman: float
    kendall: float
    k: int
    top_overlap: float  # |top-k by scores ∩ top-k by truth| / k


def rank_agreement(scores: Sequence[float], truth: Sequence[float], k: int = 10) -> RankAgreement:
    """Spearman's rho, Kendall's tau (tau-b) and top-``k`` overlap of ``scores`` against ``truth``.

    Top-k sets break ties by position (the first of equal values wins), so the overlap is deterministic.
    """
    from scipy.stats import kendalltau, spearmanr

    scores, truth = np.asarray(scores, dtype=float), np.asarray(truth, dtype=float)
    if scores.shape != truth.shape or scores.ndim != 1 or len(scores) < 3:
        raise ValueError(
            f"rank_agreement needs two equally long 1-d sequences of >= 3 values, got {scores.shape} and {truth.shape}"
        )
    check_int("rank_agreement", "k", k, low=1, high=len(scores))
    top = set(np.argsort(-scores, kind="stable")[:k]) & set(np.argsort(-truth, kind="stable")[:k])
    return RankAgreement(
        n=len(scores),
        spearman=float(spearmanr(scores, truth).statistic),
        kendall=float(kendalltau(scores, truth).statistic),
        k=k,
        top_overlap=len(top) / k,
    )


__all__ = ["OneShot", "OneShotEpoch", "OneShotResult", "RankAgreement", "path_forward", "rank_agreement", "recalibrate"]
