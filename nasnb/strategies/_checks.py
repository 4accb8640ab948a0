"""Parameter checks of the strategies: the package-wide helpers of ``nasnb._checks``, re-exported.

Kept as a module so the strategies' imports stay short; every check raises the same
``"<Strategy> parameter <name> must be <rule>, got <value>"`` as evaluators and explainers do.
"""

from .._checks import check, check_bool, check_choice, check_float, check_int, check_metric

__all__ = ["check", "check_bool", "check_choice", "check_float", "check_int", "check_metric"]
