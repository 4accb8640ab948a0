"""Compress a trial of a run with one technique: what ``nasnb compress`` does.

The run directory is only read: compressed models are returned (and exported on request), never
written over the kept weights.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, NamedTuple

from . import METHODS
from .record import BATCHES, CompressionResult, interleaved_latency_ms, measure

if TYPE_CHECKING:
    from ..data import Dataset


class TrialCompression(NamedTuple):
    """What ``compress_trial`` measured: the trial's model as trained, and the technique's result beside it."""

    baseline: CompressionResult
    result: Any  # CompressionResult, or DistillationResult for "distill"


def compress_trial(
    run_dir: str | os.PathLike, trial: int | str = "best", method: str = "int8", **options: Any
) -> TrialCompression:
    """The baseline record and the technique's result for a run's trial; ``options`` go to the technique.

    For ``distill`` the result is a ``DistillationResult``; its student is the teacher's own cell at
    ``student_channels`` (default half the teacher's) unless ``student`` names another architecture.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    from ..data import load_dataset
    from ..deploy.models import load_trained

    trained = load_trained(run_dir, trial)
    record = trained.record
    data = load_dataset(record["dataset"], subset=record.get("subset"), seed=record.get("data_seed", 0))
    # the weights record describes the network, so every record can also give its packed file's size
    # train_epochs: how long the baseline was trained, and never trained further here; a technique that fine-tunes
    # trains on, so its gain over the baseline can be that extra training (the CLI says so)
    settings = {"arch": record["arch"], "train_epochs": record.get("epochs")}
    baseline = measure(trained.model, data, "baseline", settings=settings, description=record)
    if method == "distill":
        return TrialCompression(baseline, _distill(trained, data, **options))
    if method == "int8":
        from .quantize import quantize_int8 as technique
    elif method == "prune":
        from .prune import prune_structured as technique
    elif method == "prune-unstructured":
        from .prune import prune_unstructured as technique
    else:
        from .lowrank import low_rank as technique
    return TrialCompression(
        *timed_in_turn(baseline, technique(trained.model, data, description=record, **options), data)
    )


def timed_in_turn(
    baseline: CompressionResult, result: CompressionResult, data: Dataset
) -> tuple[CompressionResult, CompressionResult]:
    """Both records with their latencies measured again, the two models taking turns call by call.

    Each record's own timing ran minutes apart from the other's; on a shared machine that made the
    ratio the CLI prints swing from 1.0x to 1.9x between runs. Taken in turn, both see the same load.
    """
    (base1, own1), (base64, own64) = (interleaved_latency_ms([baseline.model, result.model], data, b) for b in BATCHES)
    return (
        dataclasses.replace(baseline, latency_ms_b1=base1, latency_ms_b64=base64),
        dataclasses.replace(result, latency_ms_b1=own1, latency_ms_b64=own64),
    )


def _distill(trained, data, *, student: str | None = None, student_channels: int | None = None, **options: Any):
    import torch

    from ..nn import build_model
    from ..spaces import space_from_config
    from .distill import distill

    space = space_from_config(trained.record["space"])
    arch = space.parse(student) if student else trained.arch
    network = dict(trained.record["network"])
    width = network.get("channels", 16)
    network["channels"] = student_channels or max(1, width // 2)
    with torch.random.fork_rng():
        torch.manual_seed(options.get("seed", 0))
        small = build_model(arch, data.input_shape, data.num_classes, **network)
    described = {**trained.record, "arch": str(arch), "network": network}  # the student, for its packed size
    result = distill(trained.model, small, data, description=described, **options)
    # which student this was, so a caller (and the CLI's hint) can save it as a packed file
    return dataclasses.replace(
        result, settings={**result.settings, "student_arch": str(arch), "student_network": network}
    )
