"""The model card written beside every export: what the model is, what it expects, how good it is.

A served model outlives the notebook that made it. The card says which architecture it is, which
data it was trained on and how inputs must be preprocessed (the standardisation constants, so a
server can reproduce them), its accuracy on validation and on the untouched test split, the checks
the export passed, and the nasnb and torch versions that wrote it.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from .. import __version__
from .models import TrainedModel


def model_card(
    trained: TrainedModel, path: Path, format: str, checks: dict[str, Any], *, file_accuracy: float | None = None
) -> dict[str, Any]:
    """A JSON-able description of ``trained`` as exported to ``path``.

    ``metrics.test_accuracy`` is the trained (float32) model's; ``metrics.file_test_accuracy`` (when given,
    as ``export`` does) is the exported file's own, run as a server runs it: for an int8 file it differs.
    ``architecture.network`` lists every network option, defaults included (a run with the default
    network records none).
    """
    import torch

    from ..evaluation.trainer import evaluate_model
    from ..nn import count_macs, count_params, network_settings

    record = trained.record
    data = _data(record)
    _, test_accuracy = evaluate_model(trained.model, data.test)
    shape = list(record["input_shape"])
    return {
        "model": {
            "format": format,
            "file": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "bytes": path.stat().st_size,
            "input": {"name": "input", "shape": ["batch", *shape], "dtype": "float32"},
            "output": {"name": "logits", "shape": ["batch", record["num_classes"]], "meaning": "unnormalised scores"},
        },
        "architecture": {
            "arch": record["arch"],
            "space": record["space"],
            "network": network_settings(trained.arch, **record["network"]),
            "params": count_params(trained.model),
            "macs": count_macs(trained.model, shape),
        },
        "dataset": {
            "name": record["dataset"],
            "classes": record.get("classes"),
            "subset": record.get("subset"),
            "split_seed": record.get("data_seed", 0),
            "test_samples": len(data.test),
        },
        "preprocessing": preprocessing(record),
        "metrics": {
            "val_accuracy": record.get("metrics", {}).get("accuracy", record.get("accuracy")),
            "test_accuracy": test_accuracy,
            **({} if file_accuracy is None else {"file_test_accuracy": file_accuracy}),
            "train_epochs": record.get("epochs"),
        },
        "source": {
            "run": str(trained.run_dir) if trained.run_dir else None,
            "trial": trained.trial.id if trained.trial else None,
        },
        "checks": checks,
        "versions": {"nasnb": __version__, "torch": torch.__version__},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def preprocessing(record: dict[str, Any]) -> dict[str, Any]:
    """How raw inputs become what the model saw in training: scale, then per-channel standardisation.

    The constants are recomputed from the training split exactly as ``load_dataset`` does, so a
    server that gets raw pixels can apply them without nasnb.
    """
    import numpy as np

    from ..data import datasets, sources

    name = record["dataset"]
    if name == "digits":
        raw = sources.digits()
    elif name == "moons":
        return {"steps": ["standardise each feature with the training split's mean and std"]}
    else:
        raw = sources.torchvision_data(datasets._TORCHVISION[name], sources.default_root(), False)
    parts = datasets._split(raw, record.get("subset"), int(record.get("data_seed", 0)), 0.2, 0.2)
    x = parts[0][0].astype(np.float64) / raw.scale
    axes = (0, 2, 3) if x.ndim == 4 else (0,)
    return {
        "steps": [f"divide raw values by {raw.scale:g}", "subtract mean, divide by std (per channel)"],
        "scale": float(raw.scale),
        "mean": [float(v) for v in np.ravel(x.mean(axis=axes))],
        "std": [float(v) for v in np.ravel(x.std(axis=axes, ddof=1))],
    }


def _data(record: dict[str, Any]):
    from ..data import load_dataset

    return load_dataset(record["dataset"], subset=record.get("subset"), seed=record.get("data_seed", 0))
