import signal

import numpy as np
import pytest
from hypothesis import settings

# Ctrl-C as a terminal delivers it. A shell without job control starts a background command
# (`make test &`, a CI runner's detached job) with SIGINT ignored (POSIX), and numnet's commands
# rightly leave an ignored SIGINT ignored, so the tests that press Ctrl-C (in this process or in
# a child, which inherits an ignored signal but not a handler) would wait for nothing. Restore
# Python's own handler here.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# tests/fuzz holds an atheris harness, run by hand (it needs atheris); pytest skips it.
collect_ignore = ["fuzz"]

# Property-based tests must not fail by chance where a failure blocks a landing: `make test` (and
# so CI) runs hypothesis derandomized, the same examples every time, with no example database.
# `make test-all` passes --hypothesis-profile=explore to draw fresh examples on every run.
# A test's own @settings(max_examples=...) still sets its example count under both profiles.
# No deadline (hypothesis's default fails an example slower than 200 ms): a loaded machine runs
# an example many times slower than an idle one, and a wall-clock budget would fail there.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("explore", derandomize=False, print_blob=True, deadline=None)
settings.load_profile("ci")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param
