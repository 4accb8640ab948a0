"""Compress a trial of a run with one technique: what ``nasnb compress`` does.

The run directory is only read: compressed models are returned (and exported on request), never
written over the kept weights.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, NamedTuple

from . import METHODS
from .record import CompressionResult, measure


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
    if method == "int8":
        from .quantize import quantize_int8

        return TrialCompression(baseline, quantize_int8(trained.model, data, description=record, **options))
    if method == "prune":
        from .prune import prune_structured

        return TrialCompression(baseline, prune_structured(trained.model, data, description=record, **options))
    if method == "prune-unstructured":
        from .prune import prune_unstructured

        return TrialCompression(baseline, prune_unstructured(trained.model, data, description=record, **options))
    if method == "lowrank":
        from .lowrank import low_rank

        return TrialCompression(baseline, low_rank(trained.model, data, description=record, **options))
    return TrialCompression(baseline, _distill(trained, data, **options))


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
