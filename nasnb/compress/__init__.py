"""Compression of found architectures: int8 quantisation, pruning, low rank and distillation.

Each technique takes a trained model and the data and returns a ``CompressionResult`` measured the
same way (serialised bytes, parameters, MACs, CPU latency at batch 1 and 64, test accuracy, per-layer
detail), so techniques can be compared on one chart. Imported lazily (torch on first use).
"""

from __future__ import annotations

from .._lazy import lazy_attributes

METHODS = ("int8", "prune", "prune-unstructured", "lowrank", "distill")  # what `nasnb compress --method` takes

_LAZY = {
    "CompressionResult": ".record",
    "measure": ".record",
    "QuantizationError": ".quantize",
    "quantize_int8": ".quantize",
    "prune_structured": ".prune",
    "prune_unstructured": ".prune",
    "sensitivity": ".prune",
    "low_rank": ".lowrank",
    "rank_sweep": ".lowrank",
    "factorize_conv": ".lowrank",
    "factorize_linear": ".lowrank",
    "DistillationResult": ".distill",
    "distill": ".distill",
    "hinton_loss": ".distill",
    "compress_trial": ".run",
    "TrialCompression": ".run",
    "to_int8": ".quantize",
    "QuantizedPoolByMatmul": ".pooling",
    "matmul_pooling": ".pooling",
    "CompressionAwareEvaluator": ".objective",
    "objective_t": ".objective",
    "pruned_cell_graph": ".explain",
    "edge_sensitivity": ".explain",
    "tradeoff_points": ".explain",
    "distillation_table": ".explain",
    "plot_pruned_cell": ".explain",
    "plot_edge_sensitivity": ".explain",
    "plot_tradeoff": ".explain",
    "plot_distillation": ".explain",
}

__all__ = sorted([*_LAZY, "METHODS"])

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
