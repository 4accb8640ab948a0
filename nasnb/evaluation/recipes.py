"""The fixed training recipes behind the shipped benchmark tables.

One recipe per dataset, written down once: the table generator trains every cell with it, the
TableEvaluator reports it, and a test retrains a few cells with it to check the table.
"""

from __future__ import annotations

from typing import Any

RECIPES: dict[str, dict[str, Any]] = {
    # 8 channels, one cell per stage, two stages; 6 epochs keeps the table spread out
    # (accuracies roughly 0.1-0.97) instead of saturating near 0.99, so ranking cells is informative.
    "digits": {
        "dataset": "digits",
        "epochs": 6,
        "batch_size": 128,
        "lr": 0.1,
        "optimizer": "sgd",
        "weight_decay": 5e-4,
        "seed": 0,
        "device": "cpu",
        "test": True,
        "network": {"channels": 8, "cells_per_stage": 1, "stages": 2},
    },
}


def recipe(dataset: str) -> dict[str, Any]:
    """A copy of the recipe for ``dataset`` (Trainer keyword arguments)."""
    if dataset not in RECIPES:
        raise ValueError(f"no benchmark recipe for dataset {dataset!r}; recipes exist for {sorted(RECIPES)}")
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in RECIPES[dataset].items()}
