"""The playground's data: six seeded 2-D data sets, an uploaded CSV, and the train/test split.

Every point lies in the square [-1, 1]²: the plane the page draws. A classification label is
0 or 1 (the targets of :class:`numnet.BinaryCrossEntropy`), a regression target a number.
Everything is drawn from ``numpy.random.default_rng(random_state)``, so the same arguments give
the same arrays: the "Copy code" script calls :func:`make_dataset` as the server does.

Examples
--------
>>> data = make_dataset("xor", n_samples=200, noise=0.1, train_fraction=0.5, random_state=0)
>>> data.X_train.shape, data.X_test.shape, data.task
((100, 2), (100, 2), 'classification')
>>> sorted(set(data.y_train.ravel().tolist()))
[0.0, 1.0]
"""

import csv
import io
from dataclasses import dataclass

import numpy as np

from .._validation import check_float, check_int

CLASSIFICATION = ("circles", "xor", "gaussians", "spiral", "moons")
REGRESSION = ("plane",)
DATASETS = (*CLASSIFICATION, *REGRESSION)
"""The generated data sets, in the order the page lists them."""

MAX_UPLOAD_BYTES = 1_000_000
MAX_UPLOAD_ROWS = 5_000


class UploadError(ValueError):
    """An uploaded CSV that cannot be used; the message says what to change."""


