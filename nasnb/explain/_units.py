"""The explainable units of a nasnb network: cell edges or chain layer blocks, with their modules.

In-model importance, per-input paths and training dynamics all ask the same question first:
which modules carry edge ``1->3`` (one per cell), or layer ``L2``? Answering it in one place
keeps the three explainers talking about the same units, named as the search space names them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..data import Dataset, Split, load_dataset
from ..evaluation.threads import limited_threads  # noqa: F401  (re-exported: one threads knob for evaluators and explainers)


@dataclass(frozen=True, eq=False)
class Unit:
    """One decision point as built: its name, operation, modules (one per cell) and whether it runs."""

    name: str
    op: str
    modules: tuple[nn.Module, ...]
    cells: tuple[int, ...]
    live: bool


def network_units(model: nn.Module, cell: int | None = None) -> list[Unit]:
    """Units of a CellNetwork (edges, in ``EDGES`` order) or a ChainNetwork (blocks ``L1``, ``L2``...).

    ``cell`` picks one cell of a CellNetwork (0-based); None takes every cell, so silencing edge
    ``1->3`` silences it everywhere, as the architecture (one cell, repeated) would.
    """
    from ..nn import CellNetwork, ChainNetwork, edge_key
    from ..spaces import EDGES

    if isinstance(model, CellNetwork):
        cells = model.cells
        if cell is not None:
            if isinstance(cell, bool) or not isinstance(cell, int) or not 0 <= cell < len(cells):
                raise ValueError(f"cell must be None (every cell) or an index in [0, {len(cells) - 1}], got {cell!r}")
            chosen = [cell]
        else:
            chosen = list(range(len(cells)))
        first = cells[chosen[0]]
        return [
            Unit(e, first.ops[e], tuple(cells[i].edges[edge_key(e)] for i in chosen), tuple(chosen), e in first.live)
            for e in EDGES
        ]
    if isinstance(model, ChainNetwork):
        if cell is not None:
            raise ValueError(f"cell applies to cell networks only; this is a ChainNetwork, got cell={cell!r}")
        return [Unit(name, block_label(block), (block,), (), True) for name, block in model.layers.named_children()]
    raise TypeError(
        f"expected a nasnb CellNetwork or ChainNetwork (from nasnb.nn.build_model), got {type(model).__name__}"
    )


def block_label(block: nn.Module) -> str:
    """Short name of a chain block's operation: ``conv3x3``, ``fc64``, ``maxpool``, ``identity``."""
    first = block[0] if isinstance(block, nn.Sequential) and len(block) else block
    if isinstance(first, nn.Flatten) and isinstance(block, nn.Sequential) and len(block) > 1:
        first = block[1]
    if isinstance(first, nn.Conv2d):
        return f"conv{first.kernel_size[0]}x{first.kernel_size[1]}"
    if isinstance(first, nn.Linear):
        return f"fc{first.out_features}"
    if isinstance(first, nn.MaxPool2d):
        return "maxpool"
    if isinstance(first, nn.AvgPool2d):
        return "avgpool"
    return type(first).__name__.lower()


def as_split(data: Any, which: str = "val") -> Split:
    """A Split from a Split, a Dataset (its ``which`` split) or a dataset name."""
    if isinstance(data, Split):
        return data
    if isinstance(data, str):
        data = load_dataset(data)
    if isinstance(data, Dataset):
        return getattr(data, which)
    raise TypeError(f"data must be a Split, a Dataset or a dataset name such as 'digits', got {type(data).__name__}")


def model_device(model: nn.Module) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device("cpu"))


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put a model in eval mode for a measurement and restore every module's flag afterwards."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes.items():
            module.training = mode
