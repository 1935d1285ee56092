"""Tabular input layers: per-feature scale, periodic numeric and categorical embeddings.

Same contract as :mod:`numnet.layers` (batch-first 2-D arrays, gradients overwritten in the
views that :class:`numnet.Sequential` binds, work arrays from ``Layer._buffer``). The classes
register themselves (:func:`numnet.layers.register_layer`), so model files can name them;
``import numnet`` imports this module, so the registry is complete before any file is read.
"""

import numpy as np

from ._validation import check_float, check_int, check_option
from .layers import Layer, register_layer

_TWO_PI = 2.0 * np.pi


def _init_scales(array, init, rng):
    """Fill ``array`` with ones, random signs (+-1, p = 1/2) or N(0, 1) draws."""
    if init == "ones":
        array[...] = 1
    elif init == "random_signs":
        array[...] = 2.0 * rng.integers(0, 2, size=array.shape) - 1.0
    else:
        array[...] = rng.normal(size=array.shape)


@register_layer
class Scale(Layer):
    """A learnable scale per input column (RealMLP's "scaling layer").

    Forward and backward, for X of shape (n_samples, n_in), s of shape (n_in,)::

        Y  = X * s                  (s broadcast over the rows)
        ds = sum(dY * X, axis=0)    dX = dY * s

    Parameters
    ----------
    init : {"ones", "random_signs", "normal"}, default="ones"
        How s starts. RealMLP starts at 1 (the identity) and gives s a larger learning rate;
        ``"random_signs"`` and ``"normal"`` are TabM-mini's adapter initialisations (a Scale
        over an :class:`numnet.ensemble.EnsembleFork` output is TabM-mini's adapter).

    Notes
    -----
    s is not penalised: a weight decay would pull the scale towards 0, not towards 1.

    References
    ----------
    D. Holzmueller, L. Grinsztajn, I. Steinwart. Better by Default: Strong Pre-Tuned MLPs and
    Boosted Trees on Tabular Data. NeurIPS 2024, arXiv:2407.04491.
    """

    def __init__(self, *, init="ones"):
        self.init = check_option(init, "init", {"ones", "random_signs", "normal"})

    def param_shapes(self, n_in):
        return {"s": (n_in,)}

    def reset_parameters(self, rng):
        _init_scales(self.params["s"], self.init, rng)

    def forward(self, X, *, training=False):
        self._X = X
        s = self.params["s"]
        out = self._buffer("Y", X.shape, s.dtype) if training else None
        return np.multiply(X, s, out=out)

    def backward(self, dY, *, input_grad=True):
        s = self.params["s"]
        np.einsum("ij,ij->j", dY, self._X, out=self.grads["s"])
        if not input_grad:
            return None
        return np.multiply(dY, s, out=self._buffer("dX", dY.shape, s.dtype))

    def get_config(self):
        return {"init": self.init}


def _check_columns(columns, name):
    if columns is None:
        return None
    if not isinstance(columns, (list, tuple)) or not columns:
        raise ValueError(f"{name} must be a non-empty list of column indices, got {columns!r}.")
    checked = [check_int(c, f"{name}[{i}]", min_value=0) for i, c in enumerate(columns)]
    if len(set(checked)) != len(checked):
        raise ValueError(f"{name} must not repeat a column, got {list(columns)!r}.")
    return checked


def _check_within(columns, n_in, name):
    if max(columns) >= n_in:
        raise ValueError(
            f"{name} must be column indices < n_in = {n_in}, got {max(columns)}. The layer's "
            "input has fewer columns than the configuration expects."
        )


