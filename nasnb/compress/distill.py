"""Knowledge distillation: a small student learns from a large teacher's soft predictions.

Hinton et al. (2015): besides the true label, the student matches the teacher's class
probabilities softened by a temperature ``T``; those say which wrong classes the teacher finds
plausible ("this 3 looks a bit like an 8"), information a one-hot label does not carry. The loss is
``alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y)`` (``T^2`` keeps the soft
gradients' scale independent of T).

Whether that helps is measured, not assumed: the same student is trained alone (``alpha = 0``)
with the same initialisation, batches, recipe and seed, and both are compared on the test split,
overall, per class, and by how often each agrees with the teacher.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..data import Dataset
from ..evaluation.trainer import evaluate_model, make_optimizer
from .record import CompressionResult, measure


@dataclass(frozen=True)
class DistillationResult:
    """The distilled student, the same student trained alone, and how both compare with the teacher."""

    student: CompressionResult
    alone: CompressionResult
    teacher_accuracy: float
    agreement: float  # share of test images where the distilled student predicts what the teacher predicts
    agreement_alone: float
    per_class: tuple[dict[str, Any], ...] = field(default=())
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def gain_points(self) -> float:
        """Test accuracy of the distilled student minus the student alone, in points."""
        return 100.0 * (self.student.test_accuracy - self.alone.test_accuracy)


def hinton_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor, temperature: float, alpha: float
) -> torch.Tensor:
    """``alpha T^2 KL(p_teacher^T || p_student^T) + (1 - alpha) CE(student, labels)``, batch mean."""
    hard = F.cross_entropy(student_logits, labels)
    if alpha == 0.0:
        return hard
    soft = F.kl_div(
        F.log_softmax(student_logits / temperature, dim=1),
        F.log_softmax(teacher_logits / temperature, dim=1),
        reduction="batchmean",
        log_target=True,
    )
    return alpha * temperature**2 * soft + (1.0 - alpha) * hard


def distill(
    teacher: nn.Module,
    student: nn.Module,
    data: Dataset,
    *,
    temperature: float = 4.0,
    alpha: float = 0.7,
    epochs: int = 10,
    lr: float = 0.05,
    batch_size: int = 64,
    seed: int = 0,
    description: Mapping[str, Any] | None = None,
) -> DistillationResult:
    """Train a copy of ``student`` (untrained) by distillation from ``teacher``, and another copy alone.

    Both copies start from the same weights and see the same batches in the same order.
    ``description`` describes the *student* (``nasnb.deploy.packed.model_description``); with it both
    student records have ``packed_bytes``.
    """
    if not (isinstance(temperature, (int, float)) and temperature > 0):
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
    if not (isinstance(alpha, (int, float)) and 0.0 < alpha <= 1.0):
        raise ValueError(f"alpha (weight of the soft targets) must be in (0, 1], got {alpha!r}")
    teacher = teacher.cpu().eval()
    with torch.no_grad():
        soft = torch.cat([teacher(data.train.x[i : i + 512]) for i in range(0, len(data.train), 512)])
    start = time.perf_counter()
    trained = {}
    for name, weight in (("distilled", float(alpha)), ("alone", 0.0)):
        model = copy.deepcopy(student).cpu()
        _train(model, data, soft, temperature, weight, epochs, lr, batch_size, seed)
        trained[name] = model.eval()
    seconds = time.perf_counter() - start
    settings = {"temperature": temperature, "alpha": alpha, "epochs": epochs, "lr": lr, "seed": seed}
    with torch.no_grad():
        t_pred = teacher(data.test.x).argmax(1)
        d_pred = trained["distilled"](data.test.x).argmax(1)
        a_pred = trained["alone"](data.test.x).argmax(1)
    return DistillationResult(
        student=measure(
            trained["distilled"], data, "distill", settings=settings, seconds=seconds / 2, description=description
        ),
        alone=measure(
            trained["alone"], data, "student-alone", settings={**settings, "alpha": 0.0}, description=description
        ),
        teacher_accuracy=evaluate_model(teacher, data.test)[1],
        agreement=float((d_pred == t_pred).float().mean()),
        agreement_alone=float((a_pred == t_pred).float().mean()),
        per_class=tuple(per_class(data, t_pred, d_pred, a_pred)),
        settings=settings,
    )


def per_class(data: Dataset, teacher: torch.Tensor, distilled: torch.Tensor, alone: torch.Tensor) -> list[dict]:
    """Test accuracy per class for teacher, distilled and lone student, and the distilled student's gain."""
    y = data.test.y
    rows = []
    for c, label in enumerate(data.classes):
        mask = y == c
        n = int(mask.sum())
        if n == 0:
            continue
        acc = {
            name: float((pred[mask] == c).float().mean())
            for name, pred in (("teacher", teacher), ("distilled", distilled), ("alone", alone))
        }
        disagree = int(((distilled != teacher) & mask).sum())
        rows.append(
            {"class": label, "n": n, **acc, "gain": acc["distilled"] - acc["alone"], "disagree_with_teacher": disagree}
        )
    return rows


def _train(
    model: nn.Module,
    data: Dataset,
    soft: torch.Tensor,
    temperature: float,
    alpha: float,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
) -> None:
    """SGD with a cosine schedule, as ``train_model``; the loss is ``hinton_loss`` (plain CE when alpha=0)."""
    x, y = data.train.x, data.train.y
    n = len(y)
    per_epoch = max(1, n // batch_size)
    total = epochs * per_epoch
    opt = make_optimizer("sgd", model.parameters(), lr, 5e-4)
    shuffle = torch.Generator().manual_seed(seed)
    step = 0
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for _ in range(epochs):
            model.train()
            order = torch.randperm(n, generator=shuffle)
            for b in range(per_epoch):
                idx = order[b * batch_size : (b + 1) * batch_size]
                for group in opt.param_groups:
                    group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * step / total))
                loss = hinton_loss(model(x[idx]), soft[idx], y[idx], temperature, alpha)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step += 1
