"""Low-rank factorisation: replace a layer by two thinner ones whose product approximates it.

A linear layer's weight ``W`` (out x in) is replaced by its truncated SVD ``U_r S_r V_r^T``: a
``Linear(in, r)`` followed by a ``Linear(r, out)``. A k x k convolution (out x in x k x k) is
reshaped to ``out x (in k k)``, factorised the same way, and becomes a k x k convolution to ``r``
channels followed by a 1 x 1 convolution back to ``out``. SVD gives the best rank-r approximation
of each weight (Eckart-Young), and a layer is factorised only when that saves parameters:
``r (in k k + out) < out in k k``. ``rank_sweep`` trades parameters against accuracy.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..data import Dataset
from .prune import _finetune
from .record import CompressionResult, measure


def factorize_linear(layer: nn.Linear, rank: int) -> nn.Sequential:
    """Two linear layers whose product is the best rank-``rank`` approximation of ``layer``."""
    u, s, vh = torch.linalg.svd(layer.weight.detach(), full_matrices=False)
    root = s[:rank].sqrt()
    first = nn.Linear(layer.in_features, rank, bias=False)
    second = nn.Linear(rank, layer.out_features, bias=layer.bias is not None)
    first.weight.data.copy_(root[:, None] * vh[:rank])
    second.weight.data.copy_(u[:, :rank] * root[None, :])
    if layer.bias is not None:
        second.bias.data.copy_(layer.bias.detach())
    return nn.Sequential(first, second)


def factorize_conv(layer: nn.Conv2d, rank: int) -> nn.Sequential:
    """A k x k convolution to ``rank`` channels, then a 1 x 1 convolution: the rank-``rank`` SVD of ``layer``."""
    if layer.groups != 1:
        raise ValueError(f"only ungrouped convolutions can be factorised, got groups={layer.groups}")
    out_c, in_c, kh, kw = layer.weight.shape
    u, s, vh = torch.linalg.svd(layer.weight.detach().reshape(out_c, -1), full_matrices=False)
    root = s[:rank].sqrt()
    first = nn.Conv2d(
        in_c, rank, (kh, kw), stride=layer.stride, padding=layer.padding, dilation=layer.dilation, bias=False
    )
    second = nn.Conv2d(rank, out_c, 1, bias=layer.bias is not None)
    first.weight.data.copy_((root[:, None] * vh[:rank]).reshape(rank, in_c, kh, kw))
    second.weight.data.copy_((u[:, :rank] * root[None, :]).reshape(out_c, rank, 1, 1))
    if layer.bias is not None:
        second.bias.data.copy_(layer.bias.detach())
    return nn.Sequential(first, second)


def low_rank(
    model: nn.Module,
    data: Dataset,
    *,
    rank_ratio: float = 0.5,
    finetune_epochs: int = 0,
    lr: float = 0.05,
    seed: int = 0,
    description: Mapping[str, Any] | None = None,
) -> CompressionResult:
    """Factorise every conv and linear layer at ``rank_ratio`` of its full rank where that saves parameters.

    ``layers`` lists each layer's full rank, the rank kept, its parameters before and after, and the
    share of the weight's energy (sum of squared singular values) the kept rank preserves.
    With a ``description`` the record has ``packed_bytes``: the packed file then also describes the
    factorised pairs (``nasnb.deploy.save_packed(..., changed_layers=True)``).
    """
    if isinstance(rank_ratio, bool) or not isinstance(rank_ratio, (int, float)) or not 0.0 < rank_ratio <= 1.0:
        raise ValueError(f"rank_ratio must be a fraction in (0, 1], got {rank_ratio!r}")
    start = time.perf_counter()
    factored = copy.deepcopy(model).cpu().eval()
    detail: list[dict[str, Any]] = []
    targets = [(n, m) for n, m in factored.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for name, layer in targets:
        matrix = layer.weight.detach().reshape(layer.weight.shape[0], -1)
        full = min(matrix.shape)
        rank = max(1, round(rank_ratio * full))
        before = matrix.numel()
        after = rank * sum(matrix.shape)
        s = torch.linalg.svdvals(matrix)
        row = {"layer": name, "type": type(layer).__name__, "full_rank": full, "params_before": before}
        if after >= before or (isinstance(layer, nn.Conv2d) and layer.groups != 1):
            detail.append({**row, "rank": full, "params_after": before, "energy_kept": 1.0, "factorised": False})
            continue
        new = factorize_conv(layer, rank) if isinstance(layer, nn.Conv2d) else factorize_linear(layer, rank)
        _replace(factored, name, new)
        energy = float((s[:rank] ** 2).sum() / (s**2).sum().clamp_min(1e-12))
        detail.append({**row, "rank": rank, "params_after": after, "energy_kept": energy, "factorised": True})
    history = _finetune(factored, data, finetune_epochs, lr, seed)
    settings = {"rank_ratio": rank_ratio, "finetune_epochs": finetune_epochs, "lr": lr, "seed": seed, **history}
    return measure(
        factored.eval(),
        data,
        "lowrank",
        layers=detail,
        settings=settings,
        seconds=time.perf_counter() - start,
        description=description,
    )


def rank_sweep(
    model: nn.Module, data: Dataset, *, ratios: tuple[float, ...] = (0.125, 0.25, 0.5, 0.75), finetune_epochs: int = 0
) -> list[CompressionResult]:
    """``low_rank`` at each ratio: parameters against test accuracy, the trade-off to choose a rank from."""
    return [low_rank(model, data, rank_ratio=r, finetune_epochs=finetune_epochs) for r in ratios]


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)
