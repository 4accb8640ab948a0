"""DARTS on CellSpace: train one supernet and read a cell off its architecture weights.

Liu et al. (2019) make the search differentiable: every edge mixes all operations with weights
``softmax(alpha)`` (see ``nasnb.nn.supernet``), and training alternates two steps, the
*first-order* bilevel optimisation: ``alpha`` takes an Adam step on a validation batch, then the
network weights take an SGD step on a training batch. One supernet training replaces thousands
of separate trainings.

Reading the cell off is where DARTS is known to fail. The usual rule, **argmax** of ``alpha`` per
edge, assumes that a large ``alpha`` means an important operation; in practice parameter-free
operations (skip connections above all) collect ``alpha`` mass because they make the supernet
easy to optimise early on, not because the best stand-alone cell uses them. Wang et al. (2021,
"Rethinking Architecture Selection in Differentiable NAS") select by **perturbation** instead:
for each edge, remove each operation from the mixed op and measure how much the supernet's
validation accuracy drops; keep the operation whose removal hurts most, fix the edge to it,
optionally fine-tune, and go on to the next edge. Both cells are returned, with the per-epoch
``alpha`` and the share of ``alpha`` mass on parameter-free operations, so the failure is visible.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._checks import check_float, check_int
from .._params import ConstructorParams
from ..data import load_dataset
from ..nn.supernet import PARAMETER_FREE, SuperNetwork
from ..spaces import EDGES, OPS, Architecture, CellSpace
from .control import checkpoint, report_progress
from .devices import resolve_device
from .scoring import EVAL_BATCH
from .threads import DEFAULT_THREADS, check_threads, limited_threads


@dataclass(frozen=True)
class DartsEpoch:
    """The supernet after one epoch (epoch 0: at initialisation, before any step)."""

    epoch: int
    alphas: dict[str, dict[str, float]]  # edge -> op -> softmax(alpha) probability
    train_accuracy: float | None  # running accuracy over the epoch's training batches
    train_loss: float | None
    val_accuracy: float  # supernet on the validation split
    param_free_share: float  # mean over edges of the probability on none/skip/avg-pool


@dataclass(frozen=True)
class DartsResult:
    """What one DARTS search found and how it got there."""

    config: dict[str, Any]
    seed: int
    records: list[DartsEpoch]
    argmax_cell: Architecture
    perturbation_cell: Architecture
    perturbation_drops: dict[str, dict[str, float]]  # edge -> op -> accuracy drop when removed
    argmax_table_accuracy: float | None = None  # the cell's accuracy in the benchmark table, when known
    perturbation_table_accuracy: float | None = None
    seconds: float = 0.0

    def param_free_shares(self) -> list[float]:
        """Share of alpha mass on parameter-free operations, per epoch (0 = initialisation)."""
        return [r.param_free_share for r in self.records]

    def to_frame(self):
        """One row per epoch: accuracies, parameter-free share and every ``edge:op`` probability."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "epoch": r.epoch,
                    "train_accuracy": r.train_accuracy,
                    "val_accuracy": r.val_accuracy,
                    "param_free_share": r.param_free_share,
                    **{f"{e}:{o}": p for e, ops in r.alphas.items() for o, p in ops.items()},
                }
                for r in self.records
            ]
        )


