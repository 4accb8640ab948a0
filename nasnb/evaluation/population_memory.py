"""How much memory K candidates need, measured on a real training step, and what is available."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.nn import functional as F

from ..nn.batched import stack
from .trainer import EVAL_BATCH

if TYPE_CHECKING:
    from .population_loop import _Job

#: the activations of one evaluation chunk of K candidates stay under this many input samples
EVAL_SAMPLES = 4096
#: margin on the measured memory estimate (allocator slack, temporary tensors)
MEMORY_MARGIN = 1.5


class PopulationMemoryError(MemoryError):
    """K candidates do not fit in memory; ``largest_k`` is the most that fit by measurement."""

    def __init__(self, message: str, largest_k: int) -> None:
        super().__init__(message)
        self.largest_k = largest_k


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
