"""``export(..., format="packed" | "packed-int8")``: the packed file of a trial, checked by loading it back.

The packed format (``packed.py``) is the smallest file nasnb writes for the torch runtime, and the same
format for float32 and int8, so their sizes compare like for like. ``packed-int8`` quantises first
(``nasnb.compress.to_int8``: static int8 convolutions calibrated on ``CALIBRATION_IMAGES`` training images,
matrix-product pooling; ``nasnb compress --method int8`` quantises the same way, so the packed size it reports
is the size of this file); the export is kept only if the file, loaded back, computes exactly what the model computed,
and (int8) predicts what the float32 model predicts on nearly every test input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .models import TrainedModel
from .packed import load_packed, pack

MIN_AGREEMENT = 0.95  # top-1 agreement of the int8 file with the float32 model, as for onnx-int8


def export_packed(
    model: torch.nn.Module, trained: TrainedModel, inputs: torch.Tensor, out: Path, written: list[Path], *, int8: bool
) -> dict[str, Any]:
    """Write the packed file of ``model`` (quantised first if ``int8``) to ``out``; returns the card's checks."""
    from ..compress.quantize import CALIBRATION_IMAGES, to_int8
    from ..compress.record import serialized_bytes
    from ..data import load_dataset
    from .exporter import ExportError

    record = trained.record
    float32_payload = pack(model, record)
    checks: dict[str, Any] = {"float32_packed_bytes": len(float32_payload)}
    deployed, payload = model, float32_payload
    if int8:
        data = load_dataset(record["dataset"], subset=record.get("subset"), seed=record.get("data_seed", 0))
        deployed = to_int8(model, data, calibration=CALIBRATION_IMAGES)
        checks.update(
            calibration_images=min(CALIBRATION_IMAGES, len(data.train)), engine=torch.backends.quantized.engine
        )
        payload = pack(deployed, record)
    with open(out, "xb") as f:
        written.append(out)
        f.write(payload)
    with torch.no_grad():
        want, got, reference = deployed(inputs), load_packed(out)(inputs), model(inputs)
    if not torch.equal(got, want):
        raise ExportError(
            f"the packed file, loaded back, computes other outputs than the model (max difference "
            f"{float((got - want).abs().max()):.3g}); the file was removed. Export format='state-dict' instead"
        )
    agreement = float((got.argmax(1) == reference.argmax(1)).float().mean())
    if int8 and not agreement >= MIN_AGREEMENT:
        raise ExportError(
            f"the int8 model predicts what the float32 model predicts on only {agreement:.1%} of {len(inputs)} "
            f"test inputs (< {MIN_AGREEMENT:.0%}); the file was removed. Export format='packed' (float32) instead"
        )
    checks.update(
        reload_identical=True,
        top1_agreement=agreement,
        checked_inputs=len(inputs),
        torch_save_bytes=serialized_bytes(deployed),
    )
    return checks
