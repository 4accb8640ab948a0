"""Where a training runs and which seed it draws from: the two things that make a result repeatable.

``resolve_device`` turns the ``device`` setting every evaluator takes into a torch device;
``derive_seed`` gives each architecture its own seed from the evaluator's, stable across processes.
"""

from __future__ import annotations

import zlib

import torch


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
