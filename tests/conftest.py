import numpy as np
import pytest

# tests/fuzz holds an atheris harness, run by hand (it needs atheris); pytest skips it.
collect_ignore = ["fuzz"]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param
