"""Errors an evaluation raises; the search records them as failed trials."""


class EvaluationError(RuntimeError):
    """An evaluation could not produce metrics."""


class DivergedError(EvaluationError):
    """Training produced a non-finite loss (NaN or inf)."""
