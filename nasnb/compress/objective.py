"""Compression-aware search: judge an architecture by what it will be once deployed.

The seeds' objective is ``T = P + G - C``: performance (accuracy), generalisation (the gap between
training and validation accuracy, so ``G = val - train``, zero for a model that does not overfit and
negative for one that does) and complexity (size or measured latency, scaled by ``lam``). An
architecture that wins in float32 may lose more than others when quantised to int8 — convolutions
with a wide activation range round badly — so with ``quantize=True`` the performance term is the
accuracy *after* int8 post-training quantisation, and a search with ``metric="int8_accuracy"``
ranks candidates by it directly.

    evaluator = CompressionAwareEvaluator(Trainer(epochs=3), lam=0.05, complexity="params", normalize=1e4)
    Search(space, EvolutionStrategy(metric="int8_accuracy"), evaluator, metric="int8_accuracy", ...)
"""

from __future__ import annotations

from typing import Any

from ..spaces import Architecture

COMPLEXITIES = ("params", "macs", "size_bytes", "latency_ms")


def objective_t(performance: float, generalisation: float, complexity: float, lam: float) -> float:
    """``T = P + G - lam * C`` (C already normalised)."""
    return float(performance) + float(generalisation) - float(lam) * float(complexity)


class CompressionAwareEvaluator:
    """Train with ``trainer``, quantise to int8, and report ``objective`` = T = P + G - C beside the usual metrics.

    Adds ``train_accuracy``, ``generalisation`` (val - train accuracy), ``int8_accuracy`` (validation
    accuracy of the int8 model), ``int8_drop``, the chosen complexity (``size_bytes`` is the int8
    state dict as saved; ``latency_ms`` the int8 model's median at batch 64), and ``objective``.
    ``normalize`` divides the complexity (e.g. 1e4 parameters) so ``lam`` reads as accuracy per unit.
    """

    name = "compression-aware"

    def __init__(
        self,
        trainer: Any,
        *,
        lam: float = 0.0,
        complexity: str = "params",
        normalize: float = 1.0,
        quantize: bool = True,
        calibration: int = 256,
    ) -> None:
        self.trainer = trainer
        self.lam = lam
        self.complexity = complexity
        self.normalize = normalize
        self.quantize = quantize
        self.calibration = calibration

    def __call__(self, arch: Architecture, **fidelity: Any) -> dict[str, Any]:
        from ..data import load_dataset
        from ..evaluation.trainer import Trainer, evaluate_model
        from .quantize import to_int8
        from .record import latency_ms, serialized_bytes

        if self.complexity not in COMPLEXITIES:
            raise ValueError(f"complexity must be one of {list(COMPLEXITIES)}, got {self.complexity!r}")
        if not (isinstance(self.normalize, (int, float)) and self.normalize > 0):
            raise ValueError(f"normalize must be a number > 0, got {self.normalize!r}")
        trainer = Trainer(**{**self.trainer.get_config(), "keep_model": True})
        metrics = dict(trainer(arch, **fidelity))
        model = trainer.last_model_.cpu().eval()
        data = load_dataset(trainer.dataset, subset=trainer.subset, seed=trainer.seed)
        metrics["train_accuracy"] = evaluate_model(model, data.train)[1]
        metrics["generalisation"] = metrics["accuracy"] - metrics["train_accuracy"]
        deployed = model
        if self.quantize:
            deployed = to_int8(model, data, calibration=self.calibration)
            metrics["int8_accuracy"] = evaluate_model(deployed, data.val)[1]
            metrics["int8_drop"] = metrics["accuracy"] - metrics["int8_accuracy"]
        if self.complexity == "size_bytes":
            metrics["size_bytes"] = serialized_bytes(deployed)
        elif self.complexity == "latency_ms":
            metrics["latency_ms"] = latency_ms(deployed, data, 64, repeats=10)
        performance = metrics["int8_accuracy"] if self.quantize else metrics["accuracy"]
        cost = metrics[self.complexity] / self.normalize
        metrics["objective"] = objective_t(performance, metrics["generalisation"], cost, self.lam)
        return metrics

    def __repr__(self) -> str:
        return (
            f"CompressionAwareEvaluator({self.trainer!r}, lam={self.lam!r}, complexity={self.complexity!r}, "
            f"normalize={self.normalize!r}, quantize={self.quantize!r})"
        )