@dataclass
class Dataset:
    """Train and test points of the plane.

    Attributes
    ----------
    X_train, X_test : ndarray of shape (n, 2)
    y_train, y_test : ndarray of shape (n, 1)
    task : {"classification", "regression"}
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str


def make_points(name, n_samples=500, noise=0.1, random_state=0):
    """All the points of a generated data set, before the split.

    Parameters
    ----------
    name : {"circles", "xor", "gaussians", "spiral", "moons", "plane"}
    n_samples : int, default=500
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to each coordinate (for "plane": to the
        target), in units of the plane's half-width; 0 to 0.5.
    random_state : int, default=0

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
    """
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {list(DATASETS)}, got {name!r}.")
    n = check_int(n_samples, "n_samples", min_value=20, max_value=MAX_UPLOAD_ROWS)
    noise = check_float(noise, "noise", min_value=0, max_value=0.5)
    rng = np.random.default_rng(random_state)
    half = n // 2
    labels = np.r_[np.zeros(half), np.ones(n - half)]
    if name == "circles":
        radius = np.r_[rng.uniform(0, 0.35, half), rng.uniform(0.6, 0.9, n - half)]
        angle = rng.uniform(0, 2 * np.pi, n)
        X = radius[:, None] * np.c_[np.cos(angle), np.sin(angle)]
        y = 1 - labels  # the inner disc is class 1
    elif name == "xor":
        X = rng.uniform(-0.9, 0.9, (n, 2))
        X += np.sign(X) * 0.05  # a small gap along the axes
        y = (X[:, 0] * X[:, 1] > 0).astype(float)
    elif name == "gaussians":
        centre = np.where(labels[:, None] == 1, 0.45, -0.45)
        X = centre + rng.normal(0, 0.18, (n, 2))
        y = labels
    elif name == "spiral":
        t = rng.uniform(0, 1, n)
        angle = 1.25 * t * 2 * np.pi + np.pi * labels
        X = 0.85 * t[:, None] * np.c_[np.sin(angle), np.cos(angle)]
        y = labels
    elif name == "moons":
        angle = rng.uniform(0, np.pi, n)
        upper = np.c_[np.cos(angle), np.sin(angle)]
        lower = np.c_[1 - np.cos(angle), 0.5 - np.sin(angle)]
        X = np.where(labels[:, None] == 0, upper, lower)
        X = (X - [0.5, 0.25]) * 0.6
        y = labels
    else:  # plane
        X = rng.uniform(-0.9, 0.9, (n, 2))
        y = 0.5 * X[:, 0] - 0.4 * X[:, 1]
        y = y + noise * rng.normal(size=n)
        return X, y
    X = np.clip(X + noise * rng.normal(size=X.shape), -1.0, 1.0)
    return X, y


def split(X, y, train_fraction=0.5, random_state=0, *, task="classification"):
    """Shuffle the rows with the seed and cut them into train and test sets.

    Parameters
    ----------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,)
    train_fraction : float, default=0.5
        Share of the rows used for training, 0.1 to 0.9; each side keeps at least one row.
    random_state : int, default=0
    task : {"classification", "regression"}, default="classification"

    Returns
    -------
    Dataset
    """
    fraction = check_float(train_fraction, "train_fraction", min_value=0.1, max_value=0.9)
    rng = np.random.default_rng([int(random_state), 1])  # a stream apart from the points'
    order = rng.permutation(X.shape[0])
    n_train = min(max(int(round(fraction * X.shape[0])), 1), X.shape[0] - 1)
    train, test = order[:n_train], order[n_train:]
    column = np.asarray(y, dtype=np.float64).reshape(-1, 1)
    X = np.ascontiguousarray(X, dtype=np.float64)
    return Dataset(X[train], column[train], X[test], column[test], task)


def make_dataset(name, *, n_samples=500, noise=0.1, train_fraction=0.5, random_state=0):
    """A generated data set, split: what the playground trains and tests on.

    Parameters
    ----------
    name : {"circles", "xor", "gaussians", "spiral", "moons", "plane"}
    n_samples, noise, random_state
        As for :func:`make_points`.
    train_fraction : float, default=0.5
        As for :func:`split`.

    Returns
    -------
    Dataset
    """
    X, y = make_points(name, n_samples, noise, random_state)
    task = "regression" if name in REGRESSION else "classification"
    return split(X, y, train_fraction, random_state, task=task)


def parse_csv(data):
    """Read an uploaded CSV: two feature columns and a label (or target) column.

    A header line is optional. A last column with two distinct values makes a classification
    (the smaller value, in sorted order, is class 0); any other numbers make a regression. Each
    feature is divided by its largest absolute value, so that the points fill [-1, 1]².

    Parameters
    ----------
    data : bytes or str

    Returns
    -------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,)
    task : {"classification", "regression"}
    classes : list of str or None
        The two labels in the file, class 0 first (classification only).

    Raises
    ------
    UploadError
        One message naming the first problem and how to fix it.
    """
    if isinstance(data, bytes):
        if len(data) > MAX_UPLOAD_BYTES:
            raise UploadError(f"The file is {len(data):,} bytes; the playground takes up to "
                              f"{MAX_UPLOAD_BYTES:,}. Upload at most {MAX_UPLOAD_ROWS:,} rows.")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UploadError("The file is not UTF-8 text. Save it as a CSV file (UTF-8) with "
                              "three columns: x1, x2, label.") from None
    reader = csv.reader(io.StringIO(data, newline=""))  # lines may end in \n, \r\n or \r
    try:
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as error:  # a field over csv's limit of 131,072 characters
        if "field limit" not in str(error):
            raise UploadError(f"The file is not a CSV the playground can read (line "
                              f"{reader.line_num}: {error}). Save it as a CSV file with three "
                              "columns: x1, x2, label.") from None
        raise UploadError(f"A field must be at most {csv.field_size_limit():,} characters, got "
                          f"a longer one on line {reader.line_num}. Upload three columns: x1, "
                          "x2 (numbers) and the label or target.") from None
    if rows and not _numeric(rows[0][:2]):
        rows = rows[1:]  # a header
    if len(rows) < 4:
        raise UploadError(f"The file has {len(rows)} data row(s); upload at least 4 rows of "
                          "three columns: x1, x2, label.")
    if len(rows) > MAX_UPLOAD_ROWS:
        raise UploadError(f"The file has {len(rows):,} rows; the playground takes up to "
                          f"{MAX_UPLOAD_ROWS:,}. Upload a sample of them.")
    X = np.empty((len(rows), 2))
    labels = []
    for number, row in enumerate(rows, start=1):
        if len(row) != 3:
            raise UploadError(f"Row {number} has {len(row)} column(s); every row needs three: "
                              "x1, x2 (numbers) and the label or target.")
        for j in range(2):
            try:
                X[number - 1, j] = float(row[j])
            except ValueError:
                raise UploadError(f"Row {number}, column {j + 1} is {row[j]!r}, not a number; "
                                  "the first two columns must be numbers.") from None
        labels.append(row[2].strip())
    if not np.all(np.isfinite(X)):
        raise UploadError("The features must be finite numbers; remove the rows with inf or "
                          "nan.")
    scale = np.abs(X).max(axis=0)
    X = X / np.where(scale > 0, scale, 1.0)
    distinct = sorted(set(labels), key=_sort_key)
    if len(distinct) == 2:
        return X, np.array([float(label == distinct[1]) for label in labels]), \
            "classification", distinct
    if len(distinct) < 2:
        raise UploadError(f"The label column holds one value ({distinct[0]!r}); a "
                          "classification needs two labels, a regression varying numbers.")
    try:
        y = np.array([float(label) for label in labels])
    except ValueError:
        raise UploadError(f"The last column has {len(distinct)} different labels; the "
                          "playground classifies two, or regresses on numbers.") from None
    if not np.all(np.isfinite(y)):
        raise UploadError("The target column must hold finite numbers; remove the rows with "
                          "inf or nan.")
    return X, y, "regression", None


def _numeric(cells):
    try:
        [float(cell) for cell in cells]
    except ValueError:
        return False
    return True


def _sort_key(label):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)