@register_layer
class PeriodicEmbedding(Layer):
    """Periodic embeddings of numeric columns (Gorishniy et al. 2022 "PLR"; RealMLP's "PBLD").

    Each embedded column j gets k learned frequencies c_j and its own small linear map.
    Forward, for X of shape (n_samples, n_in) whose embedded columns are X_e (n_samples, d)::

        A[j, i, f] = 2 pi * c[j, f] * X_e[i, j]                   c: (d, k)
        P[j, i]    = [sin(A[j, i]), cos(A[j, i])]                 P: (d, n_samples, 2k)
        Z[j]       = P[j] @ W[j] + b[j]                            W: (d, 2k, n_out)  b: (d, n_out)
        E          = relu(Z)  (or Z with activation="identity")
        Y          = [X[:, other columns], (X_e if include_input), E as (n_samples, d * n_out)]

    Feature j's n_out outputs are contiguous in Y (columns j*n_out ... j*n_out + n_out - 1 of
    the embedded block). Backward, given dE = dL/dE (times the ReLU mask E > 0)::

        db[j] = sum_i dE[j, i]          dW[j] = P[j].T @ dE[j]          dP[j] = dE[j] @ W[j].T
        dA    = dP_sin * cos(A) - dP_cos * sin(A)
        dc[j, f]  = 2 pi * sum_i dA[j, i, f] * X_e[i, j]
        dX_e[i, j] = 2 pi * sum_f dA[j, i, f] * c[j, f]   (+ dY of the raw copy, if kept)

    Other columns pass through unchanged (dX = dY there). The d per-feature maps are one batched
    matmul over a leading feature axis: no Python loop over features.

    Parameters
    ----------
    n_frequencies : int, default=16
        k, the frequencies per feature. Must be >= 1.
    sigma : float, default=1.0
        Frequencies start from N(0, sigma**2), truncated at +-3 sigma (as rtdl_num_embeddings).
        The most important hyperparameter: RealMLP uses 0.1, TabM's tuned values span 0.01-100.
        Must be > 0.
    n_out : int, default=8
        Output dimension per feature. Must be >= 1.
    activation : {"relu", "identity"}, default="relu"
        ``"relu"`` is PLR; ``"identity"`` is the "PL" variant.
    include_input : bool, default=False
        Also pass each embedded column's raw value through (RealMLP's PBLD concatenates it).
    columns : list of int or None, default=None
        Which input columns to embed (None: all). The others pass through first, in order.

    References
    ----------
    Y. Gorishniy, I. Rubachev, A. Babenko. On Embeddings for Numerical Features in Tabular Deep
    Learning. NeurIPS 2022, arXiv:2203.05556.
    """

    penalized = ("W",)
    _cache = ("_X_e", "_P", "_E")  # what forward keeps for backward

    def __init__(self, n_frequencies=16, sigma=1.0, n_out=8, *, activation="relu",
                 include_input=False, columns=None):
        self.n_frequencies = check_int(n_frequencies, "n_frequencies", min_value=1)
        self.sigma = check_float(sigma, "sigma", min_value=0, include_min=False)
        self.n_out = check_int(n_out, "n_out", min_value=1)
        self.activation = check_option(activation, "activation", {"relu", "identity"})
        self.include_input = bool(include_input)
        self.columns = _check_columns(columns, "columns")

    def _split(self, n_in):
        if self.columns is None:
            return list(range(n_in)), []
        _check_within(self.columns, n_in, "columns")
        chosen = set(self.columns)
        return list(self.columns), [c for c in range(n_in) if c not in chosen]

    def param_shapes(self, n_in):
        embedded, _ = self._split(n_in)
        d, k = len(embedded), self.n_frequencies
        return {"W": (d, 2 * k, self.n_out), "c": (d, k), "b": (d, self.n_out)}

    def output_dim(self, n_in):
        embedded, passed = self._split(n_in)
        return len(passed) + len(embedded) * (self.n_out + self.include_input)

    def reset_parameters(self, rng):
        c = self.params["c"]
        c[...] = np.clip(rng.normal(0.0, self.sigma, size=c.shape), -3 * self.sigma,
                         3 * self.sigma)
        # rtdl's NLinear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases alike.
        limit = 1.0 / np.sqrt(2 * self.n_frequencies)
        for name in ("W", "b"):
            self.params[name][...] = rng.uniform(-limit, limit, size=self.params[name].shape)

    def forward(self, X, *, training=False):
        n, n_in = X.shape
        embedded, passed = self._split(n_in)
        d, k, n_out, dtype = len(embedded), self.n_frequencies, self.n_out, X.dtype
        buf = self._buffer if training else (lambda name, shape, dt: np.empty(shape, dt))
        X_e = X if self.columns is None else X[:, embedded]
        A = buf("A", (d, n, k), dtype)
        np.multiply(X_e.T[:, :, None], self.params["c"][:, None, :], out=A)
        A *= _TWO_PI
        P = buf("P", (d, n, 2 * k), dtype)
        np.sin(A, out=P[:, :, :k])
        np.cos(A, out=P[:, :, k:])
        E = buf("E", (d, n, n_out), dtype)
        np.matmul(P, self.params["W"], out=E)
        E += self.params["b"][:, None, :]
        if self.activation == "relu":
            np.maximum(E, 0, out=E)
        Y = buf("Y", (n, self.output_dim(n_in)), dtype)
        start = len(passed)
        if passed:
            np.take(X, passed, axis=1, out=Y[:, :start])
        if self.include_input:
            Y[:, start:start + d] = X_e
            start += d
        Y[:, start:].reshape(n, d, n_out)[...] = E.transpose(1, 0, 2)
        self._X_e, self._P, self._E = X_e, P, E
        return Y

    def backward(self, dY, *, input_grad=True):
        X_e, P, E = self._X_e, self._P, self._E
        d, n, n_out = E.shape
        k, dtype = self.n_frequencies, dY.dtype
        W, c = self.params["W"], self.params["c"]
        n_pass = dY.shape[1] - d * (n_out + self.include_input)
        start = n_pass + d * self.include_input
        dE = self._buffer("dE", (d, n, n_out), dtype)
        dE[...] = dY[:, start:].reshape(n, d, n_out).transpose(1, 0, 2)
        if self.activation == "relu":
            dE *= E > 0
        np.add.reduce(dE, axis=1, out=self.grads["b"])
        np.matmul(P.transpose(0, 2, 1), dE, out=self.grads["W"])
        dP = self._buffer("dP", (d, n, 2 * k), dtype)
        np.matmul(dE, W.transpose(0, 2, 1), out=dP)
        # d sin(A) = cos(A) dA and d cos(A) = -sin(A) dA; P holds [sin A, cos A].
        dA = self._buffer("dA", (d, n, k), dtype)
        np.multiply(dP[:, :, :k], P[:, :, k:], out=dA)
        dA -= dP[:, :, k:] * P[:, :, :k]
        np.einsum("jif,ij->jf", dA, X_e, out=self.grads["c"])
        self.grads["c"] *= _TWO_PI
        if not input_grad:
            return None
        dX_e = np.einsum("jif,jf->ij", dA, c)
        dX_e *= _TWO_PI
        if self.include_input:
            dX_e += dY[:, n_pass:n_pass + d]
        if self.columns is None:
            return dX_e
        n_in = n_pass + d
        embedded, passed = self._split(n_in)
        dX = self._buffer("dX", (n, n_in), dtype)
        dX[:, embedded] = dX_e
        dX[:, passed] = dY[:, :n_pass]
        return dX

    def get_config(self):
        return {"n_frequencies": self.n_frequencies, "sigma": self.sigma, "n_out": self.n_out,
                "activation": self.activation, "include_input": self.include_input,
                "columns": self.columns}


