"""Monitoring a deployed model: what it predicts, how sure it is, and whether its inputs have drifted.

A model in service meets data that slowly stops looking like its validation set (a camera tilts,
a sensor gets noisier). Labels usually arrive late or never, so the monitor watches what is always
there: the model's confidence (top softmax probability), its predictive entropy, and a summary of
each input. Every batch is compared with the validation distribution by a two-sample
Kolmogorov-Smirnov test (scipy) on the confidences and on the inputs' per-image statistics; when
the smaller p-value falls below ``alpha`` divided by the number of tests (Bonferroni), the batch
gets an ``Alert`` record. Accuracy is recorded whenever labels come with the batch.

The served model can be an exported file (``.onnx`` run by onnxruntime, a packed file from
``format="packed"`` or ``"packed-int8"``, TorchScript ``.pt``) or an ``nn.Module``: the monitor serves
what was shipped, not the notebook's copy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Alert:
    """Drift detected on one batch: which test fired, its statistic and p-value, and what to do."""

    batch: int
    test: str
    statistic: float
    p_value: float
    threshold: float
    message: str


@dataclass(frozen=True)
class BatchRecord:
    """What the monitor saw on one batch."""

    batch: int
    n: int
    accuracy: float | None
    confidence: float
    entropy: float
    ks_confidence: float
    p_confidence: float
    ks_input: float
    p_input: float
    drift: bool
    label: str = ""


class Monitor:
    """Serve ``model`` over incoming batches, record quality signals, and raise alerts on drift.

    ``reference`` is a batch of validation inputs (the distribution the model was chosen on).
    ``alpha`` is the family-wise false-alarm rate per batch (two KS tests, Bonferroni).
    """

    def __init__(self, model: Any, reference: Any, *, alpha: float = 0.01) -> None:
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
        self.predict = serving_function(model)
        self.alpha = alpha
        ref = np.asarray(reference, dtype=np.float32)
        if ref.ndim < 2 or len(ref) < 20:
            raise ValueError(f"reference must be at least 20 validation inputs (a batch), got shape {ref.shape}")
        probs = _softmax(self.predict(ref))
        self.reference_confidence = probs.max(axis=1)
        self.reference_input = input_statistic(ref)
        self.records: list[BatchRecord] = []
        self.alerts: list[Alert] = []

    def observe(self, x: Any, y: Any = None, *, label: str = "") -> BatchRecord:
        """Serve one batch: predictions, confidence, entropy, accuracy (with labels), drift tests."""
        from scipy.stats import ks_2samp

        batch = np.asarray(x, dtype=np.float32)
        if batch.ndim < 2 or len(batch) < 2:
            raise ValueError(f"a batch needs at least 2 inputs, got shape {batch.shape}")
        probs = _softmax(self.predict(batch))
        confidence = probs.max(axis=1)
        entropy = -(probs * np.log(np.clip(probs, 1e-12, 1.0))).sum(axis=1)
        accuracy = None if y is None else float((probs.argmax(axis=1) == np.asarray(y)).mean())
        conf_test = ks_2samp(confidence, self.reference_confidence)
        input_test = ks_2samp(input_statistic(batch), self.reference_input)
        threshold = self.alpha / 2
        index = len(self.records)
        fired = [
            (name, test) for name, test in (("confidence", conf_test), ("input", input_test)) if test.pvalue < threshold
        ]
        record = BatchRecord(
            batch=index,
            n=len(batch),
            accuracy=accuracy,
            confidence=float(confidence.mean()),
            entropy=float(entropy.mean()),
            ks_confidence=float(conf_test.statistic),
            p_confidence=float(conf_test.pvalue),
            ks_input=float(input_test.statistic),
            p_input=float(input_test.pvalue),
            drift=bool(fired),
            label=label,
        )
        self.records.append(record)
        for name, test in fired:
            self.alerts.append(
                Alert(
                    batch=index,
                    test=f"KS on {name}",
                    statistic=float(test.statistic),
                    p_value=float(test.pvalue),
                    threshold=threshold,
                    message=(
                        f"batch {index}{f' ({label})' if label else ''}: {name} distribution differs from validation "
                        f"(KS {test.statistic:.3f}, p={test.pvalue:.2g} < {threshold:.2g}); check the input pipeline, "
                        "collect labels for these inputs and consider retraining"
                    ),
                )
            )
        return record

    def to_dataframe(self):
        """One row per batch."""
        import pandas as pd

        return pd.DataFrame([r.__dict__ for r in self.records])


def input_statistic(x: np.ndarray) -> np.ndarray:
    """One number per input for the KS test: its mean absolute value (brightness and noise move it)."""
    flat = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    return np.abs(flat).mean(axis=1)


def serving_function(model: Any, *, format: str | None = None) -> Callable[[Any], np.ndarray]:
    """``f(batch) -> logits`` (a numpy array) for an exported file or an ``nn.Module``.

    A file is served as a server would: ``.onnx`` by onnxruntime, a packed file (recognised by its first
    bytes) by ``load_packed``, anything else as TorchScript; ``format`` (an ``export`` format name) says
    which it is instead of the suffix. The batch may be a numpy array or a torch tensor (``data.test.x[:32]``):
    onnxruntime takes only numpy arrays, so every batch becomes a float32 numpy array first.
    """
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.exists():
            raise FileNotFoundError(f"no exported model at {path}; create one with nasnb.deploy.export(...)")
        if format in ("onnx", "onnx-int8") or (format is None and path.suffix == ".onnx"):
            import onnxruntime as ort

            from .onnx_int8 import session_options

            session = ort.InferenceSession(str(path), session_options(path), providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            return lambda x: session.run(None, {name: as_batch(x)})[0]
        from .packed import MAGIC, load_packed

        with open(path, "rb") as f:
            if f.read(len(MAGIC)) == MAGIC:  # a packed file (export format "packed" / "packed-int8")
                return _torch_function(load_packed(path))
        if format == "state-dict":
            from .models import from_weights_file

            return _torch_function(from_weights_file(path).model)
        return _torch_function(load_torchscript(path))
    if callable(model):
        return _torch_function(model)
    raise TypeError(f"model must be an exported file path or a torch module, got {type(model).__name__}")


def load_torchscript(path: str | os.PathLike) -> Any:
    """``torch.jit.load(path)`` without its deprecation warning.

    torch >= 2.10 warns that TorchScript is deprecated in favour of ``torch.export``, but a TorchScript
    file has no other loader; only that one FutureWarning is silenced.
    """
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit")
        return torch.jit.load(str(path))


def as_batch(x: Any) -> np.ndarray:
    """A batch as the contiguous float32 numpy array runtimes take (from numpy, a torch tensor or a list)."""
    if hasattr(x, "detach"):  # a torch tensor, possibly on a GPU or needing grad
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(x, dtype=np.float32)


def _torch_function(module: Any) -> Callable[[Any], np.ndarray]:
    import torch

    if hasattr(module, "eval"):
        module.eval()

    def run(x: Any) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(as_batch(x))).numpy()

    return run


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def shift_images(x: Any, *, rotation: float = 0.0, noise: float = 0.0, seed: int = 0):
    """Images rotated by ``rotation`` degrees and with Gaussian noise of std ``noise`` (in input units).

    The drift a monitor should catch; the background fills with each image's minimum (its blank value).
    """
    import torch
    from torchvision.transforms.v2 import functional as F

    images = torch.as_tensor(x, dtype=torch.float32)
    if rotation:
        fill = float(images.amin())
        images = F.rotate(images, float(rotation), fill=fill)
    if noise:
        generator = torch.Generator().manual_seed(int(seed))
        images = images + float(noise) * torch.randn(images.shape, generator=generator)
    return images


def plot_monitor(monitor: Monitor, axes: Any = None):
    """Accuracy and confidence per batch above, the drift tests' p-values (log) below; alerts in red."""
    import matplotlib.pyplot as plt

    records = monitor.records
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(8, 4.6), sharex=True)
    xs = [r.batch for r in records]
    axes[0].plot(xs, [r.confidence for r in records], "o-", label="mean confidence")
    accs = [(r.batch, r.accuracy) for r in records if r.accuracy is not None]
    if accs:
        axes[0].plot(*zip(*accs), "s-", label="accuracy (labels known)")
    axes[0].set_ylim(0, 1.02)
    axes[0].legend(fontsize=8)
    floor = 1e-12
    for key, name in (("p_confidence", "KS p, confidence"), ("p_input", "KS p, input")):
        axes[1].semilogy(xs, [max(getattr(r, key), floor) for r in records], "o-", label=name)
    axes[1].axhline(monitor.alpha / 2, color="red", ls="--", lw=1, label=f"alert below {monitor.alpha / 2:g}")
    axes[1].set_ylabel(f"KS p-value\n(< {floor:g} drawn at {floor:g})", fontsize=8)
    for alert_batch in sorted({a.batch for a in monitor.alerts}):
        for ax in axes:
            ax.axvspan(alert_batch - 0.4, alert_batch + 0.4, color="red", alpha=0.12)
    labels = [r.label or str(r.batch) for r in records]
    axes[1].set_xticks(xs, labels, rotation=30, ha="right", fontsize=7)
    axes[1].legend(fontsize=8)
    axes[0].set_title("monitoring: red bands are batches that raised a drift alert", fontsize=9)
    return axes


__all__ = [
    "Alert",
    "BatchRecord",
    "Monitor",
    "as_batch",
    "input_statistic",
    "load_torchscript",
    "plot_monitor",
    "serving_function",
    "shift_images",
]
