"""SGD and Adam on stacked weights: torch's update, one learning rate and weight decay per candidate."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..nn.batched import Stacked


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
