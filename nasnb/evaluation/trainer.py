"""Real training as an evaluator: build the architecture, train it, report validation accuracy.

The ``Trainer`` is configuration plus one call per architecture: it loads the data, derives the
architecture's seed, builds the network and hands it to the loop. The pieces live in their own
modules and are re-exported here, so ``from nasnb.evaluation.trainer import train_model`` keeps
working: the loop in ``training`` (``train_model``, ``make_optimizer``), scoring in ``scoring``
(``evaluate_model``, ``SplitScore``), device and seed in ``devices`` (``resolve_device``,
``derive_seed``), kept weights in ``weights``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._checks import check, check_bool, check_int
from .._params import ConstructorParams
from ..data import DATASETS, Dataset, load_dataset
from ..nn import build_model, count_macs, count_params
from ..spaces import Architecture, hyperparameters
from .devices import derive_seed, resolve_device
from .scoring import EVAL_BATCH, SplitScore, evaluate_model
from .threads import DEFAULT_THREADS, check_threads, limited_threads
from .training import OPTIMIZERS, _check_training, make_optimizer, train_model
from .weights import KEEP_WEIGHTS, WEIGHTS_DIR, save_weights

__all__ = [
    "EVAL_BATCH",
    "OPTIMIZERS",
    "SplitScore",
    "Trainer",
    "derive_seed",
    "evaluate_model",
    "make_optimizer",
    "resolve_device",
    "train_model",
]


class Trainer(ConstructorParams):
    """Evaluator that trains each architecture from scratch and returns its validation accuracy.

    Configure once, call per architecture: ``Trainer(epochs=5)(arch)``. The constructor only
    stores its arguments (checked when called), so ``Trainer(**t.get_config())`` rebuilds it and a
    run log can record it. Hyperparameters chosen by the architecture (a ``HyperSpace`` part:
    ``lr``, ``batch_size``, ``weight_decay``, ``dropout``) override the trainer's own.

    The result has ``accuracy`` (validation, in [0, 1]), ``val_loss``, ``train_loss``, ``params``,
    ``macs``, ``train_seconds``, ``epochs`` (completed), ``steps``, per-epoch ``curves`` and, with
    ``test=True``, ``test_accuracy``. The same architecture and ``seed`` give the same numbers on
    the same device (model initialisation, shuffling and dropout all derive from them), while
    different architectures get different seeds. The data split depends on ``seed`` only, so every
    architecture of a search is judged on the same validation set.

    ``threads`` sets torch's CPU threads during each call (restored afterwards; None leaves them),
    the same knob every evaluator has (``nasnb.evaluation.threads``). The default is 1 because NAS
    trains many small networks: on a busy 2-core machine two threads per evaluation made them
    5-10x slower than one. For a large model on an idle many-core machine, pass more (or None).

    ``keep_weights="best"`` (or ``"all"``) writes the trained weights of the most accurate
    architecture so far (or of every one) into ``weights_dir``; a Search with a ``run_dir`` sets
    ``weights_dir`` to ``<run_dir>/weights`` for you, and ``nasnb.load_model(run_dir, trial)`` reads
    them back (see ``nasnb.evaluation.weights``).
    """

    name = "trainer"

    def __init__(
        self,
        dataset: str = "digits",
        *,
        epochs: int = 10,
        max_steps: int | None = None,
        seconds: float | None = None,
        batch_size: int = 64,
        lr: float = 0.05,
        optimizer: str = "sgd",
        weight_decay: float = 5e-4,
        subset: int | None = None,
        seed: int = 0,
        device: str = "auto",
        test: bool = False,
        network: dict[str, Any] | None = None,
        keep_model: bool = False,
        threads: int | None = DEFAULT_THREADS,
        keep_weights: str | None = None,
        weights_dir: str | None = None,
    ) -> None:
        self.dataset = dataset
        self.epochs = epochs
        self.max_steps = max_steps
        self.seconds = seconds
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.subset = subset
        self.seed = seed
        self.device = device
        self.test = test
        self.network = network
        self.keep_model = keep_model
        self.threads = threads
        self.keep_weights = keep_weights
        self.weights_dir = weights_dir

    def bind_run(self, run_dir: str | os.PathLike) -> None:
        """Called by a Search with a run directory: weights are kept in ``<run_dir>/weights``."""
        if self.keep_weights is not None and self.weights_dir is None:
            self.weights_dir = str(Path(run_dir).resolve() / WEIGHTS_DIR)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able): ``Trainer(**config)`` is an equal trainer."""
        config = self.get_params()
        config["network"] = dict(self.network) if self.network is not None else None
        return config

    def __call__(self, arch: Architecture, *, epochs: int | None = None) -> dict[str, Any]:
        """Train ``arch`` (for ``epochs``, default the trainer's) and return its metrics."""
        if not isinstance(arch, Architecture):
            raise TypeError(
                f"Trainer needs an Architecture (from space.sample or space.parse), got {type(arch).__name__}"
            )
        self.validate()
        hp = hyperparameters(arch)
        settings = {
            "epochs": self.epochs if epochs is None else epochs,
            "batch_size": hp.get("batch_size", self.batch_size),
            "lr": hp.get("lr", self.lr),
            "weight_decay": hp.get("weight_decay", self.weight_decay),
            "optimizer": self.optimizer,
            "max_steps": self.max_steps,
            "seconds": self.seconds,
        }
        _check_training(self, **settings)
        data = load_dataset(self.dataset, subset=self.subset, seed=self.seed)
        seed = derive_seed(self.seed, arch.key)
        dev = resolve_device(self.device)
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(seed)
            model = build_model(arch, data.input_shape, data.num_classes, **(self.network or {}))
        with limited_threads(self.threads, self):
            params, macs = count_params(model), count_macs(model, data.input_shape)
            result = train_model(model, data, seed=seed, device=dev, test=self.test, **settings)
        if self.keep_model:
            self.last_model_ = model
        if self.keep_weights is not None:
            self._save(arch, model, data, settings["epochs"], result)
        return {**result, "params": params, "macs": macs}

    def _save(self, arch: Architecture, model: nn.Module, data: Dataset, epochs: int, result: dict) -> None:
        record = self.weights_record(arch, data, epochs, result)
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        save_weights(self.weights_dir, self.keep_weights, record=record, state_dict=state, accuracy=result["accuracy"])

    def weights_record(self, arch: Architecture, data: Dataset, epochs: int, result: dict) -> dict[str, Any]:
        """What a weights file says besides the weights: enough to rebuild and describe the model."""
        from ..spaces import space_to_config

        return {
            "arch": str(arch),
            "key": arch.key,
            "space": space_to_config(arch.space),
            "network": dict(self.network or {}),
            "input_shape": list(data.input_shape),
            "num_classes": data.num_classes,
            "classes": list(data.classes),
            "dataset": data.name,
            "subset": self.subset,
            "data_seed": self.seed,
            "epochs": epochs,
            "metrics": {k: v for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
        }

    def validate(self) -> None:
        """Check the configuration now (calls check it anyway), e.g. before starting a long search.

        Raises ValueError naming the parameter, the rule and the value received.
        """
        known = str(self.dataset).strip().lower().replace("_", "-") in DATASETS
        check(self, "dataset", self.dataset, isinstance(self.dataset, str) and known, f"one of {list(DATASETS)}")
        check_int(self, "subset", self.subset, low=2, optional=True)
        check_int(self, "seed", self.seed, low=0)
        check_bool(self, "test", self.test)
        check_bool(self, "keep_model", self.keep_model)
        check(self, "keep_weights", self.keep_weights, self.keep_weights in KEEP_WEIGHTS, "None, 'best' or 'all'")
        dir_ok = self.weights_dir is None or isinstance(self.weights_dir, str)
        check(self, "weights_dir", self.weights_dir, dir_ok, "None or a folder path (str)")
        if self.keep_weights is not None and self.weights_dir is None:
            raise ValueError(
                f"Trainer keep_weights={self.keep_weights!r} needs a folder: give the Search a run_dir "
                "(weights then go to <run_dir>/weights) or pass weights_dir='...'"
            )
        network_ok = self.network is None or isinstance(self.network, dict)
        check(self, "network", self.network, network_ok, "None or a dict of network options such as {'channels': 8}")
        check(self, "device", self.device, isinstance(self.device, str), "'auto', 'cpu' or 'cuda'")
        resolve_device(self.device)
        check_threads(self, self.threads)
        _check_training(
            self,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            optimizer=self.optimizer,
            weight_decay=self.weight_decay,
            max_steps=self.max_steps,
            seconds=self.seconds,
        )
