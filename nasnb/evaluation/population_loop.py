"""The population's training loop: ``Trainer._train``'s recipe, step for step, for K candidates at once.

Jobs are grouped by what must agree for their networks to stack (skeleton, batch size, epochs, data
shape); each group is stacked (``nasnb.nn.batched``) and trained by ``_loop``: every candidate draws
its own data order from its own generator, gets its own cosine learning rate and weight decay, and
is left out of the loss alone when it diverges.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..data import Dataset
from ..nn.batched import Stacked, StackError, stack
from ..nn.cell import Cell
from .control import checkpoint, report_progress
from .errors import EvaluationError
from .population_memory import EVAL_SAMPLES, PopulationMemoryError, _is_oom
from .population_optim import _StackedOptimizer
from .trainer import EVAL_BATCH


class _Job:
    """Everything ``Trainer.__call__`` prepares for one architecture."""

    __slots__ = ("index", "arch", "seed", "derived", "data", "model", "settings", "params", "macs")

    def __init__(self, index, arch, seed, derived, data, model, settings, params, macs) -> None:
        self.index, self.arch, self.seed, self.derived, self.data = index, arch, seed, derived, data
        self.model, self.settings, self.params, self.macs = model, settings, params, macs


# -- grouping --------------------------------------------------------------------------------
def _skeleton(model: nn.Module) -> tuple:
    """What must agree for two networks to train as one: every module but the cells' insides."""
    parts: list[tuple[str, str, str]] = []

    def walk(module: nn.Module, where: str) -> None:
        if isinstance(module, Cell):
            parts.append((where, "Cell", ""))
            return
        parts.append((where, type(module).__name__, module.extra_repr()))
        for name, child in module.named_children():
            walk(child, f"{where}.{name}")

    walk(model, "")
    return tuple(parts)


def _groups(jobs: list[_Job]) -> list[list[_Job]]:
    """Jobs that can share one stacked network, in first-appearance order."""
    groups: dict[tuple, list[_Job]] = {}
    for job in jobs:
        key = (
            _skeleton(job.model),
            job.settings["batch_size"],
            job.settings["epochs"],
            len(job.data.train),
            tuple(job.data.input_shape),
        )
        groups.setdefault(key, []).append(job)
    return list(groups.values())