@register_layer
class CategoricalEmbedding(Layer):
    """Learned vectors for categorical columns held as integer codes; other columns pass through.

    The network's input is one float matrix; the columns named in ``categorical`` hold category
    codes 0 ... n_levels - 1 (as floats). Any other value (negative, too large, fractional, NaN)
    is an unknown category and maps to a reserved last row. Forward, for X of shape
    (n_samples, n_in) and each categorical column c, with its table E_c of shape
    (n_levels_c + 1, dim_c)::

        idx_c[i] = X[i, col_c]  if it is an integer in [0, n_levels_c), else n_levels_c
        Y = [X[:, other columns], E_0[idx_0], E_1[idx_1], ...]      (n_samples, n_other + sum dim_c)

    Backward: a scatter-add of the rows of dY_c = dY[:, block of c] into the table::

        dE_c[l] = sum_{i : idx_c[i] = l} dY_c[i]
        dX[:, other columns] = dY[:, :n_other]      dX[:, col_c] = 0

    The codes are not differentiable (a code is a label, not a quantity): dL/dX is 0 in the code
    columns, by definition rather than by approximation.

    Parameters
    ----------
    categorical : list of (column, n_levels, dim)
        One entry per categorical column: its index in X, its number of known levels (>= 1) and
        the embedding dimension (>= 1).

    Notes
    -----
    Known rows start from U(-1/sqrt(dim), 1/sqrt(dim)) (rtdl's CategoricalEmbeddings); the
    unknown row starts at 0, so an unseen category first contributes nothing. The scatter-add
    is one ``np.bincount`` per embedding dimension, about 2x faster than ``np.add.at``
    (docs/tabular_models.md gives the measurement).
    """

    penalized = ()
    _cache = ("_idx", "_n_in")  # what forward keeps for backward

    def __init__(self, categorical):
        if not isinstance(categorical, (list, tuple)) or not categorical:
            raise ValueError(
                "categorical must be a non-empty list of (column, n_levels, dim), got "
                f"{categorical!r}."
            )
        entries = []
        for i, entry in enumerate(categorical):
            if not isinstance(entry, (list, tuple)) or len(entry) != 3:
                raise ValueError(
                    f"categorical[{i}] must be (column, n_levels, dim), got {entry!r}."
                )
            entries.append([check_int(entry[0], f"categorical[{i}] column", min_value=0),
                            check_int(entry[1], f"categorical[{i}] n_levels", min_value=1),
                            check_int(entry[2], f"categorical[{i}] dim", min_value=1)])
        _check_columns([e[0] for e in entries], "categorical columns")
        self.categorical = entries

    def _passed(self, n_in):
        columns = [e[0] for e in self.categorical]
        _check_within(columns, n_in, "categorical columns")
        chosen = set(columns)
        return [c for c in range(n_in) if c not in chosen]

    def param_shapes(self, n_in):
        self._passed(n_in)
        return {f"E{i}": (n_levels + 1, dim)
                for i, (_, n_levels, dim) in enumerate(self.categorical)}

    def output_dim(self, n_in):
        return len(self._passed(n_in)) + sum(dim for _, _, dim in self.categorical)

    def reset_parameters(self, rng):
        for i, (_, n_levels, dim) in enumerate(self.categorical):
            table = self.params[f"E{i}"]
            limit = 1.0 / np.sqrt(dim)
            table[:n_levels] = rng.uniform(-limit, limit, size=(n_levels, dim))
            table[n_levels] = 0

    def _codes(self, X):
        """(n_samples, n_categorical) int array of table rows; unknown codes -> n_levels."""
        n = X.shape[0]
        idx = self._buffer("idx", (n, len(self.categorical)), np.intp)
        for j, (column, n_levels, _) in enumerate(self.categorical):
            code = X[:, column]
            with np.errstate(invalid="ignore"):
                known = (code >= 0) & (code < n_levels) & (code == np.floor(code))
            idx[:, j] = np.where(known, code, n_levels)
        return idx

    def forward(self, X, *, training=False):
        n, n_in = X.shape
        passed = self._passed(n_in)
        dtype = X.dtype
        Y = (self._buffer("Y", (n, self.output_dim(n_in)), dtype) if training
             else np.empty((n, self.output_dim(n_in)), dtype))
        np.take(X, passed, axis=1, out=Y[:, :len(passed)])
        idx = self._codes(X)
        start = len(passed)
        for j, (_, _, dim) in enumerate(self.categorical):
            Y[:, start:start + dim] = self.params[f"E{j}"][idx[:, j]]
            start += dim
        self._idx, self._n_in = idx, n_in
        return Y

    def backward(self, dY, *, input_grad=True):
        idx = self._idx
        passed = self._passed(self._n_in)
        start = len(passed)
        for j, (_, _, dim) in enumerate(self.categorical):
            _scatter_add(idx[:, j], dY[:, start:start + dim], self.grads[f"E{j}"])
            start += dim
        if not input_grad:
            return None
        dX = self._buffer("dX", (dY.shape[0], self._n_in), dY.dtype)
        dX[:, [e[0] for e in self.categorical]] = 0
        dX[:, passed] = dY[:, :len(passed)]
        return dX

    def get_config(self):
        return {"categorical": [list(e) for e in self.categorical]}


def _scatter_add(rows, values, out):
    """``out[l] = sum of values[i] over i with rows[i] == l`` (overwrites out).

    One ``np.bincount`` per embedding dimension: 22 us for 256 rows x 8 dims into 51 rows,
    against 31 us for a sort + ``np.add.reduceat`` and 41 us for ``np.add.at``
    (benchmarks/ensemble_step_time.py, one thread).
    """
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(rows, weights=values[:, j], minlength=out.shape[0])
    return out

