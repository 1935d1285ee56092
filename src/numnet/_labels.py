"""Class labels <-> output indices: the one lookup the estimators, ``explain`` and ``trace`` share.

A classifier's ``classes_`` (sorted, as :func:`numpy.unique` leaves them) names its outputs:
label ``classes_[i]`` is output ``i`` (for a binary classifier, ``i == 1`` is the one logit's
positive side). :class:`LabelCodec` maps labels to those indices and back, builds the targets
the training loop sees (one 0/1 column or one-hot rows), and words the refusal of a label that
is not among the classes. Each caller keeps its own sentence for that refusal (below), so the
messages users see do not change with the caller's move to the codec.
"""

import numpy as np

UNSEEN_TARGET = "target must be one of the classes {classes}, got {label!r}."
"""``numnet.explain``'s refusal of a ``target`` the classifier does not have."""
UNSEEN_Y = "y must hold labels in classes_ {classes}, got {label!r}."
"""``numnet.trace``'s refusal of a ``y`` the classifier was not fitted on."""


class LabelCodec:
    """The labels of ``classes`` (sorted) and their indices.

    Parameters
    ----------
    classes : array-like of shape (n_classes,)
        The labels in output order, sorted (a fitted classifier's ``classes_``).

    Examples
    --------
    >>> codec = LabelCodec(["cat", "dog"])
    >>> codec.index(["dog", "cat", "dog"]).tolist()
    [1, 0, 1]
    >>> codec.targets(codec.index(["dog", "cat"]), np.float64).ravel().tolist()
    [1.0, 0.0]
    >>> codec.index(["eel"], unseen=UNSEEN_Y)
    Traceback (most recent call last):
    ...
    ValueError: y must hold labels in classes_ ['cat', 'dog'], got 'eel'.
    """

    def __init__(self, classes):
        self.classes = np.asarray(classes)
        self._lookup = None

    def unseen(self, labels):
        """The labels not among the classes, sorted and once each (a list; [] for none)."""
        return np.setdiff1d(labels, self.classes).tolist()

    def index(self, labels, *, unseen=None):
        """The index of each label in ``classes``, an intp array of the labels' length.

        Parameters
        ----------
        labels : array-like
            Labels, each compared by value (``1`` and ``1.0`` name the same class; ``"1"``
            does not).
        unseen : str or None, default=None
            The ValueError for the first label not among the classes, a template with
            ``{classes}`` (the list of classes) and ``{label}``. None: the caller has
            checked the labels already (:meth:`unseen`), and arrays of one dtype kind are
            looked up by binary search, as fast as the training loop needs.
        """
        labels = np.asarray(labels).reshape(-1)
        if unseen is None:
            return np.searchsorted(self.classes, labels).astype(np.intp, copy=False)
        if self._lookup is None:
            self._lookup = {label: i for i, label in enumerate(self.classes.tolist())}
        values = labels.tolist()
        try:
            return np.array([self._lookup[value] for value in values], dtype=np.intp)
        except (KeyError, TypeError):  # TypeError: an unhashable label (a list)
            label = next(v for v in values if not _hashable(v) or v not in self._lookup)
            raise ValueError(unseen.format(classes=list(self._lookup), label=label)) from None

    def decode(self, index):
        """The labels of indices ``index``."""
        return self.classes[index]

    def targets(self, index, dtype):
        """What the training loop fits: a 0/1 column (2 classes) or one-hot rows (more)."""
        index = np.asarray(index)
        if len(self.classes) == 2:
            return (index == 1).astype(dtype).reshape(-1, 1)
        Y = np.zeros((index.shape[0], len(self.classes)), dtype=dtype)
        Y[np.arange(index.shape[0]), index] = 1
        return Y


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True