class DARTS(ConstructorParams):
    """First-order DARTS on CellSpace, configured like a scikit-learn estimator; ``.search(seed)`` runs it.

    Weights: SGD (momentum 0.9, ``lr`` with cosine decay, ``weight_decay``, gradient norm clipped at 5)
    on the dataset's training split. Architecture: Adam (``arch_lr``, betas (0.5, 0.999),
    ``arch_weight_decay``) on its validation split, the split the table's accuracies are measured on.
    ``arch_lr`` defaults to 100x DARTS's 3e-4, because a digits search makes a few hundred alpha
    steps where a CIFAR-10 search makes some 20,000.
    ``network`` sets the supernet's channels, cells per stage and stages (default: the table recipe's
    network for digits). ``finetune_steps`` weight steps (at ``lr / 10``) follow each edge decision of
    the perturbation selection. The supernet is always run with batch statistics: its BatchNorm
    running averages describe a mixture of operations that changes every step. ``threads`` limits
    torch's CPU threads during ``search`` (default 1, as for every evaluator: at 2 threads on a busy
    2-core machine DARTS ran 4-5x slower and found a different cell for the same seed).
    """

    def __init__(
        self,
        dataset: str = "digits",
        *,
        epochs: int = 10,
        batch_size: int = 64,
        lr: float = 0.05,
        weight_decay: float = 3e-4,
        arch_lr: float = 0.03,
        arch_weight_decay: float = 1e-3,
        ops: tuple[str, ...] = OPS,
        network: dict[str, Any] | None = None,
        finetune_steps: int = 0,
        subset: int | None = None,
        device: str = "auto",
        threads: int | None = DEFAULT_THREADS,
    ) -> None:
        self.dataset = dataset
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.arch_lr = arch_lr
        self.arch_weight_decay = arch_weight_decay
        self.ops = ops
        self.network = network
        self.finetune_steps = finetune_steps
        self.subset = subset
        self.device = device
        self.threads = threads

    def _check(self) -> None:
        check_int(self, "epochs", self.epochs, low=1)
        check_int(self, "batch_size", self.batch_size, low=2)
        check_int(self, "finetune_steps", self.finetune_steps, low=0)
        for name in ("lr", "arch_lr"):
            check_float(self, name, getattr(self, name), low=0, low_open=True)
        for name in ("weight_decay", "arch_weight_decay"):
            check_float(self, name, getattr(self, name), low=0)
        check_int(self, "subset", self.subset, low=2, optional=True)
        check_threads(self, self.threads)
        CellSpace(tuple(self.ops))._ops()

    def search(self, seed: int = 0) -> DartsResult:
        """Train the supernet, then select a cell both ways; deterministic for a seed and device."""
        self._check()
        start = time.perf_counter()
        data = load_dataset(self.dataset, subset=self.subset)
        dev = resolve_device(self.device)
        network = self.network
        if network is None:
            from .recipes import RECIPES

            network = RECIPES.get(data.name, {}).get("network", {"channels": 8})
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []), limited_threads(self.threads, self):
            torch.manual_seed(seed)
            net = SuperNetwork(data.input_shape, data.num_classes, ops=tuple(self.ops), **network).to(dev)
            records = self._train(net, data, dev, seed)
            argmax = argmax_cell(net)
            drops, chosen = perturbation_selection(net, data, dev, self._finetuner(net, data, dev, seed))
        space = CellSpace()
        return DartsResult(
            config=self.get_params(),
            seed=seed,
            records=records,
            argmax_cell=argmax,
            perturbation_cell=space.validate(chosen),
            perturbation_drops=drops,
            argmax_table_accuracy=table_accuracy(argmax, self.dataset),
            perturbation_table_accuracy=table_accuracy(space.validate(chosen), self.dataset),
            seconds=time.perf_counter() - start,
        )

    def _train(self, net: SuperNetwork, data, dev: torch.device, seed: int) -> list[DartsEpoch]:
        x, y = data.train.x.to(dev), data.train.y.to(dev)
        vx, vy = data.val.x.to(dev), data.val.y.to(dev)
        bs = min(self.batch_size, len(y))
        per_epoch = len(y) // bs
        total = self.epochs * per_epoch
        w_opt = torch.optim.SGD(net.weight_parameters(), lr=self.lr, momentum=0.9, weight_decay=self.weight_decay)
        a_opt = torch.optim.Adam(
            net.arch_parameters(), lr=self.arch_lr, betas=(0.5, 0.999), weight_decay=self.arch_weight_decay
        )
        order = torch.Generator().manual_seed(seed)
        records = [_record(net, 0, None, None, vx, vy)]
        step = 0
        for epoch in range(1, self.epochs + 1):
            train_idx = torch.randperm(len(y), generator=order).to(dev)
            val_idx = torch.randperm(len(vy), generator=order).to(dev)
            correct, loss_sum, seen = 0, 0.0, 0
            for b in range(per_epoch):
                checkpoint()
                vb = val_idx[(b * bs) % len(vy) :][:bs]
                if len(vb) < 2:
                    vb = val_idx[:bs]
                a_opt.zero_grad(set_to_none=True)
                nn.functional.cross_entropy(net(vx[vb]), vy[vb]).backward()
                a_opt.step()
                for group in w_opt.param_groups:
                    group["lr"] = self.lr * 0.5 * (1.0 + math.cos(math.pi * step / total))
                tb = train_idx[b * bs : (b + 1) * bs]
                w_opt.zero_grad(set_to_none=True)
                out = net(x[tb])
                loss = nn.functional.cross_entropy(out, y[tb])
                loss.backward()
                nn.utils.clip_grad_norm_(net.weight_parameters(), 5.0)
                w_opt.step()
                net.alpha.grad = None  # the weight step must not leave gradients on alpha behind
                correct += int((out.argmax(1) == y[tb]).sum())
                loss_sum += float(loss.detach()) * len(tb)
                seen += len(tb)
                step += 1
            records.append(_record(net, epoch, correct / seen, loss_sum / seen, vx, vy))
            report_progress(
                epoch=epoch,
                epochs=self.epochs,
                val_accuracy=records[-1].val_accuracy,
                param_free_share=records[-1].param_free_share,
            )
        return records

    def _finetuner(self, net: SuperNetwork, data, dev: torch.device, seed: int):
        """A function running ``finetune_steps`` weight steps, used between perturbation decisions."""
        x, y = data.train.x.to(dev), data.train.y.to(dev)
        opt = torch.optim.SGD(net.weight_parameters(), lr=self.lr / 10, momentum=0.9, weight_decay=self.weight_decay)
        order = torch.Generator().manual_seed(seed + 1)
        bs = min(self.batch_size, len(y))

        def finetune() -> None:
            net.train()
            for _ in range(self.finetune_steps):
                checkpoint()
                idx = torch.randperm(len(y), generator=order)[:bs].to(dev)
                opt.zero_grad(set_to_none=True)
                nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
                nn.utils.clip_grad_norm_(net.weight_parameters(), 5.0)
                opt.step()
                net.alpha.grad = None

        return finetune


