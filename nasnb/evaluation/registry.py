"""Evaluators by name, so a run can record its evaluator and ``nasnb resume`` can rebuild it.

An evaluator object that has a ``name`` registered here and a ``get_config()`` is rebuilt
automatically; any other callable is recorded by its qualified name and must be passed again
when resuming.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

EVALUATORS: dict[str, str] = {
    "trainer": "nasnb.evaluation.trainer:Trainer",
    "table": "nasnb.evaluation.table_evaluator:TableEvaluator",
    "proxy": "nasnb.evaluation.proxies:ProxyEvaluator",
}


def describe_evaluator(evaluator: Callable[..., Any]) -> dict[str, Any]:
    """JSON description of an evaluator for run.json."""
    name = getattr(evaluator, "name", None)
    get_config = getattr(evaluator, "get_config", None)
    if isinstance(name, str) and name in EVALUATORS and callable(get_config):
        return {"name": name, "config": get_config()}
    qualname = getattr(evaluator, "__qualname__", type(evaluator).__qualname__)
    module = getattr(evaluator, "__module__", type(evaluator).__module__)
    return {"name": f"{module}:{qualname}", "config": None}


def evaluator_from_description(description: dict[str, Any]) -> Callable[..., Any]:
    """Rebuild a registered evaluator; a plain function has to be passed again by the caller."""
    name = description.get("name")
    if name not in EVALUATORS or description.get("config") is None:
        raise ValueError(
            f"this run used the evaluator {name!r}, which nasnb cannot rebuild by itself; "
            "pass it again: nasnb.resume_search(run_dir, evaluator=your_function)"
        )
    module, _, attr = EVALUATORS[name].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    return cls(**description["config"])
