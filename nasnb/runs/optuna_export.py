"""A nasnb run as an Optuna study, so optuna-dashboard, jupyterlab-optuna and Optuna's plots can open it.

Optuna's storages are what those tools read, and Optuna's model maps onto a run one to one: a
nasnb trial becomes an Optuna trial whose ``params`` are the architecture's decisions (each a
categorical distribution over the options of that decision point), whose value is the run's
metric, and whose user attributes keep what Optuna has no field for: the decision record (why
the strategy proposed it), the canonical architecture string, the scalar metrics and the error of
a failed trial. A Trainer's per-epoch validation accuracy becomes the trial's intermediate
values (the dashboards' learning curves). A run searched by NSGA-II exports as a
multi-objective study over its objectives.

    nasnb export-optuna runs/demo --storage sqlite:///runs/demo.db
    optuna-dashboard sqlite:///runs/demo.db

Optuna is an optional dependency (``pip install optuna``); only this module needs it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .load import Run, load_run

if TYPE_CHECKING:
    import optuna

#: user attribute keys every exported trial carries
ATTRS = ("nasnb_id", "nasnb_step", "arch", "decision", "metrics", "status", "error", "fidelity")


def export_optuna(
    run: Run | str | os.PathLike,
    storage: str | Any,
    *,
    study_name: str | None = None,
    metric: str | None = None,
) -> optuna.Study:
    """Write ``run`` into a new study in ``storage`` (a URL such as ``sqlite:///run.db`` or an Optuna storage).

    One Optuna trial per nasnb trial, in the order they finished. Successful trials are
    ``COMPLETE`` with the metric as value (maximised); failed trials, and those whose metric is
    missing or not finite, are ``FAIL`` with the reason in the ``error`` user attribute. The study
    is named after the run directory unless ``study_name`` is given; an existing study of that name
    is an error rather than being mixed with this run. Returns the new study.
    """
    optuna = _require_optuna()
    if not isinstance(run, Run):
        run = load_run(run)
    objectives = _objectives(run, metric)
    name = study_name or run.path.resolve().name
    existing = optuna.study.get_all_study_names(storage) if isinstance(storage, str) else []
    if name in existing:
        raise ValueError(
            f"storage {storage!r} already holds a study named {name!r}; pass another study name "
            f"(--study-name) or another storage"
        )
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        directions=["maximize" if sense == "max" else "minimize" for sense in objectives.values()],
    )
    with warnings.catch_warnings():  # experimental since Optuna 3.2, and what the dashboards label axes with
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(list(objectives))
    study.set_user_attr("nasnb_run", str(run.path))
    study.set_user_attr("nasnb_config", _jsonable(run.config))
    space = run.space
    choices = space.choices
    frozen = [_frozen_trial(optuna, t, space, choices, objectives) for t in run.trials]
    if frozen:
        study.add_trials(frozen)
    return study


def _frozen_trial(optuna: Any, trial: Any, space: Any, choices: Mapping[str, tuple], objectives: dict[str, str]):
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState

    arch = space.parse(trial.arch)
    params, distributions = {}, {}
    for name, value in dict(arch).items():
        options = tuple(_option(o) for o in choices[name])
        params[name] = _option(value)
        distributions[name] = CategoricalDistribution(options)
    values = [_finite(trial, name) for name in objectives]
    ok = trial.ok and all(v is not None for v in values)
    error = trial.error
    if trial.ok and not ok:
        missing = [n for n, v in zip(objectives, values) if v is None]
        error = f"metric(s) {missing} missing or not finite in this trial's metrics"
    start = dt.datetime.fromtimestamp(trial.started) if trial.started else None
    attrs = {
        "nasnb_id": trial.id,
        "nasnb_step": trial.step,
        "arch": trial.arch,
        "decision": _jsonable(trial.decision),
        "metrics": {k: v for k, v in trial.metrics.items() if _is_scalar(v)},
        "status": trial.status,
        "error": error,
        "fidelity": _jsonable(trial.fidelity),
    }
    frozen = optuna.trial.create_trial(
        state=TrialState.COMPLETE if ok else TrialState.FAIL,
        values=values if ok else None,
        params=params,
        distributions=distributions,
        user_attrs=attrs,
        intermediate_values=_curve(trial) if len(objectives) == 1 else None,
    )
    if start is not None:  # when the trial ran, not when it was exported
        frozen.datetime_start = start
        frozen.datetime_complete = start + dt.timedelta(seconds=trial.seconds)
    return frozen


def _curve(trial: Any) -> dict[int, float] | None:
    """Per-epoch validation accuracy (a Trainer's ``curves``) as Optuna intermediate values, by epoch."""
    curves = trial.metrics.get("curves")
    values = curves.get("val_accuracy") if isinstance(curves, dict) else None
    if not isinstance(values, list):
        return None
    return {epoch: float(v) for epoch, v in enumerate(values, start=1) if _is_scalar(v) and math.isfinite(v)}


def _objectives(run: Run, metric: str | None) -> dict[str, str]:
    """Metric name -> "max"/"min": the NSGA-II run's objectives, else the run's (or given) metric."""
    if metric is not None:
        return {metric: "max"}
    strategy = run.config.get("strategy", {})
    objectives = strategy.get("params", {}).get("objectives") if strategy.get("name") == "nsga2" else None
    if strategy.get("name") == "nsga2" and objectives is None:
        objectives = {"accuracy": "max", "params": "min"}  # NSGA2Strategy's default
    return dict(objectives) if objectives else {run.metric: "max"}


def _finite(trial: Any, name: str) -> float | None:
    value = trial.metrics.get(name) if trial.ok else None
    return float(value) if _is_scalar(value) and math.isfinite(value) else None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _option(value: Any) -> Any:
    """An option as Optuna's categorical choices accept it (None, bool, int, float or str)."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def _jsonable(value: Any) -> Any:
    from ..trial import jsonable

    return jsonable(value)


def _require_optuna():
    try:
        import optuna
    except ImportError as err:
        raise ImportError(
            "exporting a run to Optuna needs optuna: pip install optuna (or pip install 'nasnb[optuna]')"
        ) from err
    return optuna


__all__ = ["ATTRS", "export_optuna"]
