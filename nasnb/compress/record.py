"""The record every compression technique returns, and the measurements that fill it.

Comparing techniques only means something when each is measured the same way: the size of the
model as ``torch.save`` writes its state dict, its parameters and multiply-accumulates, its CPU
latency (median of repeated forward passes, one thread, batch 1 and batch 64) and its accuracy on
the held-out test split, which no technique ever trains or calibrates on.

Two file sizes, because the file format decides much of the answer for a small network. ``size_bytes``
is ``torch.save``, which spends a zip record and a pickle entry on every tensor (and int8 layers add a
scale and a zero point each): an int8 8-channel cell network is only about 1.7x smaller than float32
that way. ``packed_bytes`` is nasnb's own file (``nasnb.deploy.packed``: one header, one buffer), in
which the same int8 model is about 3.4x smaller; it is what ``nasnb export --format packed-int8``
ships. Only ``measure(..., description=...)`` can fill it (the packed file stores the architecture),
and only for a model the file rebuilds exactly; otherwise it is None.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from ..data import Dataset
from ..evaluation.trainer import evaluate_model
from ..nn import count_macs, count_params

BATCHES = (1, 64)


@dataclass(frozen=True)
class CompressionResult:
    """One compressed model and what it costs; ``layers`` holds per-layer (or per-edge) detail.

    ``size_bytes``: the ``torch.save`` file of the state dict; ``tensor_bytes``: the numbers alone;
    ``packed_bytes``: nasnb's packed file, None when it was not measured or the model cannot be packed.
    """

    method: str
    model: nn.Module = field(repr=False, compare=False)
    size_bytes: int
    tensor_bytes: int
    params: int
    nonzero_params: int
    macs: int
    latency_ms_b1: float
    latency_ms_b64: float
    test_accuracy: float
    packed_bytes: int | None = None
    layers: tuple[dict[str, Any], ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Everything but the model, JSON-able (what ``nasnb compress --json`` prints)."""
        out = asdict(self.__class__(**{**self.__dict__, "model": nn.Identity()}))
        out.pop("model")
        out["layers"] = list(out["layers"])
        return out

    def ratios(self, baseline: CompressionResult) -> dict[str, float | None]:
        """How many times smaller and faster than ``baseline``, and the accuracy change in points.

        ``size_ratio`` compares ``torch.save`` files, ``packed_size_ratio`` packed files (None unless
        both records have one), ``tensor_size_ratio`` the numbers alone.
        """
        packed = None
        if baseline.packed_bytes is not None and self.packed_bytes is not None:
            packed = baseline.packed_bytes / self.packed_bytes
        return {
            "size_ratio": baseline.size_bytes / self.size_bytes,
            "packed_size_ratio": packed,
            "tensor_size_ratio": baseline.tensor_bytes / self.tensor_bytes,
            "speedup_b1": baseline.latency_ms_b1 / self.latency_ms_b1,
            "speedup_b64": baseline.latency_ms_b64 / self.latency_ms_b64,
            "accuracy_change_points": 100.0 * (self.test_accuracy - baseline.test_accuracy),
        }


def measure(
    model: nn.Module,
    data: Dataset,
    method: str,
    *,
    params: int | None = None,
    macs: int | None = None,
    layers: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    settings: dict[str, Any] | None = None,
    seconds: float = 0.0,
    repeats: int = 30,
    description: Mapping[str, Any] | None = None,
) -> CompressionResult:
    """Measure ``model`` on ``data``'s test split. ``params``/``macs`` override the counts for models whose
    layers the counters cannot see (int8 modules are no ``nn.Conv2d``: same count, fewer bytes).

    ``description`` says which network ``model`` is (a weights record such as ``TrainedModel.record``,
    or ``nasnb.deploy.packed.model_description(...)``); with it the record also has ``packed_bytes``.
    """
    model.eval()
    return CompressionResult(
        method=method,
        model=model,
        size_bytes=serialized_bytes(model),
        tensor_bytes=tensor_bytes(model),
        params=count_params(model) if params is None else int(params),
        nonzero_params=nonzero_params(model) if params is None else int(params),
        macs=count_macs(model, data.input_shape) if macs is None else int(macs),
        latency_ms_b1=latency_ms(model, data, 1, repeats),
        latency_ms_b64=latency_ms(model, data, 64, repeats),
        test_accuracy=evaluate_model(model, data.test)[1],
        packed_bytes=None if description is None else packed_bytes(model, description, data.test.x[:8]),
        layers=tuple(layers),
        settings=dict(settings or {}),
        seconds=seconds,
    )


