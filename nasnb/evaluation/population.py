"""Train a population at once: K candidate networks in one batched pass.

For the small networks a course uses, a CPU spends most of a training step in per-operation
overhead rather than arithmetic. ``PopulationTrainer`` trains K architectures as one stacked
network (``nasnb.nn.batched``): each candidate keeps its own weights, initialisation, data order,
learning rate and optimiser state, and the recipe is ``Trainer``'s, step for step, so each
candidate ends with the weights and metrics a separate ``Trainer`` run would give (to
floating-point tolerance: grouped kernels sum in a different order than single ones).

    trainer = PopulationTrainer(dataset="digits", epochs=3)
    results = trainer.evaluate_batch(archs)  # one metrics mapping per architecture

Where it pays, measured (``benchmarks/bench_population.py``, 2 shared CPU cores, one thread): on
8x8 digits the batch trains about 1.1-1.4x more candidates per hour than one-at-a-time ``Trainer``;
on 28x28 Fashion-MNIST it is *slower* (0.5-0.8x), because oneDNN's grouped convolution and average
pooling on the stacked tensor cost more per candidate than the single kernels once the images are
large. The design target was a GPU, where one small network leaves the chip idle; the code is
device-agnostic but untested on CUDA here.

A candidate whose loss becomes NaN fails alone: it is left out of the loss from that step on,
its weights are zeroed so it computes zeros, and the others train on. ``Search`` uses batches
through its executor seam: ``Search(..., evaluator=trainer, executor=trainer.executor(16))``
gathers up to 16 proposals, trains them together and records each trial exactly as a
``Trainer`` would (the run log even names the evaluator ``trainer`` with the same settings).
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..data import Dataset, load_dataset
from ..nn import build_model, count_macs, count_params
from ..nn.batched import Stacked, StackError, stack
from ..nn.cell import Cell
from ..spaces import Architecture, hyperparameters
from .control import checkpoint, report_progress
from .errors import DivergedError, EvaluationError
from .threads import DEFAULT_THREADS, limited_threads
from .trainer import EVAL_BATCH, Trainer, _check_training, derive_seed, resolve_device
from .weights import save_weights

#: the activations of one evaluation chunk of K candidates stay under this many input samples
EVAL_SAMPLES = 4096
#: margin on the measured memory estimate (allocator slack, temporary tensors)
MEMORY_MARGIN = 1.5


class PopulationMemoryError(MemoryError):
    """K candidates do not fit in memory; ``largest_k`` is the most that fit by measurement."""

    def __init__(self, message: str, largest_k: int) -> None:
        super().__init__(message)
        self.largest_k = largest_k


class PopulationTrainer(Trainer):
    """``Trainer``'s recipe for K architectures at once (see the module docstring).

    Takes exactly the ``Trainer``'s arguments, plus ``memory_limit`` (bytes, a string such as
    ``"2GB"``, or None for the memory available now): before training, the memory one candidate
    needs is measured on a real training step and a batch that would not fit is refused with the
    largest K that fits. ``get_config()`` returns only the ``Trainer``'s settings and ``name`` is
    ``"trainer"``, so a run log written through a population trainer is a ``Trainer``'s run log.

    Candidates are trained together when they share the network skeleton (stem, reductions and
    head; cells may differ on every edge), batch size, epochs and dropout; others are trained in
    separate groups. ``seconds`` bounds each candidate's share of the time: a group of K stops
    after ``K * seconds`` of training. Dropout masks are drawn once for the whole group, so with
    dropout > 0 a candidate matches a ``Trainer`` run in distribution, not number for number.
    """

    name = "trainer"

    def __init__(
        self,
        dataset: str = "digits",
        *,
        epochs: int = 10,
        max_steps: int | None = None,
        seconds: float | None = None,
        batch_size: int = 64,
        lr: float = 0.05,
        optimizer: str = "sgd",
        weight_decay: float = 5e-4,
        subset: int | None = None,
        seed: int = 0,
        device: str = "auto",
        test: bool = False,
        network: dict[str, Any] | None = None,
        keep_model: bool = False,
        threads: int | None = DEFAULT_THREADS,
        keep_weights: str | None = None,
        weights_dir: str | None = None,
        memory_limit: int | str | None = None,
    ) -> None:
        super().__init__(
            dataset,
            epochs=epochs,
            max_steps=max_steps,
            seconds=seconds,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            subset=subset,
            seed=seed,
            device=device,
            test=test,
            network=network,
            keep_model=keep_model,
            threads=threads,
            keep_weights=keep_weights,
            weights_dir=weights_dir,
        )
        self.memory_limit = memory_limit
        self._gather: _Gather | None = None

    def get_config(self) -> dict[str, Any]:
        """The ``Trainer``'s settings: ``Trainer(**config)`` trains the same way, one at a time."""
        config = super().get_config()
        config.pop("memory_limit", None)
        return config

    def __repr__(self) -> str:
        return "Population" + super().__repr__()

    # -- one architecture at a time, batched behind the scenes --------------------------------
    def __call__(self, arch: Architecture, *, epochs: int | None = None) -> dict[str, Any]:
        """Train ``arch``; inside ``executor(k)`` calls from k threads are trained as one batch.

        Raises DivergedError (as ``Trainer`` does) when this candidate's training diverged.
        """
        gather = self._gather
        if gather is None:
            result = self.evaluate_batch([arch], epochs=epochs)[0]
        else:
            result = gather.submit(arch, epochs)
        return _raise_failure(result)

    def executor(self, k: int, *, linger: float = 0.2) -> PopulationExecutor:
        """An executor for ``Search(..., executor=...)`` that trains up to ``k`` proposals at once."""
        return PopulationExecutor(self, k, linger=linger)

    # -- the batch API ------------------------------------------------------------------------
    def evaluate_batch(
        self,
        archs: Sequence[Architecture],
        seeds: Sequence[int] | None = None,
        *,
        epochs: int | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Train all ``archs`` together; one metrics mapping per architecture, in order.

        ``seeds[i]`` is the ``Trainer`` seed of candidate ``i`` (data split, initialisation and
        data order derive from it exactly as in ``Trainer(seed=seeds[i])(archs[i])``); None
        gives every candidate this trainer's seed. A successful candidate's mapping is what
        ``Trainer.__call__`` returns. A candidate whose training diverged gets
        ``{"error": "DivergedError: ...", "params", "macs"}`` instead of raising, so the others'
        results are not lost; ``__call__`` turns it back into the exception.

        ``on_epoch``, if given, is called after every epoch of each group with ``{"epoch",
        "epochs", "indices", "val_accuracy", "train_loss", "val_loss", "failed"}`` (lists
        aligned with ``indices``, the positions in ``archs``) so a notebook can draw the
        population as it learns.
        """
        archs = list(archs)
        seeds = self._check_batch(archs, seeds)
        self.validate()
        _parse_bytes(self.memory_limit)
        dev = resolve_device(self.device)
        results: list[dict[str, Any] | None] = [None] * len(archs)
        with limited_threads(self.threads, self):
            jobs = [self._job(i, arch, seed, epochs, dev) for i, (arch, seed) in enumerate(zip(archs, seeds))]
            for group in _groups(jobs):
                self._check_memory(group, dev)
                for job, result in zip(group, _train_group(group, dev, self.test, self.seconds, on_epoch)):
                    results[job.index] = {**result, "params": job.params, "macs": job.macs}
        if self.keep_weights is not None:  # as Trainer does, one candidate at a time, diverged ones skipped
            for job in jobs:
                if "error" not in results[job.index]:
                    self._save_candidate(job, results[job.index])
        if self.keep_model:
            self.last_models_ = [job.model for job in jobs]
        return results  # type: ignore[return-value]

    def _save_candidate(self, job: _Job, result: dict[str, Any]) -> None:
        record = self.weights_record(job.arch, job.data, job.settings["epochs"], result)
        record["data_seed"] = job.seed  # each candidate's own Trainer seed, not this trainer's
        state = {k: v.detach().cpu().clone() for k, v in job.model.state_dict().items()}
        save_weights(self.weights_dir, self.keep_weights, record=record, state_dict=state, accuracy=result["accuracy"])

    def _check_batch(self, archs: list[Architecture], seeds: Sequence[int] | None) -> list[int]:
        if not archs:
            raise ValueError(
                "PopulationTrainer.evaluate_batch needs at least one architecture, got K = 0 (an empty list)"
            )
        for i, arch in enumerate(archs):
            if not isinstance(arch, Architecture):
                raise TypeError(
                    f"PopulationTrainer needs Architectures (from space.sample or space.parse); "
                    f"archs[{i}] is a {type(arch).__name__}"
                )
        first = archs[0].space
        for i, arch in enumerate(archs):
            if arch.space != first:
                raise ValueError(
                    f"all architectures of a batch must come from one space: archs[0] is from {first!r} "
                    f"but archs[{i}] is from {arch.space!r}; train them in separate batches"
                )
        if seeds is None:
            return [self.seed] * len(archs)
        if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence):
            raise TypeError(f"seeds must be a list of ints (one per architecture) or None, got {seeds!r}")
        seeds = list(seeds)
        if len(seeds) != len(archs):
            raise ValueError(
                f"seeds must give one seed per architecture: got {len(seeds)} seeds for {len(archs)} architectures"
            )
        for i, s in enumerate(seeds):
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise ValueError(f"seeds[{i}] must be an int >= 0, got {s!r}")
        return seeds

    def _job(self, index: int, arch: Architecture, seed: int, epochs: int | None, dev: torch.device) -> _Job:
        """Everything ``Trainer.__call__`` prepares for one architecture, prepared the same way."""
        hp = hyperparameters(arch)
        settings = {
            "epochs": self.epochs if epochs is None else epochs,
            "batch_size": hp.get("batch_size", self.batch_size),
            "lr": hp.get("lr", self.lr),
            "weight_decay": hp.get("weight_decay", self.weight_decay),
            "optimizer": self.optimizer,
            "max_steps": self.max_steps,
            "seconds": self.seconds,
        }
        _check_training(self, **settings)
        data = load_dataset(self.dataset, subset=self.subset, seed=seed)
        if len(data.train) < 2 or len(data.val) == 0:
            raise EvaluationError(
                f"{data.name}: need >= 2 training and >= 1 validation samples, "
                f"got {len(data.train)} and {len(data.val)}"
            )
        derived = derive_seed(seed, arch.key)
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(derived)
            model = build_model(arch, data.input_shape, data.num_classes, **(self.network or {}))
        params, macs = count_params(model), count_macs(model, data.input_shape)
        return _Job(index, arch, seed, derived, data, model.to(dev), settings, params, macs)

    def _check_memory(self, group: list[_Job], dev: torch.device) -> None:
        """Refuse a group that would not fit, naming the largest K that does (measured, not guessed)."""
        if len(group) == 1:
            return
        limit = _parse_bytes(self.memory_limit)
        if limit is None:
            limit = _available_memory(dev)
        if limit is None:
            return
        per_candidate, fixed = _measure_memory(group[0], dev)
        need = MEMORY_MARGIN * (fixed + per_candidate * len(group))
        if need <= limit:
            return
        largest = max(0, int((limit / MEMORY_MARGIN - fixed) // per_candidate))
        raise PopulationMemoryError(
            f"K = {len(group)} candidates need about {need / 2**30:.2f} GiB to train together but only "
            f"{limit / 2**30:.2f} GiB are available; at most K = {largest} fit (measured: "
            f"{per_candidate / 2**20:.1f} MiB per candidate at batch size {group[0].settings['batch_size']}). "
            f"Pass at most {max(largest, 1)} architectures per evaluate_batch call, or a smaller batch_size",
            largest,
        )


class _Job:
    __slots__ = ("index", "arch", "seed", "derived", "data", "model", "settings", "params", "macs")

    def __init__(self, index, arch, seed, derived, data, model, settings, params, macs) -> None:
        self.index, self.arch, self.seed, self.derived, self.data = index, arch, seed, derived, data
        self.model, self.settings, self.params, self.macs = model, settings, params, macs


def _raise_failure(result: dict[str, Any]) -> dict[str, Any]:
    error = result.get("error")
    if error is None:
        return result
    kind, _, message = error.partition(": ")
    raise DivergedError(message) if kind == "DivergedError" else EvaluationError(error)


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


class _StackedOptimizer:
    """``torch.optim.SGD`` (momentum 0.9) or ``Adam`` on stacked weights, one learning rate per candidate.

    The arithmetic is torch's single-tensor update, written out so that each candidate can have
    its own learning rate and weight decay and a failed candidate's state can be cleared. When
    all candidates share a value it is applied as a scalar, exactly as torch does. Rows whose
    original parameter gets no gradient in its own network (``frozen``, ids of the original
    tensors) are left untouched, as torch leaves a parameter whose ``grad`` is None.
    """

    def __init__(self, population: Stacked, kind: str, weight_decays: list[float], frozen: set[int]) -> None:
        self.kind = kind
        self.params = [p for p in population.parameters() if p.requires_grad]
        links = [population.link(p) for p in self.params]
        self.members = [link.members for link in links]
        self.frozen = [[j for j, t in enumerate(link.originals) if id(t) in frozen] for link in links]
        self.weight_decays = weight_decays
        self.state: list[dict[str, Any]] = [{} for _ in self.params]
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @staticmethod
    def _per_row(values: list[float], members: list[int], p: Tensor) -> float | Tensor:
        """One value per row: a float when all rows share it, else a ``(rows, 1)`` column."""
        picked = [values[i] for i in members]
        if all(v == picked[0] for v in picked):
            return picked[0]
        return torch.tensor(picked, dtype=p.dtype, device=p.device).view(-1, 1)

    @torch.no_grad()
    def step(self, rates: list[float], failed: list[int]) -> None:
        self.steps += 1
        for p, members, state, frozen in zip(self.params, self.members, self.state, self.frozen):
            if p.grad is None or len(frozen) == len(members):
                continue
            n = len(members)
            rows = p.view(n, -1)  # every update below works on rows, so per-candidate values broadcast
            grad = p.grad.view(n, -1)
            kept = rows[frozen].clone() if frozen else None
            gone = [j for j, i in enumerate(members) if i in failed]
            if gone:  # a failed candidate's rows get no update at all
                grad = grad.clone()
                grad[gone] = 0.0
            wd = self._per_row(self.weight_decays, members, p)
            lr = self._per_row(rates, members, p)
            if isinstance(wd, float):
                if wd != 0:
                    grad = grad.add(rows, alpha=wd)
            else:
                grad = grad.addcmul(rows, wd)
            if self.kind == "sgd":
                buf = state.get("momentum")
                if buf is None:
                    buf = state["momentum"] = grad.detach().clone()
                else:
                    buf.mul_(0.9).add_(grad, alpha=1)
                if isinstance(lr, float):
                    rows.add_(buf, alpha=-lr)
                else:
                    rows.addcmul_(buf, -lr)
            else:
                beta1, beta2, eps = 0.9, 0.999, 1e-8
                if not state:
                    state["exp_avg"] = torch.zeros_like(rows)
                    state["exp_avg_sq"] = torch.zeros_like(rows)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bias_correction1 = 1 - beta1**self.steps
                bias_correction2_sqrt = (1 - beta2**self.steps) ** 0.5
                denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
                if isinstance(lr, float):
                    rows.addcdiv_(exp_avg, denom, value=-(lr / bias_correction1))
                else:
                    rows.sub_(exp_avg / denom * (lr / bias_correction1))
            for j in frozen + gone:  # as if untouched (frozen) or switched off (failed)
                for buffer in state.values():
                    buffer[j] = 0.0
            if kept is not None:
                rows[frozen] = kept
            if gone:
                rows[gone] = 0.0


# -- memory ----------------------------------------------------------------------------------
_UNITS = {"": 1, "b": 1, "kb": 2**10, "mb": 2**20, "gb": 2**30, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def _parse_bytes(value: int | str | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmg]i?b?|b)?\s*", value.lower())
        if match:
            unit = match.group(2) or ""
            unit = unit if unit.endswith("b") or unit == "" else unit + "b"
            return int(float(match.group(1)) * _UNITS[unit])
    raise ValueError(f"PopulationTrainer memory_limit must be None, a number of bytes or e.g. '2GB', got {value!r}")


def _available_memory(dev: torch.device) -> int | None:
    """Free memory now: CUDA's free bytes, or MemAvailable from /proc/meminfo (None if unknown)."""
    if dev.type == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _measure_memory(job: _Job, dev: torch.device) -> tuple[int, int]:
    """(bytes per candidate, bytes shared) of one training step, measured on the real network.

    Counts every tensor autograd saves for the backward pass during a real forward pass of one
    candidate at the group's batch size, plus its weights, gradients and optimiser state (the
    stacked copy and the exported original), plus the data the group holds once.
    """
    import copy

    model = copy.deepcopy(job.model).train()
    population = stack([model]).to(dev)
    data = job.data
    bs = min(job.settings["batch_size"], len(data.train))
    xb = data.train.x[:bs].to(dev).unsqueeze(1)
    yb = data.train.y[:bs].to(dev).unsqueeze(1)
    saved = 0
    seen: set[int] = set()

    def pack(t: Tensor) -> Tensor:
        nonlocal saved
        key = t.untyped_storage().data_ptr()
        if key not in seen:
            seen.add(key)
            saved += t.untyped_storage().nbytes()
        return t

    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = population(xb)
            loss = F.cross_entropy(out.permute(0, 2, 1), yb)
        loss.backward()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    states = 2 if job.settings["optimizer"] == "adam" else 1
    per_candidate = saved * 2 + weights * (3 + states)  # activations + their gradients; w, grad, copy, state
    eval_rows = min(EVAL_BATCH, EVAL_SAMPLES)
    shared = sum(s.x.numel() * s.x.element_size() for s in (data.train, data.val, data.test))
    shared += eval_rows * data.train.x[0].numel() * 4
    return int(per_candidate), int(shared)


def _is_oom(err: BaseException) -> bool:
    text = str(err).lower()
    return (
        isinstance(err, getattr(torch, "OutOfMemoryError", ()))
        or "out of memory" in text
        or ("can't allocate memory" in text)
    )


# -- Search's executor seam ------------------------------------------------------------------
class _Gather:
    """Collects calls from the executor's threads and trains them as one batch.

    The first caller of a batch leads it: it waits until ``size`` calls have arrived or none
    has arrived for ``linger`` seconds, trains them all with ``evaluate_batch``, and hands each
    waiting caller its own result.
    """

    def __init__(self, trainer: PopulationTrainer, size: int, linger: float) -> None:
        self.trainer = trainer
        self.size = size
        self.linger = linger
        self.cond = threading.Condition()
        self.pending: list[_Call] = []
        self.last_arrival = 0.0

    def submit(self, arch: Architecture, epochs: int | None) -> dict[str, Any]:
        call = _Call(arch, epochs)
        with self.cond:
            self.pending.append(call)
            self.last_arrival = time.monotonic()
            self.cond.notify_all()
            leader = len(self.pending) == 1
            if leader:
                while len(self.pending) < self.size:
                    left = self.linger - (time.monotonic() - self.last_arrival)
                    if left <= 0:
                        break
                    self.cond.wait(left)
                batch, self.pending = self.pending, []
        if leader:
            self._run(batch)
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]

    def _run(self, batch: list[_Call]) -> None:
        by_epochs: dict[int | None, list[_Call]] = {}
        for call in batch:
            by_epochs.setdefault(call.epochs, []).append(call)
        for epochs, calls in by_epochs.items():
            try:
                results = self.trainer.evaluate_batch([c.arch for c in calls], epochs=epochs)
            except BaseException as err:  # every waiting caller learns what went wrong
                for call in calls:
                    call.error = err
                    call.done.set()
                continue
            for call, result in zip(calls, results):
                call.result = result
                call.done.set()


