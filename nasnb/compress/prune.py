"""Pruning: remove the weights (unstructured) or whole channels (structured) that matter least.

*Unstructured* magnitude pruning (``torch.nn.utils.prune``) zeroes the smallest weights over all
convolutions and linear layers at once; the tensors keep their shape, so it saves bytes only once
stored sparsely, and time only on sparse kernels. *Structured* pruning removes whole channels, so
the network really becomes smaller and faster. In a cell every node is a *sum* of edges, and skip
edges and the reduction's shortcut tie channels across the cell: channel 3 of one edge's output
must go together with channel 3 of every tensor it is added to. torch-pruning's dependency graph
finds these coupled groups by tracing the network, and removes channels group by group.

Pruning costs accuracy; a short fine-tune (same recipe, fewer epochs, lower learning rate) wins most
of it back. ``sensitivity`` says which layers and which cell edges the accuracy depends on.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..data import Dataset
from ..evaluation.trainer import evaluate_model, train_model
from .record import CompressionResult, measure


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Convolutions and linear layers, by name: what pruning can thin out."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def prune_unstructured(
    model: nn.Module,
    data: Dataset,
    *,
    amount: float = 0.5,
    finetune_epochs: int = 0,
    lr: float = 0.05,
    seed: int = 0,
    description: Mapping[str, Any] | None = None,
) -> CompressionResult:
    """Zero the ``amount`` fraction of smallest-magnitude weights over all conv and linear layers together.

    The masks stay on during fine-tuning (pruned weights stay zero), then are made permanent.
    ``layers`` gives each layer's resulting sparsity: a global threshold prunes some layers far more.
    ``description`` (the model's weights record) adds ``packed_bytes``: as large as the unpruned packed
    file, since zeros are stored as numbers like any other.
    """
    from torch.nn.utils import prune

    _check_fraction("amount", amount)
    start = time.perf_counter()
    pruned = copy.deepcopy(model).cpu()
    layers = prunable_layers(pruned)
    prune.global_unstructured(
        [(m, "weight") for _, m in layers], pruning_method=prune.L1Unstructured, amount=float(amount)
    )
    history = _finetune(pruned, data, finetune_epochs, lr, seed)
    for _, m in layers:
        prune.remove(m, "weight")
    detail = [
        {
            "layer": name,
            "type": type(m).__name__,
            "weights": m.weight.numel(),
            "sparsity": float((m.weight == 0).float().mean()),
        }
        for name, m in layers
    ]
    settings = {"amount": amount, "finetune_epochs": finetune_epochs, "lr": lr, "seed": seed, **history}
    return measure(
        pruned.eval(),
        data,
        "prune-unstructured",
        layers=detail,
        settings=settings,
        seconds=time.perf_counter() - start,
        description=description,
    )


def prune_structured(
    model: nn.Module,
    data: Dataset,
    *,
    ratio: float = 0.5,
    finetune_epochs: int = 5,
    lr: float = 0.05,
    seed: int = 0,
    description: Mapping[str, Any] | None = None,
) -> CompressionResult:
    """Remove ``ratio`` of the channels of every coupled channel group (L2 magnitude), then fine-tune.

    The classifier's output units are never removed. ``layers`` lists each conv layer's output
    channels before and after. With a ``description`` the record has ``packed_bytes``: the packed file
    then also lists the narrowed layers (``nasnb.deploy.save_packed(..., changed_layers=True)``).
    """
    try:
        import torch_pruning as tp
    except ImportError as err:
        raise ImportError("structured pruning uses torch-pruning: pip install 'nasnb[compress]'") from err

    _check_fraction("ratio", ratio)
    start = time.perf_counter()
    pruned = copy.deepcopy(model).cpu().eval()
    before = {name: _width(m) for name, m in prunable_layers(pruned)}
    head = [m for _, m in prunable_layers(pruned) if isinstance(m, nn.Linear)][-1:]
    example = data.train.x[:2]
    pruner = tp.pruner.MagnitudePruner(
        pruned,
        example,
        importance=tp.importance.MagnitudeImportance(p=2),
        pruning_ratio=float(ratio),
        ignored_layers=head,
    )
    pruner.step()
    history = _finetune(pruned, data, finetune_epochs, lr, seed)
    detail = [
        {"layer": name, "type": type(m).__name__, "channels_before": before[name], "channels_after": _width(m)}
        for name, m in prunable_layers(pruned)
    ]
    settings = {"ratio": ratio, "finetune_epochs": finetune_epochs, "lr": lr, "seed": seed, **history}
    return measure(
        pruned.eval(),
        data,
        "prune-structured",
        layers=detail,
        settings=settings,
        seconds=time.perf_counter() - start,
        description=description,
    )


def sensitivity(model: nn.Module, data: Dataset, *, ratios: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9)) -> list[dict]:
    """Validation accuracy when one thing is taken away at a time: one layer pruned, or one cell edge removed.

    Rows ``{"kind": "layer", "layer", "ratio", "accuracy", "drop"}`` prune one layer alone (L1,
    unstructured) at each ratio; rows ``{"kind": "edge", "cell", "edge", "op", "accuracy", "drop"}``
    replace one live cell edge's output by zeros. A large drop means the accuracy depends on it.
    Uses the validation split, so the test split stays untouched for the final numbers.
    """
    from torch.nn.utils import prune

    from ..nn.cell import CellNetwork, edge_name

    for r in ratios:
        _check_fraction("ratio", r)
    base = evaluate_model(model, data.val)[1]
    rows: list[dict[str, Any]] = []
    for name, _ in prunable_layers(model):
        for ratio in ratios:
            trial = copy.deepcopy(model)
            prune.l1_unstructured(dict(trial.named_modules())[name], "weight", amount=float(ratio))
            acc = evaluate_model(trial, data.val)[1]
            rows.append({"kind": "layer", "layer": name, "ratio": ratio, "accuracy": acc, "drop": base - acc})
    if isinstance(model, CellNetwork):
        for index, cell in enumerate(model.cells):
            for key in cell.live_keys:
                handle = cell.edges[key].register_forward_hook(lambda m, i, out: torch.zeros_like(out))
                try:
                    acc = evaluate_model(model, data.val)[1]
                finally:
                    handle.remove()
                edge = edge_name(key)
                rows.append(
                    {
                        "kind": "edge",
                        "cell": index,
                        "edge": edge,
                        "op": cell.ops[edge],
                        "accuracy": acc,
                        "drop": base - acc,
                    }
                )
    return rows


def recalibrate_batchnorm(model: nn.Module, data: Dataset, samples: int = 512) -> None:
    """Re-estimate every BatchNorm's running mean and variance on ``samples`` training images.

    Removing channels or factorising a layer changes the statistics of what flows into the next
    BatchNorm, whose stored averages then normalise with the wrong numbers; a few forward passes
    fix that without any training (no weight changes).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = {m: m.momentum for m in norms}
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for i in range(0, min(samples, len(data.train)), 128):
            model(data.train.x[i : min(i + 128, samples)])
    for m, momentum in momenta.items():
        m.momentum = momentum
    model.eval()


def _finetune(model: nn.Module, data: Dataset, epochs: int, lr: float, seed: int) -> dict[str, Any]:
    """Recalibrate BatchNorm, then (``epochs`` > 0) train on with the usual loop; returns what it did."""
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"finetune_epochs must be an int >= 0, got {epochs!r}")
    recalibrate_batchnorm(model, data)
    if epochs == 0:
        return {"batchnorm_recalibrated": True}
    before = evaluate_model(model, data.val)[1]
    result = train_model(model, data, epochs=epochs, lr=lr, batch_size=32, seed=seed, device="cpu")
    return {
        "batchnorm_recalibrated": True,
        "val_accuracy_before_finetune": before,
        "val_accuracy_after_finetune": result["accuracy"],
    }


def _width(m: nn.Module) -> int:
    return m.out_channels if isinstance(m, nn.Conv2d) else m.out_features


def _check_fraction(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a fraction in (0, 1), got {value!r}")
