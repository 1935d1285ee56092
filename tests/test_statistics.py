"""Exact sums behind the standardisation statistics (numnet.tabular.statistics)."""

from fractions import Fraction

import numpy as np
import pytest

from numnet.tabular.statistics import exact_sums, mean_std

CASES = {
    "normal": np.random.default_rng(0).normal(size=70_001) * 1e3,   # two blocks of rows
    "extremes": np.array([5e-324, -5e-324, 1e308, -1e308, 1.5, -2.25, 0.0, -0.0, 3e-310]),
    "cauchy": np.random.default_rng(1).standard_cauchy(5_000),
    "tenths": np.full(10, 0.1),
}


@pytest.mark.parametrize("name", CASES)
def test_exact_sums_equal_the_sums_of_the_values_as_fractions(name):
    values = CASES[name]
    total, squares = exact_sums(values)
    assert total == sum(Fraction(v) for v in values.tolist())
    assert squares == sum(Fraction(v) ** 2 for v in values.tolist())


def test_any_partitioning_gives_the_same_sums():
    values = CASES["normal"]
    whole = exact_sums(values)
    for cuts in ([10, 20_000, 65_536], [1], [35_000]):
        parts = [exact_sums(p) for p in np.split(values, cuts)]
        assert (sum(p[0] for p in parts), sum(p[1] for p in parts)) == whole


def test_mean_and_std_are_numpys_rounded_once():
    values = CASES["normal"]
    mean, std = mean_std(values)
    assert mean == float(sum(Fraction(v) for v in values.tolist()) / values.size)
    np.testing.assert_allclose([mean, std], [values.mean(), values.std()], rtol=1e-14)
