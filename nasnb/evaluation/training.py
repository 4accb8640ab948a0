"""The training loop: train one model in place on in-memory data, with a cosine learning-rate decay.

The loop is written for many small trainings in a row: data already sits in memory as tensors
and batches are index slices, so a trial on digits costs about as much as a hand-written loop.
Every batch passes through ``checkpoint()`` so a search can pause or stop it, and every epoch
reports progress, so the explorer can draw the curve while it grows. The ``Trainer``
(``nasnb.evaluation.trainer``) builds each architecture and calls ``train_model`` on it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._checks import check_choice, check_float, check_int
from ..data import Dataset, load_dataset
from .control import checkpoint, report_progress
from .devices import resolve_device
from .errors import DivergedError, EvaluationError
from .scoring import evaluate_model

OPTIMIZERS = ("sgd", "adam")


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


def make_optimizer(name: str, params: Any, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """SGD with momentum 0.9 (the usual recipe for small CNNs and NAS-Bench-201) or Adam."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {name!r}")


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