class _Call:
    __slots__ = ("arch", "epochs", "result", "error", "done")

    def __init__(self, arch: Architecture, epochs: int | None) -> None:
        self.arch, self.epochs = arch, epochs
        self.result: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()


class PopulationExecutor(cf.ThreadPoolExecutor):
    """A ``concurrent.futures`` executor whose ``k`` worker threads train their calls as one batch.

    ``Search(space, strategy, trainer, executor=trainer.executor(k))`` keeps up to ``k``
    proposals in flight (as with a Dask executor); their calls to ``trainer`` meet in one batch.
    The search records each trial exactly as with ``Trainer``: same metrics, same run log.
    """

    def __init__(self, trainer: PopulationTrainer, k: int, *, linger: float = 0.2) -> None:
        if not isinstance(trainer, PopulationTrainer):
            raise TypeError(f"PopulationExecutor needs a PopulationTrainer, got {type(trainer).__name__}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"PopulationExecutor k (candidates per batch) must be an int >= 1, got {k!r}")
        if not isinstance(linger, (int, float)) or linger <= 0:
            raise ValueError(f"PopulationExecutor linger must be a number of seconds > 0, got {linger!r}")
        super().__init__(max_workers=k, thread_name_prefix="nasnb-population")
        self.trainer = trainer
        trainer._gather = _Gather(trainer, k, float(linger))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        self.trainer._gather = None


__all__ = ["PopulationExecutor", "PopulationMemoryError", "PopulationTrainer"]
