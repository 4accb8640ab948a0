"""Numbering the 5**6 CellSpace cells, which is how a benchmark table is indexed.

A cell's operations read as a base-5 number in ``EDGES`` order give its position in the table's
``index``; ``cell_from_number`` turns a position back into the cell. Only plain CellSpace cells
have a number: the table knows nothing of chains or hyperparameters.
"""

from __future__ import annotations

from ..spaces import EDGES, OPS, Architecture, CellSpace

_OP_INDEX = {op: i for i, op in enumerate(OPS)}
TABLE_HINT = (
    "use nasnb.evaluation.Trainer, which trains any architecture "
    "(Trainer(**nasnb.evaluation.recipes.recipe('digits')) reproduces the table's recipe)"
)


def cell_number(arch: Architecture) -> int:
    """The cell's operations as a base-5 number in ``EDGES`` order (the table's ``index`` position).

    Raises TypeError for anything that is not a plain CellSpace architecture, because the table
    only knows cells trained with its fixed recipe (no hyperparameters, no chains).
    """
    if not isinstance(arch, Architecture):
        raise TypeError(f"a table lookup needs a CellSpace Architecture, got {type(arch).__name__}")
    if not isinstance(arch.space, CellSpace):
        raise TypeError(
            f"the benchmark table covers CellSpace cells trained with one fixed recipe; got an architecture "
            f"of {arch.space!r}. For other spaces (or hyperparameters) {TABLE_HINT}"
        )
    number = 0
    for edge in EDGES:
        number = number * len(OPS) + _OP_INDEX[arch[edge]]
    return number


def cell_from_number(number: int, space: CellSpace | None = None) -> Architecture:
    """Inverse of ``cell_number``."""
    digits = []
    for _ in EDGES:
        number, digit = divmod(number, len(OPS))
        digits.append(OPS[digit])
    return Architecture(space or CellSpace(), dict(zip(EDGES, reversed(digits))))
