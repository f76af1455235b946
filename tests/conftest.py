import numpy as np
import pytest

import npu


@pytest.fixture(scope="session")
def dev():
    return npu.Device(0)


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(1234)
