"""Export a found model for serving: ONNX (checked against onnxruntime), TorchScript, or a state dict.

Every export is checked before it is called done: the ONNX file is run by onnxruntime and the
TorchScript file is loaded back, both on real test inputs, and their outputs must match the
PyTorch model's. A JSON model card is written beside the file (architecture, dataset,
preprocessing, metrics, checks, nasnb version). Nothing existing is ever overwritten: an output
path that exists is an error, and a failed check removes only the files this call wrote.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import FORMATS
from .card import model_card
from .models import TrainedModel, load_trained

ONNX_TOLERANCE = 1e-4
CHECK_SAMPLES = 256


class ExportError(RuntimeError):
    """A model could not be exported, or the exported file does not compute what the model does."""


@dataclass(frozen=True)
class ExportResult:
    """What ``export`` wrote and what it checked."""

    path: Path
    card_path: Path
    format: str
    card: dict[str, Any]


def card_path_for(out: Path) -> Path:
    """The model card beside an export: ``model.onnx`` -> ``model.onnx.card.json``."""
    return out.with_name(out.name + ".card.json")


def export(
    source: TrainedModel | str | os.PathLike,
    out: str | os.PathLike,
    *,
    format: str = "onnx",
    trial: int | str = "best",
    opset: int = 17,
) -> ExportResult:
    """Export a run's trial (``source`` a run directory) or a ``TrainedModel`` to ``out``.

    ``format``: ``"onnx"`` (outputs equal to PyTorch's within 1e-4 under onnxruntime, or
    ExportError), ``"onnx-int8"`` (quantised by onnxruntime, calibrated on training images, with
    compact tensor names; its top-1 predictions must agree with PyTorch's, see ``onnx_int8``),
    ``"torchscript"`` (``torch.jit.script``; ``torch.jit.trace`` as fallback, noted in the card) or
    ``"state-dict"`` (a nasnb weights file, read back by ``from_weights_file``), ``"packed"`` or
    ``"packed-int8"`` (the compact file of ``packed.py``, float32 or int8, read back by
    ``load_packed`` with identical outputs; see ``packed_export``).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {format!r}")
    out = Path(out)
    card_path = card_path_for(out)
    for path in (out, card_path):
        if path.exists():
            raise FileExistsError(f"{path} exists; choose another --out (nasnb never overwrites an export)")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"the folder {out.parent} does not exist; create it or choose another --out")
    trained = source if isinstance(source, TrainedModel) else load_trained(source, trial)
    model = trained.model.cpu().eval()
    inputs = check_inputs(trained)
    written: list[Path] = []
    try:
        if format == "onnx":
            checks = _export_onnx(model, inputs, out, opset, written)
        elif format == "onnx-int8":
            from .onnx_int8 import export_onnx_int8

            checks = export_onnx_int8(model, trained, inputs, out, opset, written)
        elif format in ("packed", "packed-int8"):
            from .packed_export import export_packed

            checks = export_packed(model, trained, inputs, out, written, int8=format == "packed-int8")
        elif format == "torchscript":
            checks = _export_torchscript(model, inputs, out, written)
        else:
            checks = _export_state_dict(trained, out, written)
        card = model_card(trained, out, format, checks, file_accuracy=file_accuracy(out, format, trained))
        with open(card_path, "x", encoding="utf-8") as f:
            written.append(card_path)
            json.dump(card, f, indent=1)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return ExportResult(out, card_path, format, card)


def file_accuracy(path: Path, format: str, trained: TrainedModel) -> float:
    """Test accuracy of the exported file itself, run as a server runs it (onnxruntime, load_packed, ...).

    The card's ``test_accuracy`` is the trained float32 model's; an int8 file rounds every weight and
    activation, so the accuracy it ships is measured on the file, on the whole test split of its dataset.
    """
    from ..data import load_dataset
    from .monitor import serving_function

    record = trained.record
    test = load_dataset(record["dataset"], subset=record.get("subset"), seed=record.get("data_seed", 0)).test
    predict = serving_function(path, format=format)
    correct = 0
    for i in range(0, len(test), 512):
        logits = predict(test.x[i : i + 512].float().numpy())
        correct += int((logits.argmax(1) == test.y[i : i + 512].numpy()).sum())
    return correct / len(test)


