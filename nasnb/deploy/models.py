"""A trained model out of a run: load the kept weights of a trial, or retrain it when none were kept.

Compression, export and monitoring all start from "the model a search found". ``load_model`` gives
back a ready ``nn.Module`` in eval mode; ``load_trained`` also returns what the weights file says
about it (architecture, dataset, metrics), which the model card and the compression records need.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from ..evaluation.weights import WEIGHTS_DIR, MissingWeightsError, read_weights, save_weights, weights_name
from ..runs import load_run
from ..spaces import space_from_config
from ..trial import Trial


@dataclass(frozen=True)
class TrainedModel:
    """A trained network and its description: ``record`` is the weights file without the tensors."""

    model: nn.Module
    record: dict[str, Any]
    trial: Trial | None = None
    run_dir: Path | None = None

    @property
    def arch(self):
        """The architecture the weights belong to (parsed in its own space)."""
        return space_from_config(self.record["space"]).parse(self.record["arch"])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.record["input_shape"])


def load_model(run_dir: str | os.PathLike, trial: int | str = "best") -> nn.Module:
    """The trained network of ``trial`` (an id, or ``"best"``) of a run, in eval mode on the CPU.

    Needs weights kept by the search (``Trainer(keep_weights=...)``, ``nasnb search --keep-weights``);
    otherwise raises MissingWeightsError saying how to retrain it (``nasnb.deploy.retrain``).
    """
    return load_trained(run_dir, trial).model


def load_trained(run_dir: str | os.PathLike, trial: int | str = "best") -> TrainedModel:
    """``load_model`` plus the weights file's record and the trial it answers for."""
    run = load_run(run_dir)
    chosen = find_trial(run, trial)
    path = weights_path(run, chosen)
    if trial == "best" and not path.exists():
        chosen, path = _tied_best_with_weights(run, chosen, path)
    if not path.exists():
        kept = sorted(p.name for p in path.parent.glob("*.pt")) if path.parent.is_dir() else []
        raise MissingWeightsError(
            f"trial {chosen.id} of {run.path} has no kept weights ({path.name} is not in {path.parent}; "
            f"{len(kept)} weight file(s) there). Retrain it: nasnb.deploy.retrain({str(run.path)!r}, {chosen.id}), "
            "or search again with Trainer(keep_weights='all') / `nasnb search --keep-weights all`"
        )
    return from_weights_file(path, trial=chosen, run_dir=run.path)


def _tied_best_with_weights(run, best: Trial, path: Path) -> tuple[Trial, Path]:
    """Among trials tied with ``best``, the first whose weights were kept (else ``best`` itself).

    ``keep_weights="best"`` keeps the first of equally accurate models to *finish*; with parallel
    workers that need not be the first in the run log, which is the one ``Run.best`` names.
    """
    score = best.score(run.metric)
    for other in run.trials:
        if other.ok and other.score(run.metric) == score:
            other_path = weights_path(run, other)
            if other_path.exists():
                return other, other_path
    return best, path


def from_weights_file(path: str | os.PathLike, *, trial: Trial | None = None, run_dir: Path | None = None):
    """Rebuild the network saved in one weights file (or a ``state-dict`` export)."""
    from ..nn import build_model

    payload = read_weights(path)
    state = payload.pop("state_dict")
    arch = space_from_config(payload["space"]).parse(payload["arch"])
    model = build_model(arch, payload["input_shape"], payload["num_classes"], **payload["network"])
    model.load_state_dict(state)
    return TrainedModel(model.eval(), payload, trial, run_dir)


def find_trial(run, trial: int | str) -> Trial:
    """A run's trial by id (int or digits) or ``"best"``; errors list what exists."""
    if trial == "best":
        best = run.best()
        if best is None:
            raise ValueError(f"{run.path} has no successful trial, so there is no best model")
        return best
    if isinstance(trial, str) and trial.strip().isdigit():
        trial = int(trial)
    if isinstance(trial, bool) or not isinstance(trial, int):
        raise ValueError(f"trial must be an id (int) or 'best', got {trial!r}")
    found = next((t for t in run.trials if t.id == trial), None)
    if found is None:
        ids = f"0..{len(run.trials) - 1}" if run.trials else "none"
        raise ValueError(f"{run.path} has no trial {trial}; trial ids: {ids}, or 'best'")
    if not found.ok:
        raise ValueError(f"trial {trial} of {run.path} failed ({found.error}); it has no model")
    return found


def weights_path(run, trial: Trial) -> Path:
    """Where the weights of ``trial`` are kept (whether or not they exist)."""
    evaluator = run.config.get("evaluator", {})
    if evaluator.get("name") == "trainer":
        epochs = (trial.fidelity or {}).get("epochs", evaluator["config"]["epochs"])
    elif evaluator.get("name") == "table":  # weights exist only once retrain(..., keep=True) made them
        from ..evaluation.recipes import recipe

        epochs = recipe(evaluator["config"]["dataset"])["epochs"]
    else:
        raise MissingWeightsError(
            f"{run.path} was evaluated by {evaluator.get('name')!r}, whose training nasnb does not know; "
            "train the architecture yourself: Trainer(dataset=..., keep_model=True)(arch).last_model_"
        )
    key = run.space.parse(trial.arch).key
    return run.path / WEIGHTS_DIR / weights_name(key, epochs)


def retrain(
    run_dir: str | os.PathLike, trial: int | str = "best", *, keep: bool = False, **recipe: Any
) -> TrainedModel:
    """Train a run's architecture again, for a run that kept no weights (or at another recipe).

    The recipe is the run's own Trainer configuration (for a run on the benchmark table: the table's
    recipe), with ``recipe`` keyword arguments overriding it (``epochs=20``, ``lr=...``). The same
    recipe and seed give the same weights the search had. ``keep=True`` adds the result to the run's
    weights folder so ``load_model`` finds it next time; it never replaces a file already there.
    """
    from ..data import load_dataset
    from ..evaluation.recipes import recipe as table_recipe
    from ..evaluation.trainer import Trainer

    run = load_run(run_dir)
    chosen = find_trial(run, trial)
    evaluator = run.config.get("evaluator", {})
    if evaluator.get("name") == "trainer":
        config = dict(evaluator["config"])
    elif evaluator.get("name") == "table":
        config = table_recipe(evaluator["config"]["dataset"])
    else:
        raise ValueError(
            f"{run.path} was evaluated by {evaluator.get('name')!r}; nasnb does not know its training recipe. "
            "Train the architecture yourself: Trainer(dataset=..., keep_model=True)(arch).last_model_"
        )
    if keep and recipe:
        raise ValueError(
            f"keep=True stores the model as the run's own (its recipe); with other settings ({sorted(recipe)}) "
            "keep=False and save the returned model yourself"
        )
    config.update(recipe)
    config.update(keep_model=True, keep_weights=None, weights_dir=None)
    trainer = Trainer(**config)
    arch = run.space.parse(chosen.arch)
    result = trainer(arch)
    data = load_dataset(trainer.dataset, subset=trainer.subset, seed=trainer.seed)
    record = trainer.weights_record(arch, data, trainer.epochs, result)
    model = trainer.last_model_.cpu().eval()
    if keep:
        target = run.path / WEIGHTS_DIR / weights_name(record["key"], record["epochs"])
        if target.exists():
            raise FileExistsError(f"{target} exists already; load it with nasnb.load_model({str(run.path)!r}, ...)")
        save_weights(target.parent, "all", record=record, state_dict=model.state_dict(), accuracy=result["accuracy"])
    return TrainedModel(model, record, chosen, run.path)