# -- the training loop -----------------------------------------------------------------------
def _train_group(
    jobs: list[_Job],
    dev: torch.device,
    test: bool,
    seconds: float | None,
    on_epoch: Callable[[dict[str, Any]], None] | None,
) -> list[dict[str, Any]]:
    """``trainer._train`` for K jobs at once; returns each job's result (or its failure)."""
    k = len(jobs)
    try:
        population = stack([job.model for job in jobs]).to(dev)
    except StackError as err:  # _groups should have prevented it: say so instead of guessing
        raise EvaluationError(f"these architectures cannot be trained as one population: {err}") from err
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(jobs[0].derived)  # dropout only; see the class docstring
        try:
            return _loop(population, jobs, dev, test, seconds, on_epoch)
        except RuntimeError as err:
            if _is_oom(err):
                raise PopulationMemoryError(
                    f"ran out of memory training K = {k} candidates together ({err}); pass fewer "
                    "architectures per batch (PopulationTrainer measures what fits when memory_limit is set)",
                    max(k // 2, 1),
                ) from err
            raise


def _loop(
    population: Stacked,
    jobs: list[_Job],
    dev: torch.device,
    test: bool,
    seconds: float | None,
    on_epoch: Callable[[dict[str, Any]], None] | None,
) -> list[dict[str, Any]]:
    k = len(jobs)
    settings = jobs[0].settings
    epochs, max_steps = settings["epochs"], settings["max_steps"]
    x, y, which = _stacked_data([job.data for job in jobs], "train", dev)
    n = y.shape[-1]
    bs = min(settings["batch_size"], n)
    per_epoch = n // bs + (1 if n % bs > 1 else 0)
    total = epochs * per_epoch if max_steps is None else min(epochs * per_epoch, max_steps)
    lrs = [job.settings["lr"] for job in jobs]
    opt = _StackedOptimizer(
        population,
        settings["optimizer"],
        [job.settings["weight_decay"] for job in jobs],
        frozen={id(t) for job in jobs for t in _without_gradient(job.model, job.data.input_shape, dev)},
    )
    shuffles = [torch.Generator().manual_seed(job.derived) for job in jobs]
    curves = [{"epoch": [], "train_loss": [], "val_loss": [], "val_accuracy": []} for _ in jobs]
    errors: list[str | None] = [None] * k
    alive = list(range(k))
    step, paused, completed = 0, 0.0, 0
    limit = None if seconds is None else seconds * k
    start = time.perf_counter()

    def out_of_budget() -> bool:
        return step >= total or (limit is not None and time.perf_counter() - start - paused >= limit)

    for epoch in range(1, epochs + 1):
        population.train()
        orders = torch.stack([torch.randperm(n, generator=g) for g in shuffles]).to(dev)
        loss_sum, seen, batches = [0.0] * k, 0, 0
        while batches < per_epoch:
            t = time.perf_counter()
            checkpoint()
            paused += time.perf_counter() - t
            idx = orders[:, batches * bs : (batches + 1) * bs].T  # (m, K): each candidate's own samples
            xb, yb = _take(x, y, which, idx)
            rates = [lr * 0.5 * (1.0 + math.cos(math.pi * step / total)) for lr in lrs]  # as Trainer
            logits = population(xb)  # (m, K, classes)
            losses = F.cross_entropy(logits.permute(0, 2, 1), yb, reduction="none").mean(0)
            values = losses.tolist()
            diverged = [i for i in alive if not math.isfinite(values[i])]
            for i in diverged:
                lr = lrs[i]
                errors[i] = (
                    f"DivergedError: training diverged: the loss became {values[i]} at epoch {epoch}, step "
                    f"{step + 1} with lr={lr:g}; try a lower learning rate (e.g. lr={lr / 10:g})"
                )
            alive = [i for i in alive if errors[i] is None]
            if not alive:
                break
            total_loss = losses.sum() if len(alive) == k else losses[torch.tensor(alive, device=dev)].sum()
            opt.zero_grad()
            total_loss.backward()
            opt.step(rates, failed=[i for i in range(k) if errors[i] is not None])
            for i in diverged:
                population.neutralise(i)
            m = idx.shape[0]
            for i in alive:
                loss_sum[i] += values[i] * m
            seen += m
            step += 1
            batches += 1
            if batches < per_epoch and out_of_budget():
                break
        if not alive:
            break
        if batches == per_epoch:
            completed += 1
        val = _evaluate(population, [job.data for job in jobs], "val", dev)
        for i in alive:
            for key, v in (
                ("epoch", epoch - 1 + batches / per_epoch),
                ("train_loss", loss_sum[i] / seen),
                ("val_loss", val[i][0]),
                ("val_accuracy", val[i][1]),
            ):
                curves[i][key].append(v)
        accs = [curves[i]["val_accuracy"][-1] for i in alive]
        report_progress(epoch=epoch, epochs=epochs, val_accuracy=max(accs), candidates=len(alive))
        if on_epoch is not None:
            on_epoch(
                {
                    "epoch": epoch,
                    "epochs": epochs,
                    "indices": [jobs[i].index for i in range(k)],
                    "val_accuracy": [curves[i]["val_accuracy"][-1] if errors[i] is None else None for i in range(k)],
                    "val_loss": [curves[i]["val_loss"][-1] if errors[i] is None else None for i in range(k)],
                    "train_loss": [curves[i]["train_loss"][-1] if errors[i] is None else None for i in range(k)],
                    "failed": [errors[i] is not None for i in range(k)],
                }
            )
        if out_of_budget():
            break
    elapsed = time.perf_counter() - start - paused
    population.export()
    tests = _evaluate(population, [job.data for job in jobs], "test", dev) if test else None
    results: list[dict[str, Any]] = []
    for i in range(k):
        if errors[i] is not None:
            results.append({"error": errors[i]})
            continue
        result = {
            "accuracy": curves[i]["val_accuracy"][-1],
            "val_loss": curves[i]["val_loss"][-1],
            "train_loss": curves[i]["train_loss"][-1],
            "train_seconds": elapsed / k,  # this candidate's share of the group's time
            "epochs": completed,
            "steps": step,
            "curves": curves[i],
        }
        if tests is not None:
            result["test_accuracy"] = tests[i][1]
        results.append(result)
    return results


def _stacked_data(datas: list[Dataset], split: str, dev: torch.device) -> tuple[Tensor, Tensor, Tensor | None]:
    """The split's tensors once per distinct dataset: ``(U, N, ...)`` and which one each candidate uses."""
    distinct: list[Dataset] = []
    which: list[int] = []
    for data in datas:
        for u, seen in enumerate(distinct):
            if seen is data:
                which.append(u)
                break
        else:
            distinct.append(data)
            which.append(len(distinct) - 1)
    if len(distinct) == 1:
        part = getattr(distinct[0], split)
        return part.x.to(dev), part.y.to(dev), None
    xs = torch.stack([getattr(d, split).x for d in distinct]).to(dev)
    ys = torch.stack([getattr(d, split).y for d in distinct]).to(dev)
    return xs, ys, torch.tensor(which, device=dev)


def _take(x: Tensor, y: Tensor, which: Tensor | None, idx: Tensor) -> tuple[Tensor, Tensor]:
    """Rows ``idx`` (m, K) of each candidate's data: inputs ``(m, K, ...)`` and labels ``(m, K)``."""
    if which is None:
        return x[idx], y[idx]
    return x[which, idx], y[which, idx]


@torch.no_grad()
def _evaluate(population: Stacked, datas: list[Dataset], split: str, dev: torch.device) -> list[tuple[float, float]]:
    """(mean cross-entropy, accuracy) of every candidate on its own split, in eval mode."""
    population.eval()
    x, y, which = _stacked_data(datas, split, dev)
    k = len(datas)
    n = y.shape[-1]
    chunk = max(1, min(EVAL_BATCH, EVAL_SAMPLES // k)) if k > 8 else EVAL_BATCH
    loss = [0.0] * k
    correct = [0] * k
    for i in range(0, n, chunk):
        if which is None:
            xb = x[i : i + chunk].unsqueeze(1).expand(-1, k, *x.shape[1:])
            yb = y[i : i + chunk].unsqueeze(1).expand(-1, k)
        else:
            xb, yb = x[which, i : i + chunk].transpose(0, 1), y[which, i : i + chunk].T
        out = population(xb.contiguous())  # (m, K, classes)
        sums = F.cross_entropy(out.permute(0, 2, 1), yb, reduction="none").sum(0).tolist()
        hits = (out.argmax(2) == yb).sum(0).tolist()
        for j in range(k):
            loss[j] += float(sums[j])
            correct[j] += int(hits[j])
    size = max(n, 1)
    return [(loss[j] / size, correct[j] / size) for j in range(k)]


def _without_gradient(model: nn.Module, input_shape: Sequence[int], dev: torch.device) -> list[Tensor]:
    """Parameters the loss does not reach (e.g. everything before a cell with no path).

    torch's optimisers skip them (no weight decay, no momentum), so the population must too:
    in the stacked network they would get a gradient of zeros and still decay.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    training = model.training
    model.eval()  # which parameters are reached depends on the graph, not on BatchNorm's mode
    try:
        out = model(torch.zeros((1, *input_shape), device=dev))
        grads = torch.autograd.grad(out.sum(), params, allow_unused=True)
    finally:
        model.train(training)
    return [p for p, g in zip(params, grads) if g is None]