def check_inputs(trained: TrainedModel) -> torch.Tensor:
    """Real inputs to check an export on: the first test samples of the model's dataset."""
    from ..data import load_dataset

    record = trained.record
    data = load_dataset(record["dataset"], subset=record.get("subset"), seed=record.get("data_seed", 0))
    return data.test.x[:CHECK_SAMPLES].float()


def _export_onnx(model: torch.nn.Module, inputs: torch.Tensor, out: Path, opset: int, written: list[Path]) -> dict:
    got, want = write_and_run(onnx_bytes(model, inputs, opset), out, written, model, inputs)
    diff = float(abs(got - want).max())
    if not diff <= ONNX_TOLERANCE:
        raise ExportError(
            f"onnxruntime's outputs differ from PyTorch's by up to {diff:.3g} (> {ONNX_TOLERANCE}) on "
            f"{len(inputs)} test inputs; the file was removed. Try another opset (opset={opset + 1})"
        )
    return {"onnxruntime_max_abs_diff": diff, "checked_inputs": len(inputs), "opset": opset}


def write_and_run(data: bytes, out: Path, written: list[Path], model: torch.nn.Module, inputs: torch.Tensor):
    """Write an ONNX file (never over an existing one), then (onnxruntime's outputs, PyTorch's) on ``inputs``."""
    ort = _onnxruntime()
    with open(out, "xb") as f:
        written.append(out)
        f.write(data)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": inputs.numpy()})[0]
    with torch.no_grad():
        want = model(inputs).numpy()
    return got, want


def _onnxruntime():
    try:
        import onnxruntime as ort
    except ImportError as err:
        raise ImportError("ONNX export is checked with onnxruntime: pip install 'nasnb[deploy]'") from err
    return ort


def onnx_bytes(model: torch.nn.Module, inputs: torch.Tensor, opset: int = 17) -> bytes:
    """The float32 ONNX file of ``model`` (input ``input``, output ``logits``, any batch size)."""
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
            torch.onnx.export(
                model,
                (inputs[:2],),
                buffer,
                dynamo=False,
                opset_version=opset,
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            )
    except Exception as err:
        raise ExportError(f"torch.onnx.export failed for this model: {type(err).__name__}: {err}") from err
    return buffer.getvalue()


def _export_torchscript(model: torch.nn.Module, inputs: torch.Tensor, out: Path, written: list[Path]) -> dict:
    method, scripted, script_error = "script", None, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch >= 2.10 points to torch.export
            scripted = torch.jit.script(model)
    except Exception as err:
        script_error = f"{type(err).__name__}: {str(err).strip().splitlines()[0]}"
        warnings.warn(f"torch.jit.script failed ({script_error}); falling back to tracing", stacklevel=3)
        method = "trace"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # TracerWarnings: the check below decides
                scripted = torch.jit.trace(model, inputs[:2], check_trace=False)
        except Exception as trace_err:
            raise ExportError(
                f"this model can be neither scripted ({script_error}) nor traced ({type(trace_err).__name__}: "
                f"{trace_err}); export it with format='onnx' or 'state-dict'"
            ) from trace_err
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(scripted, buffer)
        with open(out, "xb") as f:
            written.append(out)
            f.write(buffer.getvalue())
        loaded = torch.jit.load(str(out))
    with torch.no_grad():
        got, want = loaded(inputs), model(inputs)
    diff = float((got - want).abs().max()) if got.shape == want.shape else float("inf")
    if not diff <= 1e-5:
        raise ExportError(
            f"the {method}d TorchScript module differs from the model by up to {diff:.3g} on real inputs "
            "(a trace keeps only the path of its example input); the file was removed. Use format='onnx'"
        )
    checks = {"torchscript_method": method, "torchscript_max_abs_diff": diff, "checked_inputs": len(inputs)}
    if script_error:
        checks["script_error"] = script_error
    return checks


def _export_state_dict(trained: TrainedModel, out: Path, written: list[Path]) -> dict:
    payload = {**trained.record, "state_dict": trained.model.state_dict()}
    payload.setdefault("format", 1)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with open(out, "xb") as f:
        written.append(out)
        f.write(buffer.getvalue())
    return {"reload": "nasnb.deploy.from_weights_file(path).model"}
