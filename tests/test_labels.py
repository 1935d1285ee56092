"""The label codec (numnet._labels): labels <-> indices, the training targets, and the refusal
of an unseen label, worded as each of its users (estimators, explain, trace) words it."""

import re

import numpy as np
import pytest

import numnet as nn
from numnet._labels import UNSEEN_TARGET, UNSEEN_Y, LabelCodec
from numnet.explain import saliency
from numnet.trace import trace


@pytest.mark.parametrize("classes, labels", [
    ([0, 1, 5], [5, 0, 1, 1, 5]),
    (["cat", "dog", "eel"], ["eel", "cat", "dog"]),
    (np.array(["a", "b"], dtype=object), np.array(["b", "b", "a"], dtype=object)),
    ([-1.5, 2.0], [2.0, -1.5]),
])
def test_index_and_decode_round_trip_on_both_lookups(classes, labels):
    codec = LabelCodec(classes)
    checked = codec.index(labels, unseen=UNSEEN_Y)
    fast = codec.index(labels)   # the training loop's binary search, labels checked before
    assert checked.dtype == fast.dtype == np.intp
    np.testing.assert_array_equal(checked, fast)
    np.testing.assert_array_equal(codec.decode(checked), np.asarray(labels))
    assert codec.decode(checked).tolist() == list(labels)


def test_index_compares_by_value_not_by_type():
    codec = LabelCodec([1, 2])
    assert codec.index([2.0, 1], unseen=UNSEEN_Y).tolist() == [1, 0]
    with pytest.raises(ValueError, match=re.escape(
            "y must hold labels in classes_ [1, 2], got '1'.")):
        codec.index(["1"], unseen=UNSEEN_Y)


def test_targets_are_a_column_for_two_classes_and_one_hot_rows_for_more():
    two = LabelCodec(["no", "yes"])
    Y = two.targets(two.index(["yes", "no", "yes"]), np.float32)
    assert Y.dtype == np.float32 and Y.tolist() == [[1.0], [0.0], [1.0]]
    three = LabelCodec([3, 7, 9])
    assert three.targets(np.array([2, 0]), np.float64).tolist() == [[0, 0, 1], [1, 0, 0]]


def test_unseen_lists_each_label_once_sorted_and_the_messages_name_the_first():
    codec = LabelCodec(["b", "d"])
    assert codec.unseen(np.array(["z", "a", "b", "z"])) == ["a", "z"]
    assert codec.unseen(np.array(["d", "b"])) == []
    with pytest.raises(ValueError, match=re.escape(
            "target must be one of the classes ['b', 'd'], got 'z'.")):
        codec.index(["b", "z", "a"], unseen=UNSEEN_TARGET)
    unhashable = np.empty(2, dtype=object)
    unhashable[:] = ["b", [1]]
    with pytest.raises(ValueError, match=re.escape(
            "y must hold labels in classes_ ['b', 'd'], got [1].")):
        codec.index(unhashable, unseen=UNSEEN_Y)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = np.where(X[:, 0] > 0, "up", "down")
    return X, y, nn.LogisticRegression().fit(X, y)


def test_each_consumer_words_an_unseen_label_as_before(fitted):
    X, y, model = fitted
    with pytest.raises(ValueError, match=re.escape(
            "target must be one of the classes ['down', 'up'], got 'sideways'.")):
        saliency(model, X, target="sideways")
    with pytest.raises(ValueError, match=re.escape(
            "y must hold labels in classes_ ['down', 'up'], got 'sideways'.")):
        trace(model, X[:1], np.array(["sideways"]))
    with pytest.raises(ValueError, match=re.escape(
            "y contains labels ['left', 'sideways'] that are not in classes_ ['down', 'up']. "
            "Pass every label in classes= on the first call to partial_fit, or set "
            "warm_start=False to fit a new model.")):
        nn.MLPClassifier((3,), solver="sgd", max_iter=1).partial_fit(
            X, y, classes=["down", "up"]).partial_fit(
            X[:3], np.array(["sideways", "up", "left"]))


def test_consumers_agree_on_the_index_of_a_label(fitted):
    X, y, model = fitted
    # trace's target for "up" is the positive column, as the estimator trains it
    step = trace(model, X[:2], np.array(["up", "down"]))
    Y, index = model._encode_targets(np.array(["up", "down"]), np.float64, first=False)
    assert index.tolist() == [1, 0] and Y.ravel().tolist() == [1.0, 0.0]
    np.testing.assert_array_equal(step.y.ravel(), Y.ravel())
    # explain's sign for "down" is the negative side of the one logit
    down = saliency(model, X[:1], target="down").values
    up = saliency(model, X[:1], target="up").values
    np.testing.assert_allclose(down, -up)
