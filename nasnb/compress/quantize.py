"""int8 post-training quantisation with torch's own tooling: static for convolutions, dynamic for linear layers.

Convolutions dominate a cell network's compute, and their activations have a range that a few
hundred calibration images pin down, so they are quantised statically (weights and activations in
int8, with observers calibrated on training images). The classifier's linear layer is quantised
dynamically (int8 weights, activation range measured per batch), the usual choice for linear layers.
FX graph mode does both in one pass and also quantises the cell's residual sums (``a + b`` becomes
a quantised add), which eager-mode quantisation would need hand-written ``FloatFunctional``s for.
After conversion, the average poolings run as one matrix product each (``pooling="matmul"``, see
``pooling.py``): torch's int8 pooling is slow below 16 channels, where the course's cells live.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..data import Dataset
from ..nn import count_macs, count_params
from .pooling import matmul_pooling, pooling_kind
from .record import BATCHES, CompressionResult, interleaved_latency_ms, measure

POOLINGS = ("matmul", "torch")  # how an int8 model pools: as a matrix product, or with torch's int8 kernel
# training images the activation ranges are calibrated on: one number for `nasnb compress --method int8` and
# `nasnb export --format packed-int8`, so the packed size compress reports is the size of the file export writes
CALIBRATION_IMAGES = 256


class QuantizationError(RuntimeError):
    """A model could not be quantised; the message says why and what to try."""


def default_engine() -> str:
    """The quantised kernel library for this CPU: fbgemm on x86, else qnnpack (ARM).

    Not torch's own ``x86`` default: measured here (bench_compress), its oneDNN path made a small
    cell network 10x *slower* at batch 1, while fbgemm matched or beat float32 at batch 1 and 64.
    """
    engines = torch.backends.quantized.supported_engines
    for engine in ("fbgemm", "x86", "qnnpack"):
        if engine in engines:
            return engine
    raise QuantizationError(f"this torch build has no quantised CPU engine (supported: {engines})")


def quantize_int8(
    model: nn.Module,
    data: Dataset,
    *,
    calibration: int = CALIBRATION_IMAGES,
    engine: str | None = None,
    pooling: str = "matmul",
    description: Mapping[str, Any] | None = None,
) -> CompressionResult:
    """An int8 copy of ``model`` (left unchanged), calibrated on ``calibration`` training images and measured.

    ``layers`` says for every conv and linear layer how it was quantised. Raises QuantizationError
    for a model FX cannot trace or torch cannot quantise. Sets ``torch.backends.quantized.engine``
    to ``engine`` (default: ``default_engine()``), which the returned model needs to run.
    When the int8 model pools by matrix product, ``settings`` also holds ``float32_same_pooling_ms_b1``
    and ``_b64``: float32 pooled the same way, the like-for-like speed reference (the pooling change
    alone makes float32 about 2x faster at 8 channels), and ``like_for_like_speedup_b1``/``_b64``, the
    int8 model's speed-up over it, the two timed in turn.
    With ``description`` (the trial's weights record) the record also has ``packed_bytes``, the size of
    the int8 file ``nasnb export --format packed-int8`` writes (see ``record.measure``).
    """
    start = time.perf_counter()
    float_model = copy.deepcopy(model).cpu().eval()
    params, macs = count_params(float_model), count_macs(float_model, data.input_shape)
    layers = [
        {
            "layer": name,
            "type": type(m).__name__,
            "quantised": "int8 static" if isinstance(m, nn.Conv2d) else "int8 dynamic",
        }
        for name, m in float_model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    quantised = to_int8(float_model, data, calibration=calibration, engine=engine, pooling=pooling)
    settings: dict[str, Any] = {
        "engine": torch.backends.quantized.engine,
        "calibration_images": min(calibration, len(data.train)),
        "pooling": pooling,
    }
    if pooling_kind(quantised) == "matmul":
        # the int8 model pools by matrix product, which speeds float32 up as much: time float32 pooled
        # alike too, so a speed-up is not credited to int8 that the pooling earned
        same = matmul_pooling(float_model)
        for batch in BATCHES:  # in turn with the int8 model, so the ratio is not the machine's load
            reference, own = interleaved_latency_ms([same, quantised], data, batch)
            settings[f"float32_same_pooling_ms_b{batch}"] = reference
            settings[f"like_for_like_speedup_b{batch}"] = reference / own
    return measure(
        quantised,
        data,
        "int8",
        params=params,
        macs=macs,
        layers=layers,
        settings=settings,
        seconds=time.perf_counter() - start,
        description=description,
    )


def to_int8(
    model: nn.Module,
    data: Dataset,
    *,
    calibration: int = CALIBRATION_IMAGES,
    engine: str | None = None,
    pooling: str = "matmul",
) -> nn.Module:
    """The int8 module alone (no measurements): what ``quantize_int8`` and a compression-aware search use.

    ``pooling="matmul"`` runs each average pooling as dequantise -> matrix product -> quantise
    (``QuantizedPoolByMatmul``); ``"torch"`` keeps torch's int8 pooling kernel.
    """
    if not isinstance(calibration, int) or isinstance(calibration, bool) or calibration < 1:
        raise ValueError(f"calibration must be an int >= 1 (training images), got {calibration!r}")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {list(POOLINGS)}, got {pooling!r}")
    engine = engine or default_engine()
    if engine not in torch.backends.quantized.supported_engines:
        raise ValueError(f"engine must be one of {torch.backends.quantized.supported_engines}, got {engine!r}")
    try:
        count = min(calibration, len(data.train))
        batches = [data.train.x[i : min(i + 128, count)] for i in range(0, count, 128)]
        quantised = fx_int8(model, data.train.x[:2], batches, engine=engine, pooling=pooling)
        with torch.no_grad():
            quantised(data.train.x[:2])  # a model that converts but cannot run fails here, not later
    except Exception as err:
        raise QuantizationError(
            f"torch could not quantise this {type(model).__name__} to int8 ({type(err).__name__}: {err}). "
            "Quantisation needs a model torch.fx can trace (no data-dependent Python control flow) made of "
            "layers with int8 kernels (Conv2d, Linear, BatchNorm, ReLU, pooling, adds); try pruning or low rank instead"
        ) from err
    return quantised


def fx_int8(
    model: nn.Module, example: torch.Tensor, batches: list[torch.Tensor], *, engine: str, pooling: str = "matmul"
) -> nn.Module:
    """FX's int8 conversion of a copy of ``model``, its observers fed ``batches``; no checks, no error wrapping.

    With no batches the observers keep placeholder ranges: the model has the right structure, and
    loading a calibrated int8 state dict into it gives back the calibrated model (what
    ``nasnb.deploy.packed`` does to rebuild an int8 file). ``example`` is one input batch for tracing.
    """
    from torch.ao.quantization import default_dynamic_qconfig, get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = engine
    float_model = copy.deepcopy(model).cpu().eval()
    mapping = get_default_qconfig_mapping(engine).set_object_type(nn.Linear, default_dynamic_qconfig)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FX quantisation's deprecation notices, and uncalibrated observers
        prepared = prepare_fx(float_model, mapping, (example,))
        with torch.no_grad():
            for batch in batches:
                prepared(batch)
        quantised = convert_fx(prepared)
    return matmul_pooling(quantised, quantized=True) if pooling == "matmul" else quantised
