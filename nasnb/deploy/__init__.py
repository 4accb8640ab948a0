"""Deployment: a found model out of its run, exported (ONNX, TorchScript, state dict) with a model
card, and monitored in service with drift alerts.

Imported lazily: ``import nasnb.deploy`` does not import torch until a name is used.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

_LAZY = {
    "TrainedModel": ".models",
    "load_model": ".models",
    "load_trained": ".models",
    "from_weights_file": ".models",
    "retrain": ".models",
    "export": ".exporter",
    "ExportError": ".exporter",
    "ExportResult": ".exporter",
    "model_card": ".card",
    "Monitor": ".monitor",
    "Alert": ".monitor",
    "BatchRecord": ".monitor",
    "shift_images": ".monitor",
    "plot_monitor": ".monitor",
    "pack": ".packed",
    "save_packed": ".packed",
    "load_packed": ".packed",
    "model_description": ".packed",
    "PackedFormatError": ".packed",
}

FORMATS = (
    "onnx",
    "onnx-int8",
    "torchscript",
    "state-dict",
    "packed",
    "packed-int8",
)  # export formats (here, so the CLI needs no torch)

__all__ = sorted([*_LAZY, "FORMATS"])

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
