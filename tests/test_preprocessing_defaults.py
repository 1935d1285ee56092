"""The tabular preprocessing of the better-by-default model: missing-value indicators and robust
scaling with smooth clipping (``TabularPreprocessor(impute="indicator", scaling="robust")``)."""

import numpy as np
import pandas as pd
import pytest

from numnet.tabular import DataError
from numnet.tabular.preprocessing import TabularPreprocessor


@pytest.fixture
def frame():
    return pd.DataFrame({
        "x": [1.0, np.nan, 3.0, 100.0, 5.0],     # missing in training: gets an indicator
        "z": [1, 2, 3, 4, 5],                    # never missing: no indicator
        "c": ["a", None, "b", "a", "b"],         # text with a missing value: a category
        "d": ["u", "v", "u", "v", "u"],          # text, never missing
    })


def fitted(frame, **kwargs):
    return TabularPreprocessor(impute="indicator", scaling="robust", **kwargs).fit(
        frame, list(frame.columns))


def test_indicators_exactly_for_the_columns_that_had_missing_values(frame):
    pre = fitted(frame)
    assert pre.feature_names_out_ == ["x", "x.missing", "z", "c=a", "c=b", "c=(missing)",
                                      "d=u", "d=v"]
    assert [c.get("indicator", False) for c in pre.columns_] == [True, False, True, False]
    assert pre.feature_groups_ == [("x", 0, 2), ("z", 2, 3), ("c", 3, 6), ("d", 6, 8)]
    X = pre.transform(frame)
    np.testing.assert_array_equal(X[:, 1], [0, 1, 0, 0, 0])       # x.missing
    np.testing.assert_array_equal(X[:, 3:6], [[1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0],
                                              [0, 1, 0]])        # missing is its own category


def test_robust_scaling_and_smooth_clip_against_hand_computed_values(frame):
    pre = fitted(frame)
    # x filled with its median 4 -> [1, 4, 3, 100, 5]: median 4, q25 = 3, q75 = 5, spread 2
    assert pre.columns_[0] == {"name": "x", "kind": "numeric", "fill": 4.0, "mean": 4.0,
                               "scale": 2.0, "clip": 3.0, "indicator": True}
    z = np.array([1, 4, 3, 100, 5.0]) - 4
    z /= 2
    expected = z / np.sqrt(1 + (z / 3) ** 2)                 # 48 -> 2.9942, never past 3
    np.testing.assert_allclose(pre.transform(frame)[:, 0], expected, rtol=1e-15)
    assert expected[3] == pytest.approx(48 / np.sqrt(1 + 256), rel=1e-15)
    # quartiles that coincide: the spread is half the range
    tied = pd.DataFrame({"t": [0.0, 0.0, 0.0, 0.0, 8.0]})
    column = TabularPreprocessor(scaling="robust").fit(tied, ["t"]).columns_[0]
    assert (column["mean"], column["scale"]) == (0.0, 4.0)


def test_missing_at_prediction_time_in_any_column_is_filled(frame):
    pre = fitted(frame)
    new = pd.DataFrame({"x": [np.nan], "z": [np.nan], "c": [None], "d": [None]})
    row = pre.transform(new)[0]
    np.testing.assert_array_equal(row, [0, 1, 0, 0, 0, 1, 0, 0])   # z filled with its median


def test_the_state_round_trips_and_old_states_still_load(frame):
    pre = fitted(frame)
    again = TabularPreprocessor.from_state(pre.get_state())
    np.testing.assert_array_equal(again.transform(frame), pre.transform(frame))
    old = TabularPreprocessor(impute="median").fit(frame, list(frame.columns))
    assert "scaling" not in old.get_state()
    assert all("clip" not in c and "indicator" not in c for c in old.columns_)
    np.testing.assert_array_equal(TabularPreprocessor.from_state(old.get_state()).transform(
        frame), old.transform(frame))
    state = pre.get_state()
    state["columns"][0]["clip"] = 1e300
    with pytest.raises(ValueError, match="invalid preprocessed column"):
        TabularPreprocessor.from_state(state)
    with pytest.raises(ValueError, match="unknown impute or scaling"):
        TabularPreprocessor.from_state({**pre.get_state(), "scaling": "minmax"})


def test_unknown_scaling_is_refused():
    with pytest.raises(DataError, match=r"--scaling must be one of \{'robust', 'standard'\}, "
                                        r"got 'minmax'\."):
        TabularPreprocessor(scaling="minmax")


def test_one_warning_names_the_columns_that_got_an_indicator(frame):
    with pytest.warns(UserWarning) as caught:
        fitted(frame)
    messages = [str(w.message) for w in caught]
    assert ("2 column(s) have missing values, filled with a 0/1 indicator (numbers: the median; "
            "text: a category of its own): 'x', 'c'.") in messages


def test_a_column_of_one_value_and_missing_ones_keeps_its_indicator():
    frame = pd.DataFrame({"k": [0.0, np.nan, 0.0, 0.0, np.nan], "z": [1, 2, 3, 4, 5]})
    pre = fitted(frame)
    assert pre.columns_[0] == {"name": "k", "kind": "numeric", "fill": 0.0, "mean": 0.0,
                               "scale": 1.0, "clip": 3.0, "indicator": True}
    np.testing.assert_array_equal(pre.transform(frame)[:, :2],
                                  [[0, 0], [0, 1], [0, 0], [0, 0], [0, 1]])
