"""Train a population at once: K candidate networks in one batched pass.

Small networks leave a GPU idle, and each operation costs a fixed overhead besides its arithmetic;
both are shared by K candidates trained as one. ``PopulationTrainer`` trains K architectures as one stacked
network (``nasnb.nn.batched``): each candidate keeps its own weights, initialisation, data order,
learning rate and optimiser state, and the recipe is ``Trainer``'s, step for step, so each
candidate ends with the weights and metrics a separate ``Trainer`` run would give (to
floating-point tolerance: grouped kernels sum in a different order than single ones).

    trainer = PopulationTrainer(dataset="digits", epochs=3)
    results = trainer.evaluate_batch(archs)  # one metrics mapping per architecture

Where it pays, measured (``benchmarks/bench_population.py``, 2 shared CPU cores at a load average
of 4-5, one torch thread, CPU time of the process): on 8x8 digits the batch trains about 1.05x,
1.15x, 1.3x and 1.8x more candidates per hour than one-at-a-time ``Trainer`` at K = 1, 4, 16 and 64;
on 28x28 Fashion-MNIST it is *slower* (0.5-0.65x at K = 1-16): a stacked activation of K = 16
candidates is 51 MB and streams through memory in every operation, where one candidate's 3 MB
stays in cache, so on a CPU train large images one at a time (``Trainer``).

The CPU ceiling is the convolution: one grouped convolution over K candidates costs about 1.5x
less than K single ones (oneDNN), and with BatchNorm it is ~60 % of a population step, so ~3x is
out of reach on a CPU (see ``benchmarks/bench_population.py`` for the profile). The design target
is a GPU, where one small network leaves the chip idle; the code is device-agnostic but untested
on CUDA here.

A candidate whose loss becomes NaN fails alone: it is left out of the loss from that step on,
its weights are zeroed so it computes zeros, and the others train on. ``Search`` uses batches
through its executor seam: ``Search(..., evaluator=trainer, executor=trainer.executor(16))``
gathers up to 16 proposals, trains them together and records each trial exactly as a
``Trainer`` would (the run log even names the evaluator ``trainer`` with the same settings).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..data import load_dataset
from ..nn import build_model, count_macs, count_params
from ..spaces import Architecture, hyperparameters
from .errors import DivergedError, EvaluationError
from .population_executor import PopulationExecutor, _Gather
from .population_loop import _groups, _Job, _train_group
from .population_memory import MEMORY_MARGIN, PopulationMemoryError, _available_memory, _measure_memory, _parse_bytes
from .threads import DEFAULT_THREADS, limited_threads
from .trainer import Trainer, _check_training, derive_seed, resolve_device
from .weights import save_weights


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


def _raise_failure(result: dict[str, Any]) -> dict[str, Any]:
    error = result.get("error")
    if error is None:
        return result
    kind, _, message = error.partition(": ")
    raise DivergedError(message) if kind == "DivergedError" else EvaluationError(error)


__all__ = ["PopulationExecutor", "PopulationMemoryError", "PopulationTrainer"]