def serialized_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: what shipping the weights costs."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return len(buffer.getvalue())


def packed_bytes(model: nn.Module, description: Mapping[str, Any], inputs: torch.Tensor) -> int | None:
    """Bytes of ``model``'s packed file (``nasnb.deploy.pack``), or None when that file would not give it back.

    ``load_packed`` rebuilds the network from the architecture in ``description`` and loads the tensors
    into it. That covers the trained float32 network, its int8 conversion (``to_int8``), unstructured
    pruning (same shapes, zeros stored as numbers), a distilled student of the same space, and, as the
    file then also describes the layers a technique changed (``changed_layers=True``), structured
    pruning's narrower channels and low rank's pairs of thinner layers. It does not cover a model that
    is no network of the description, nor an int8 model of a pruned or factorised one. So the file is
    loaded back and must compute exactly ``model``'s outputs on ``inputs``: a size is only given for a
    file nasnb can ship.
    """
    from ..deploy.packed import load_packed, pack

    try:
        with torch.random.fork_rng(devices=[]):  # building networks initialises weights: keep the caller's seed
            payload = pack(model, description, changed_layers=True)
            restored = load_packed(payload)
        with torch.no_grad():
            same = torch.equal(restored(inputs), model(inputs))
    except (ValueError, TypeError, KeyError, RuntimeError):  # PackedFormatError is a ValueError
        return None
    return len(payload) if same else None


def tensor_bytes(model: nn.Module) -> int:
    """Bytes of the state dict's tensors alone (int8 weights count 1 byte each), without file overhead.

    For a tiny network the per-tensor overhead of a ``torch.save`` file (names, scales, zero points)
    outweighs the weights themselves, so both sizes are reported.
    """

    def size(value: Any) -> int:
        if isinstance(value, torch.Tensor):
            return value.numel() * value.element_size()
        if isinstance(value, (tuple, list)):
            return sum(size(v) for v in value)
        return 0

    return int(sum(size(v) for v in model.state_dict().values()))


def nonzero_params(model: nn.Module) -> int:
    """Trainable parameters that are not exactly zero (what unstructured pruning reduces)."""
    return int(sum(int(torch.count_nonzero(p)) for p in model.parameters() if p.requires_grad))


@torch.no_grad()
def latency_ms(model: nn.Module, data: Dataset, batch: int, repeats: int = 30) -> float:
    """Median milliseconds of one forward pass on ``batch`` test inputs, on one CPU thread."""
    return interleaved_latency_ms([model], data, batch, repeats)[0]


@torch.no_grad()
def interleaved_latency_ms(models: Sequence[nn.Module], data: Dataset, batch: int, repeats: int = 30) -> list[float]:
    """Median milliseconds per forward pass of each model, timed in turn within every repeat (one CPU thread).

    Timing two models one after the other on a shared machine can credit one with the other's quiet
    minute; taking turns call by call exposes both to the same load, so their ratio holds.
    """
    x = data.test.x[:batch]
    if len(x) < batch:
        x = x.repeat((batch + len(x) - 1) // len(x), *([1] * (x.dim() - 1)))[:batch]
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for model in models:
            for _ in range(3):
                model(x)
        times: list[list[float]] = [[] for _ in models]
        for _ in range(repeats):
            for model, log in zip(models, times):
                start = time.perf_counter()
                model(x)
                log.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)
    return [1000.0 * statistics.median(log) for log in times]
