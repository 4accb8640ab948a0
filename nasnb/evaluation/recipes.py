"""The fixed training recipes behind the shipped benchmark tables, and the one function that applies them.

One recipe per table, written down once: the table generator trains every cell with it, the
TableEvaluator reports it, and a test retrains a few cells with it to check the table.

``RECIPES["digits"]`` is the recipe of the original single-seed table (``tables/digits.npz``); it
stays as long as that table ships. ``RECIPES["digits-3seed"]`` is the recipe of the multi-seed
table, chosen by ``benchmarks/bench_recipes.py`` (seed-to-seed rank correlation per core-second;
the measurement and the reasons are in ``benchmarks/tables/README.md``).
"""

from __future__ import annotations

import time
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
# The multi-seed table keeps the original recipe, trained with seeds 0, 1, 2 on one fixed data split.
# Measured (benchmarks/bench_recipes.py, 20 stratified cells x 2 seeds, benchmarks/tables/README.md):
# its seed-to-seed rho (0.50) beat more steps (batch 32: -0.05) and wider cells (16 ch: 0.40), which
# push most cells to 96-99 % where 360 validation images cannot rank them, at half their cost.
RECIPES["digits-seeds"] = dict(RECIPES["digits"])


def recipe(dataset: str) -> dict[str, Any]:
    """A copy of the recipe for ``dataset`` (Trainer keyword arguments)."""
    if dataset not in RECIPES:
        raise ValueError(f"no benchmark recipe for dataset {dataset!r}; recipes exist for {sorted(RECIPES)}")
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in RECIPES[dataset].items()}


def train_cell(arch: Any, settings: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train ``arch`` once with the recipe ``settings`` and training seed ``seed``; every table number.

    Unlike ``Trainer(seed=s)``, the data split stays the recipe's own (``settings["seed"]``) for every
    training seed, as NAS-Bench-201 does: seeds then differ in initialisation and batch order only,
    and every seed of every cell is judged on the same validation and test images. The model's seed
    is ``derive_seed(seed, arch.key)``, so seed 0 of the ``digits`` recipe reproduces the original
    single-seed table exactly.

    Returns ``params``, ``macs``, ``train_seconds`` (training only), ``test_accuracy``,
    ``test_loss`` and per-epoch ``curves`` of ``train_loss`` (mean over the epoch's batches, as the
    optimiser saw them), ``train_accuracy`` (whole training split in eval mode after the epoch),
    ``val_loss`` and ``val_accuracy``. Raises DivergedError like the Trainer.
    """
    import torch

    from ..data import load_dataset
    from ..nn import build_model, count_macs, count_params
    from .trainer import derive_seed, evaluate_model, train_model

    data = load_dataset(settings["dataset"], seed=settings["seed"], subset=settings.get("subset"))
    model_seed = derive_seed(seed, arch.key)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(model_seed)
        model = build_model(arch, data.input_shape, data.num_classes, **settings.get("network", {}))
    params, macs = count_params(model), count_macs(model, data.input_shape)
    train_acc: list[float] = []
    extra = [0.0]

    def on_epoch(info: dict[str, Any]) -> None:
        t = time.perf_counter()
        train_acc.append(evaluate_model(info["model"], data.train)[1])
        info["model"].train()
        extra[0] += time.perf_counter() - t

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train_model(
            model,
            data,
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            lr=settings["lr"],
            optimizer=settings["optimizer"],
            weight_decay=settings["weight_decay"],
            seed=model_seed,
            device=settings.get("device", "cpu"),
            test=False,
            on_epoch=on_epoch,
        )
        test_loss, test_acc = evaluate_model(model, data.test)
    finally:
        torch.set_num_threads(previous)
    curves = {
        "train_loss": result["curves"]["train_loss"],
        "train_accuracy": train_acc,
        "val_loss": result["curves"]["val_loss"],
        "val_accuracy": result["curves"]["val_accuracy"],
    }
    return {
        "params": params,
        "macs": macs,
        "train_seconds": result["train_seconds"] - extra[0],
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "curves": curves,
    }
