import os

# NAS trains many tiny networks: one thread each is fastest and never thrashes a shared CPU.
# Set before torch is imported here or in any subprocess the tests start.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def planted():
    """A cell objective with known per-op effects: conv_3x3 anywhere helps, none on 2->3 hurts."""

    def objective(arch):
        score = sum({"conv_3x3": 1.0, "conv_1x1": 0.6, "skip_connect": 0.3}.get(op, 0.0) for op in arch.values())
        if arch["2->3"] == "none":
            score -= 1.0
        return {"accuracy": max(0.0, score) / 6.0}

    return objective