@torch.no_grad()
def supernet_accuracy(net: SuperNetwork, x: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of the supernet (batch statistics) on ``(x, y)``."""
    net.train()
    correct = sum(
        int((net(x[i : i + EVAL_BATCH]).argmax(1) == y[i : i + EVAL_BATCH]).sum()) for i in range(0, len(y), EVAL_BATCH)
    )
    return correct / max(len(y), 1)


def edge_probabilities(net: SuperNetwork) -> dict[str, dict[str, float]]:
    """``softmax(alpha)`` of every edge as edge -> op -> probability."""
    probs = torch.softmax(net.alpha.detach(), dim=-1).cpu()
    return {e: {o: float(p) for o, p in zip(net.ops, row)} for e, row in zip(EDGES, probs)}


def param_free_share(alphas: dict[str, dict[str, float]]) -> float:
    """Mean over edges of the probability mass on parameter-free operations (none, skip, avg-pool)."""
    return sum(sum(p for o, p in ops.items() if o in PARAMETER_FREE) for ops in alphas.values()) / len(alphas)


def _record(
    net: SuperNetwork, epoch: int, train_acc: float | None, train_loss: float | None, vx: torch.Tensor, vy: torch.Tensor
) -> DartsEpoch:
    alphas = edge_probabilities(net)
    return DartsEpoch(epoch, alphas, train_acc, train_loss, supernet_accuracy(net, vx, vy), param_free_share(alphas))


def argmax_cell(net: SuperNetwork) -> Architecture:
    """DARTS's own rule: on every edge, the operation with the largest alpha."""
    choice = net.alpha.detach().argmax(dim=-1).tolist()
    return CellSpace().validate({e: net.ops[i] for e, i in zip(EDGES, choice)})


def perturbation_selection(net: SuperNetwork, data, dev: torch.device, finetune=None):
    """Wang et al.'s selection, edge by edge in ``EDGES`` order; returns (drops, chosen ops).

    ``drops[edge][op]`` is the supernet's validation accuracy minus its accuracy with ``op`` removed
    from ``edge`` (larger: the op matters more). Removing ``none`` changes nothing (it adds zero), so
    its drop is 0 and it is chosen only when removing any other operation would *help*. Edges already
    decided stay fixed to their operation while later edges are measured.
    """
    vx, vy = data.val.x.to(dev), data.val.y.to(dev)
    drops: dict[str, dict[str, float]] = {}
    chosen: dict[str, str] = {}
    for edge in EDGES:
        base = supernet_accuracy(net, vx, vy)
        drops[edge] = {}
        for op in net.ops:
            checkpoint()
            with net.without(edge, op):
                drops[edge][op] = base - supernet_accuracy(net, vx, vy)
        chosen[edge] = max(net.ops, key=lambda o: drops[edge][o])  # first of equals: deterministic
        net.project(edge, chosen[edge])
        if finetune is not None:
            finetune()
    return drops, chosen


def table_accuracy(arch: Architecture, dataset: str) -> float | None:
    """The cell's validation accuracy in the shipped table, or None when there is no entry for it.

    Reads the three-seed table (``"<dataset>-seeds"``, the mean over seeds) when one is shipped: one
    seed's accuracy is too noisy to tell DARTS' pick from its neighbours (seed sd 0.017 on digits).
    """
    from .errors import EvaluationError
    from .table import available_tables, load_table

    tables = available_tables()
    name = f"{dataset}-seeds" if f"{dataset}-seeds" in tables else dataset
    if name not in tables:
        return None
    try:
        return load_table(name).lookup(arch).val_accuracy
    except EvaluationError:
        return None
