import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import npu

# CI gates a submission, so its hypothesis runs are reproducible (a fixed derivation of
# examples per test); developers get fresh random examples on every run. Long randomised
# campaigns are separate: `python -m npu.testing.fuzz --seed S`.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def dev():
    return npu.Device(0)


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(1234)
