"""A nasnb run in TensorBoard's HParams dashboard: one session per trial, decisions as hyperparameters.

TensorBoard's HParams view is made for exactly this picture: a table and parallel-coordinates
plot of many trainings, each with the choices it was made of and the metrics it reached. The
export writes the experiment (every decision point with its options as a discrete domain, every
scalar metric of the run) into ``logdir`` and one run directory per trial (``trial-00003``) with
its decisions, the strategy's kind of proposal (``init``, ``mutation``...), its scalar metrics and
whether it succeeded. Open it with ``tensorboard --logdir <logdir>`` and pick HPARAMS.

The events are written with TensorBoard's own protobufs and event-file writer, so TensorFlow is
not needed; TensorBoard is an optional dependency (``pip install tensorboard``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .load import Run, load_run

#: hyperparameter holding the strategy's reason kind (``decision["kind"]``) next to the decisions
KIND = "proposal.kind"


def export_tensorboard_hparams(run: Run | str | os.PathLike, logdir: str | os.PathLike) -> Path:
    """Write ``run`` as a TensorBoard HParams experiment under ``logdir``; returns the directory.

    Failed trials are sessions with status FAILURE and no metrics, so the dashboard can filter them.
    ``logdir`` must be empty or new: TensorBoard would merge older events into the same table.
    """
    tb = _require_tensorboard()
    if not isinstance(run, Run):
        run = load_run(run)
    root = Path(logdir)
    if root.exists() and any(root.iterdir()):
        raise ValueError(f"logdir {str(root)!r} is not empty; export into a new directory so runs do not mix")
    space = run.space
    metrics = _metric_names(t.metrics for t in run.trials)
    infos = [_hparam_info(tb, name, options) for name, options in space.choices.items()]
    kinds = sorted({str(t.decision.get("kind", "")) for t in run.trials})
    infos.append(_hparam_info(tb, KIND, kinds))
    metric_infos = [tb.api_pb2.MetricInfo(name=tb.api_pb2.MetricName(tag=m), display_name=m) for m in metrics]
    created = min((t.started for t in run.trials if t.started), default=time.time())
    description = f"nasnb run {run.path}: {run.config.get('strategy', {}).get('name')} on {space.name}"
    experiment = tb.api_pb2.Experiment(
        description=description, time_created_secs=created, hparam_infos=infos, metric_infos=metric_infos
    )
    _write(tb, root, [tb.hparams_summary(tb.metadata.EXPERIMENT_TAG, experiment=experiment)])
    for trial in run.trials:
        hparams = {name: _value(v) for name, v in dict(space.parse(trial.arch)).items()}
        hparams[KIND] = str(trial.decision.get("kind", ""))
        start = tb.plugin_data_pb2.SessionStartInfo(
            group_name=f"trial-{trial.id:05d}", start_time_secs=trial.started or created
        )
        for name, value in hparams.items():
            start.hparams[name].CopyFrom(_struct_value(tb, value))
        summaries = [tb.hparams_summary(tb.metadata.SESSION_START_INFO_TAG, session_start_info=start)]
        if trial.ok:
            values = [
                tb.summary_pb2.Summary.Value(tag=m, simple_value=float(v))
                for m, v in trial.metrics.items()
                if m in metrics and _is_number(v)
            ]
            summaries.append(tb.summary_pb2.Summary(value=values))
        end = tb.plugin_data_pb2.SessionEndInfo(
            status=tb.api_pb2.STATUS_SUCCESS if trial.ok else tb.api_pb2.STATUS_FAILURE,
            end_time_secs=(trial.started or created) + trial.seconds,
        )
        summaries.append(tb.hparams_summary(tb.metadata.SESSION_END_INFO_TAG, session_end_info=end))
        _write(tb, root / f"trial-{trial.id:05d}", summaries)
    return root


def _write(tb: Any, directory: Path, summaries: list[Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    writer = tb.EventFileWriter(str(directory))
    try:
        for summary in summaries:
            writer.add_event(tb.event_pb2.Event(wall_time=time.time(), step=0, summary=summary))
    finally:
        writer.close()


def _struct_value(tb: Any, value: Any) -> Any:
    if isinstance(value, bool):
        return tb.struct_pb2.Value(bool_value=value)
    if _is_number(value):
        return tb.struct_pb2.Value(number_value=float(value))
    return tb.struct_pb2.Value(string_value=str(value))


def _hparam_info(tb: Any, name: str, options: Iterable[Any]) -> Any:
    """A decision point as a discrete-domain hyperparameter (strings when its options mix types)."""
    values = [_value(o) for o in options]
    if all(isinstance(v, bool) for v in values):
        kind, wrap = tb.api_pb2.DATA_TYPE_BOOL, lambda v: tb.struct_pb2.Value(bool_value=v)
    elif all(_is_number(v) for v in values):
        kind, wrap = tb.api_pb2.DATA_TYPE_FLOAT64, lambda v: tb.struct_pb2.Value(number_value=float(v))
    else:
        kind, wrap = tb.api_pb2.DATA_TYPE_STRING, lambda v: tb.struct_pb2.Value(string_value=str(v))
    domain = tb.struct_pb2.ListValue(values=[wrap(v) for v in values])
    return tb.api_pb2.HParamInfo(name=name, display_name=name, type=kind, domain_discrete=domain)


def _metric_names(all_metrics: Iterable[dict[str, Any]]) -> list[str]:
    """Scalar metrics in the order they first appear (``accuracy`` first when present)."""
    names: dict[str, None] = {}
    for metrics in all_metrics:
        for name, value in metrics.items():
            if _is_number(value):
                names.setdefault(name, None)
    return sorted(names, key=lambda n: (n != "accuracy", list(names).index(n)))


def _value(option: Any) -> Any:
    return option if isinstance(option, (bool, int, float, str)) else str(option)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _TensorBoard:
    """TensorBoard's protobufs and writer, imported only when an export is asked for."""

    def __init__(self) -> None:
        from google.protobuf import struct_pb2
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.struct_pb2, self.event_pb2, self.summary_pb2 = struct_pb2, event_pb2, summary_pb2
        self.api_pb2, self.metadata, self.plugin_data_pb2 = api_pb2, metadata, plugin_data_pb2
        self.EventFileWriter = EventFileWriter

    def hparams_summary(self, tag: str, **field: Any) -> Any:
        """A Summary holding one HParamsPluginData message, as the plugin's own writers build it."""
        data = self.plugin_data_pb2.HParamsPluginData(**field)
        value = self.summary_pb2.Summary.Value(
            tag=tag, metadata=self.metadata.create_summary_metadata(data), tensor=self.metadata.NULL_TENSOR
        )
        return self.summary_pb2.Summary(value=[value])


def _require_tensorboard() -> _TensorBoard:
    try:
        return _TensorBoard()
    except ImportError as err:
        raise ImportError(
            "exporting a run to TensorBoard needs tensorboard: pip install tensorboard "
            "(or pip install 'nasnb[tensorboard]')"
        ) from err


__all__ = ["KIND", "export_tensorboard_hparams"]
