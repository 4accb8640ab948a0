"""Scoring a trained model on one split: mean cross-entropy and accuracy, in eval mode.

Kept apart from the training loop because everything that judges a model uses it: the Trainer's
per-epoch validation, the test split at the end, pruning, distillation and model cards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import nn

if TYPE_CHECKING:
    from ..data import Split

EVAL_BATCH = 512


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
