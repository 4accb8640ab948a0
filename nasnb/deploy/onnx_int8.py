"""An int8 ONNX export: the smallest file nasnb writes, served by onnxruntime.

``benchmarks/bench_int8.py`` measured where an int8 model's bytes go. In a ``torch.save`` file every
tensor is a zip record of its own, and int8 adds a scale and a zero point per layer, so for a small
cell network the bookkeeping weighs as much as the weights (1.7x smaller than float32 at 8
channels, against 3.9x for the numbers alone). onnxruntime's own static quantisation (QOperator
format) written with short tensor names keeps little beyond the numbers: 3.8x smaller than the
float32 ``torch.save`` file there, at -0.28 points of test accuracy.

Only Conv, Gemm and Add are quantised. With every op onnxruntime can quantise (its default), the
QOperator model of that cell fell to chance accuracy (0.108): quantising ReLU removes 6 of its 7
ReLU nodes by folding each into the range of the tensor before it, and in a cell that tensor also
feeds the pooling and skip edges, which need its negative values (QDQ format kept 0.978).

Serve it with onnxruntime's *basic* graph optimisations (``session_options``; ``serving_function``
does): the default level fuses the float pooling between Dequantize and Quantize into
QLinearAveragePool, which was 54 % of the int8 model's time. Measured at batch 64 on the table's
cell (bench_int8): 10.7 -> 1.9 ms at 8 channels, 12.4 -> 6.4 at 16, 22.8 -> 14.9 at 32. Even so
it is no faster than onnxruntime's float32 (0.37-0.94x, 0.66x, 0.96x): int8 buys bytes here, not speed.

The check is agreement, not equality: an int8 model cannot reproduce float32 logits within 1e-4, so
its top-1 predictions on the check inputs must agree with PyTorch's on at least ``MIN_AGREEMENT``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .exporter import ExportError, _onnxruntime, onnx_bytes, write_and_run
from .models import TrainedModel

MIN_AGREEMENT = 0.95
CALIBRATION_IMAGES = 512
QUANTISED_OPS = ("Conv", "Gemm", "Add")


def session_options(path: str | os.PathLike) -> Any:
    """onnxruntime options to serve ``path``: basic graph optimisation for int8 models, the defaults otherwise."""
    import onnx

    ort = _onnxruntime()
    options = ort.SessionOptions()
    graph = onnx.load(str(path), load_external_data=False).graph
    if any(node.op_type.startswith("QLinear") for node in graph.node):
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    return options


def compact_onnx(model: Any) -> Any:
    """Rename every internal tensor of an ``onnx.ModelProto`` to a short id and drop node names (in place).

    Names are most of a small quantised file (``/body/body.0/edges/edges.0_1/...output_0_scale``);
    the graph, the numbers and the input and output names are unchanged.
    """
    graph = model.graph
    keep = {v.name for v in graph.input} | {v.name for v in graph.output} | {""}
    names: dict[str, str] = {}

    def short(name: str) -> str:
        return name if name in keep else names.setdefault(name, format(len(names), "x"))

    for tensor in graph.initializer:
        tensor.name = short(tensor.name)
    for node in graph.node:
        node.name = ""
        node.input[:] = [short(n) for n in node.input]
        node.output[:] = [short(n) for n in node.output]
    del graph.value_info[:]
    return model


def quantize_onnx(float_onnx: bytes, calibration: np.ndarray) -> bytes:
    """int8 (QOperator) bytes of a float32 ONNX model, calibrated on ``calibration`` inputs, names compacted."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"input": calibration[i : i + 128]} for i in range(0, len(calibration), 128)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    with tempfile.TemporaryDirectory(prefix="nasnb-int8-") as folder:
        source, target = os.path.join(folder, "fp32.onnx"), os.path.join(folder, "int8.onnx")
        Path(source).write_bytes(float_onnx)
        quantize_static(
            source,
            target,
            Batches(),
            quant_format=QuantFormat.QOperator,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=list(QUANTISED_OPS),
        )
        model = compact_onnx(onnx.load(target))
    onnx.checker.check_model(model)
    return model.SerializeToString()


def export_onnx_int8(
    model: torch.nn.Module, trained: TrainedModel, inputs: torch.Tensor, out: Path, opset: int, written: list[Path]
) -> dict[str, Any]:
    """Write the int8 ONNX file of ``model`` to ``out`` and check its predictions; returns the card's checks."""
    import logging

    from ..data import load_dataset

    _onnxruntime()  # the ImportError that says what to install, before any work
    record = trained.record
    data = load_dataset(record["dataset"], subset=record.get("subset"), seed=record.get("data_seed", 0))
    calibration = data.train.x[:CALIBRATION_IMAGES].float().numpy()
    float_onnx = onnx_bytes(model, inputs, opset)
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)  # onnxruntime.quantization logs advice on the root logger
    try:
        int8_onnx = quantize_onnx(float_onnx, calibration)
    except Exception as err:
        raise ExportError(
            f"onnxruntime could not quantise this model ({type(err).__name__}: {err}); export format='onnx' instead"
        ) from err
    finally:
        logger.setLevel(level)
    got, want = write_and_run(int8_onnx, out, written, model, inputs)
    agreement = float((got.argmax(1) == want.argmax(1)).mean())
    if not agreement >= MIN_AGREEMENT:
        raise ExportError(
            f"the int8 model predicts what PyTorch predicts on only {agreement:.1%} of {len(inputs)} test inputs "
            f"(< {MIN_AGREEMENT:.0%}); the file was removed. Export format='onnx' (float32) instead"
        )
    return {
        "top1_agreement": agreement,
        "onnxruntime_max_abs_diff": float(np.abs(got - want).max()),
        "checked_inputs": len(inputs),
        "calibration_images": len(calibration),
        "quantised_ops": list(QUANTISED_OPS),
        "float32_onnx_bytes": len(float_onnx),
        "opset": opset,
    }
