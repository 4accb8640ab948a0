"""Real training as an evaluator: build the architecture, train it, report validation accuracy.

The loop is written for many small trainings in a row: data already sits in memory as tensors
and batches are index slices, so a trial on digits costs about as much as a hand-written loop.
Every batch passes through ``checkpoint()`` so a search can pause or stop it, and every epoch
reports progress, so the explorer can draw the curve while it grows.
"""

from __future__ import annotations

import inspect
import math
import os
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
from torch import nn

from .._checks import check, check_bool, check_choice, check_float, check_int
from ..data import DATASETS, Dataset, load_dataset
from ..nn import build_model, count_macs, count_params
from ..spaces import Architecture, hyperparameters
from .control import checkpoint, report_progress
from .errors import DivergedError, EvaluationError
from .threads import DEFAULT_THREADS, check_threads, limited_threads
from .weights import KEEP_WEIGHTS, WEIGHTS_DIR, save_weights

if TYPE_CHECKING:
    from ..data import Split

OPTIMIZERS = ("sgd", "adam")
EVAL_BATCH = 512


def train_model(
    model: nn.Module,
    dataset: Dataset | str,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 0.05,
    optimizer: str = "sgd",
    weight_decay: float = 5e-4,
    max_steps: int | None = None,
    seconds: float | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    test: bool = False,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``model`` in place on ``dataset`` and return its metrics (see ``Trainer``).

    SGD (momentum 0.9) or Adam with a cosine learning-rate decay over all planned steps. Stops after
    ``epochs``, or earlier at ``max_steps`` optimiser steps or ``seconds`` of training (time spent
    paused by the search does not count). Shuffling and dropout draw from ``seed`` only; the
    caller's global random state is left as it was. A trailing batch of a single sample is skipped
    because BatchNorm cannot normalise one sample.

    ``on_epoch``, if given, is called after each epoch's validation with ``{"epoch", "model",
    "train_loss", "val_loss", "val_accuracy"}``, so explainers can record weights and gradients
    over training (the gradients of the epoch's last batch are still on the parameters).
    """
    _check_training(
        "train_model",
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        optimizer=optimizer,
        weight_decay=weight_decay,
        max_steps=max_steps,
        seconds=seconds,
    )
    data = load_dataset(dataset) if isinstance(dataset, str) else dataset
    if len(data.train) < 2 or len(data.val) == 0:
        raise EvaluationError(
            f"{data.name}: need >= 2 training and >= 1 validation samples, got {len(data.train)} and {len(data.val)}"
        )
    dev = resolve_device(device)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)
        return _train(
            model.to(dev),
            data,
            dev,
            epochs,
            batch_size,
            lr,
            optimizer,
            weight_decay,
            max_steps,
            seconds,
            seed,
            test,
            on_epoch,
        )


def _train(
    model: nn.Module,
    data: Dataset,
    dev: torch.device,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str,
    weight_decay: float,
    max_steps: int | None,
    seconds: float | None,
    seed: int,
    test: bool,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    x, y = data.train.x.to(dev), data.train.y.to(dev)
    n = len(y)
    bs = min(batch_size, n)
    per_epoch = n // bs + (1 if n % bs > 1 else 0)
    total = epochs * per_epoch if max_steps is None else min(epochs * per_epoch, max_steps)
    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    shuffle = torch.Generator().manual_seed(seed)
    curves: dict[str, list[float]] = {"epoch": [], "train_loss": [], "val_loss": [], "val_accuracy": []}
    step, paused, completed = 0, 0.0, 0
    start = time.perf_counter()

    def out_of_budget() -> bool:
        return step >= total or (seconds is not None and time.perf_counter() - start - paused >= seconds)

    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(n, generator=shuffle).to(dev)
        loss_sum, seen, batches = 0.0, 0, 0
        while batches < per_epoch:
            t = time.perf_counter()
            checkpoint()
            paused += time.perf_counter() - t
            idx = order[batches * bs : (batches + 1) * bs]
            for group in opt.param_groups:
                group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * step / total))
            loss = loss_fn(model(x[idx]), y[idx])
            value = loss.item()
            if not math.isfinite(value):
                raise DivergedError(
                    f"training diverged: the loss became {value} at epoch {epoch}, step {step + 1} with "
                    f"lr={lr:g}; try a lower learning rate (e.g. lr={lr / 10:g})"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += value * len(idx)
            seen += len(idx)
            step += 1
            batches += 1
            if batches < per_epoch and out_of_budget():
                break
        if batches == per_epoch:
            completed += 1
        val_loss, val_acc = evaluate_model(model, data.val)
        train_loss = loss_sum / seen
        for key, v in (
            ("epoch", epoch - 1 + batches / per_epoch),
            ("train_loss", train_loss),
            ("val_loss", val_loss),
            ("val_accuracy", val_acc),
        ):
            curves[key].append(v)
        report_progress(epoch=epoch, epochs=epochs, val_accuracy=val_acc, val_loss=val_loss, train_loss=train_loss)
        if on_epoch is not None:
            on_epoch(
                {
                    "epoch": epoch,
                    "model": model,
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    "val_accuracy": val_acc,
                }
            )
        if out_of_budget():
            break
    result = {
        "accuracy": curves["val_accuracy"][-1],
        "val_loss": curves["val_loss"][-1],
        "train_loss": curves["train_loss"][-1],
        "train_seconds": time.perf_counter() - start - paused,
        "epochs": completed,
        "steps": step,
        "curves": curves,
    }
    if test:
        result["test_accuracy"] = evaluate_model(model, data.test).accuracy
    return result


class SplitScore(NamedTuple):
    """How a model does on one split: mean cross-entropy ``loss`` and ``accuracy`` in [0, 1]."""

    loss: float
    accuracy: float


@torch.no_grad()
def evaluate_model(model: nn.Module, split: Split) -> SplitScore:
    """Mean cross-entropy and accuracy of ``model`` on a split, in eval mode (BatchNorm running stats)."""
    model.eval()
    dev = next((p.device for p in model.parameters()), torch.device("cpu"))
    loss, correct = 0.0, 0
    for i in range(0, len(split), EVAL_BATCH):
        xb, yb = split.x[i : i + EVAL_BATCH].to(dev), split.y[i : i + EVAL_BATCH].to(dev)
        out = model(xb)
        loss += float(nn.functional.cross_entropy(out, yb, reduction="sum"))
        correct += int((out.argmax(1) == yb).sum())
    n = max(len(split), 1)
    return SplitScore(loss / n, correct / n)


def make_optimizer(name: str, params: Any, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """SGD with momentum 0.9 (the usual recipe for small CNNs and NAS-Bench-201) or Adam."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {name!r}")


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` means CUDA when available, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from err


def derive_seed(seed: int, key: str) -> int:
    """Seed for one architecture: stable across processes (unlike ``hash``), different per arch."""
    return zlib.crc32(f"{seed}:{key}".encode()) & 0x7FFFFFFF


class Trainer:
    """Evaluator that trains each architecture from scratch and returns its validation accuracy.

    Configure once, call per architecture: ``Trainer(epochs=5)(arch)``. The constructor only
    stores its arguments (checked when called), so ``Trainer(**t.get_config())`` rebuilds it and a
    run log can record it. Hyperparameters chosen by the architecture (a ``HyperSpace`` part:
    ``lr``, ``batch_size``, ``weight_decay``, ``dropout``) override the trainer's own.

    The result has ``accuracy`` (validation, in [0, 1]), ``val_loss``, ``train_loss``, ``params``,
    ``macs``, ``train_seconds``, ``epochs`` (completed), ``steps``, per-epoch ``curves`` and, with
    ``test=True``, ``test_accuracy``. The same architecture and ``seed`` give the same numbers on
    the same device (model initialisation, shuffling and dropout all derive from them), while
    different architectures get different seeds. The data split depends on ``seed`` only, so every
    architecture of a search is judged on the same validation set.

    ``threads`` sets torch's CPU threads during each call (restored afterwards; None leaves them),
    the same knob every evaluator has (``nasnb.evaluation.threads``). The default is 1 because NAS
    trains many small networks: on a busy 2-core machine two threads per evaluation made them
    5-10x slower than one. For a large model on an idle many-core machine, pass more (or None).

    ``keep_weights="best"`` (or ``"all"``) writes the trained weights of the most accurate
    architecture so far (or of every one) into ``weights_dir``; a Search with a ``run_dir`` sets
    ``weights_dir`` to ``<run_dir>/weights`` for you, and ``nasnb.load_model(run_dir, trial)`` reads
    them back (see ``nasnb.evaluation.weights``).
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
    ) -> None:
        self.dataset = dataset
        self.epochs = epochs
        self.max_steps = max_steps
        self.seconds = seconds
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.subset = subset
        self.seed = seed
        self.device = device
        self.test = test
        self.network = network
        self.keep_model = keep_model
        self.threads = threads
        self.keep_weights = keep_weights
        self.weights_dir = weights_dir

    def bind_run(self, run_dir: str | os.PathLike) -> None:
        """Called by a Search with a run directory: weights are kept in ``<run_dir>/weights``."""
        if self.keep_weights is not None and self.weights_dir is None:
            self.weights_dir = str(Path(run_dir).resolve() / WEIGHTS_DIR)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able): ``Trainer(**config)`` is an equal trainer."""
        config = {name: getattr(self, name) for name in inspect.signature(type(self)).parameters}
        config["network"] = dict(self.network) if self.network is not None else None
        return config

    def __repr__(self) -> str:
        defaults = {k: p.default for k, p in inspect.signature(type(self)).parameters.items()}
        changed = [f"{k}={v!r}" for k, v in self.get_config().items() if v != defaults[k]]
        return f"Trainer({', '.join(changed)})"

    def __call__(self, arch: Architecture, *, epochs: int | None = None) -> dict[str, Any]:
        """Train ``arch`` (for ``epochs``, default the trainer's) and return its metrics."""
        if not isinstance(arch, Architecture):
            raise TypeError(
                f"Trainer needs an Architecture (from space.sample or space.parse), got {type(arch).__name__}"
            )
        self.validate()
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
        data = load_dataset(self.dataset, subset=self.subset, seed=self.seed)
        seed = derive_seed(self.seed, arch.key)
        dev = resolve_device(self.device)
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(seed)
            model = build_model(arch, data.input_shape, data.num_classes, **(self.network or {}))
        with limited_threads(self.threads, self):
            params, macs = count_params(model), count_macs(model, data.input_shape)
            result = train_model(model, data, seed=seed, device=dev, test=self.test, **settings)
        if self.keep_model:
            self.last_model_ = model
        if self.keep_weights is not None:
            self._save(arch, model, data, settings["epochs"], result)
        return {**result, "params": params, "macs": macs}

    def _save(self, arch: Architecture, model: nn.Module, data: Dataset, epochs: int, result: dict) -> None:
        record = self.weights_record(arch, data, epochs, result)
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        save_weights(self.weights_dir, self.keep_weights, record=record, state_dict=state, accuracy=result["accuracy"])

    def weights_record(self, arch: Architecture, data: Dataset, epochs: int, result: dict) -> dict[str, Any]:
        """What a weights file says besides the weights: enough to rebuild and describe the model."""
        from ..spaces import space_to_config

        return {
            "arch": str(arch),
            "key": arch.key,
            "space": space_to_config(arch.space),
            "network": dict(self.network or {}),
            "input_shape": list(data.input_shape),
            "num_classes": data.num_classes,
            "classes": list(data.classes),
            "dataset": data.name,
            "subset": self.subset,
            "data_seed": self.seed,
            "epochs": epochs,
            "metrics": {k: v for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
        }

    def validate(self) -> None:
        """Check the configuration now (calls check it anyway), e.g. before starting a long search.

        Raises ValueError naming the parameter, the rule and the value received.
        """
        known = str(self.dataset).strip().lower().replace("_", "-") in DATASETS
        check(self, "dataset", self.dataset, isinstance(self.dataset, str) and known, f"one of {list(DATASETS)}")
        check_int(self, "subset", self.subset, low=2, optional=True)
        check_int(self, "seed", self.seed, low=0)
        check_bool(self, "test", self.test)
        check_bool(self, "keep_model", self.keep_model)
        check(self, "keep_weights", self.keep_weights, self.keep_weights in KEEP_WEIGHTS, "None, 'best' or 'all'")
        dir_ok = self.weights_dir is None or isinstance(self.weights_dir, str)
        check(self, "weights_dir", self.weights_dir, dir_ok, "None or a folder path (str)")
        if self.keep_weights is not None and self.weights_dir is None:
            raise ValueError(
                f"Trainer keep_weights={self.keep_weights!r} needs a folder: give the Search a run_dir "
                "(weights then go to <run_dir>/weights) or pass weights_dir='...'"
            )
        network_ok = self.network is None or isinstance(self.network, dict)
        check(self, "network", self.network, network_ok, "None or a dict of network options such as {'channels': 8}")
        check(self, "device", self.device, isinstance(self.device, str), "'auto', 'cpu' or 'cuda'")
        resolve_device(self.device)
        check_threads(self, self.threads)
        _check_training(
            self,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            optimizer=self.optimizer,
            weight_decay=self.weight_decay,
            max_steps=self.max_steps,
            seconds=self.seconds,
        )


def _check_training(
    owner: object,
    *,
    epochs: Any,
    batch_size: Any,
    lr: Any,
    optimizer: Any,
    weight_decay: Any,
    max_steps: Any,
    seconds: Any,
) -> None:
    """Checks shared by Trainer and train_model: name the parameter, the rule and the value."""
    check_int(owner, "epochs", epochs, low=1)
    check_int(owner, "batch_size", batch_size, low=1)
    check_float(owner, "lr", lr, low=0, low_open=True)
    check_choice(owner, "optimizer", optimizer, OPTIMIZERS)
    check_float(owner, "weight_decay", weight_decay, low=0)
    check_int(owner, "max_steps", max_steps, low=1, optional=True)
    check_float(owner, "seconds", seconds, low=0, low_open=True, optional=True)
