"""Exact least squares for LinearRegression: SVD ('lstsq') and normal equations ('cholesky').

Both minimise, for X (n_samples, n_features), Y (n_samples, n_targets), sample weights s and an
L2 coefficient l2 >= 0 (``l2 = alpha * (1 - l1_ratio) * sum(s)``, J's L2 term times 2 sum(s))::

    2 * sum(s) * J = sum_i s_i * ||Y[i] - X[i] @ W - b||**2 + l2 * ||W||**2

With an intercept, X and Y are centred by their weighted means first and
``b = y_mean - x_mean @ W``, which is exact for the unpenalised b. This is what scikit-learn's
``LinearRegression`` (l2 = 0) and ``Ridge(alpha=l2)`` compute.
"""

import numpy as np
import scipy.linalg
import scipy.sparse as sp


def _weighted_means(X, Y, s):
    total = Y.shape[0] if s is None else float(s.sum())
    if s is None:
        x_mean = np.asarray(X.mean(axis=0)).ravel()
        y_mean = Y.mean(axis=0)
    else:
        x_mean = np.asarray(X.T @ s).ravel() / total
        y_mean = (Y.T @ s) / total
    return x_mean.astype(X.dtype, copy=False), y_mean.astype(Y.dtype, copy=False), total


def solve_lstsq(X, Y, s, fit_intercept, l2):
    """Minimum-norm (ridge when l2 > 0) solution by the SVD of the weighted, centred X.

    ::

        Xc = sqrt(s) * (X - x_mean)       Yc = sqrt(s) * (Y - y_mean)       Xc = U diag(d) Vt
        W  = Vt.T @ diag(d / (d**2 + l2)) @ U.T @ Yc
             (l2 = 0: singular values d <= cutoff count as 0, which gives the minimum-norm
             least-squares solution, as numpy.linalg.lstsq)

    The SVD runs in float64 whatever X's dtype, and
    ``cutoff = max(eps64 * max(n_samples, n_features), eps(X.dtype)) * max(d)``: numpy's cutoff
    for the float64 problem, but never below X's own precision (LAPACK's default for float32, as
    scipy.linalg.lstsq). numpy's cutoff with float32's eps, ``eps32 * max(n, p)``, is 0.012 on
    100,000 rows: it discarded real singular values of ill-conditioned float32 X and gave wrong
    coefficients. W and b come back in X's dtype.

    Returns W (n_features, n_targets) and b (n_targets,).
    """
    dtype = X.dtype
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    s = None if s is None else np.asarray(s, dtype=np.float64)
    x_mean, y_mean, _ = _weighted_means(X, Y, s)
    Xc = X - x_mean if fit_intercept else np.array(X, copy=True)
    Yc = Y - y_mean if fit_intercept else np.array(Y, copy=True)
    if s is not None:
        root = np.sqrt(s)[:, None]
        Xc *= root
        Yc *= root
    U, d, Vt = np.linalg.svd(Xc, full_matrices=False)
    if l2 > 0:
        factor = d / (d * d + l2)
    else:
        relative = max(np.finfo(np.float64).eps * max(X.shape), np.finfo(dtype).eps)
        cutoff = relative * (d[0] if d.size else 0.0)
        factor = np.zeros_like(d)
        np.divide(1.0, d, out=factor, where=d > cutoff)
    W = Vt.T @ (factor[:, None] * (U.T @ Yc))
    b = y_mean - x_mean @ W if fit_intercept else np.zeros(Y.shape[1])
    return W.astype(dtype, copy=False), b.astype(dtype, copy=False)


def solve_cholesky(X, Y, s, fit_intercept, l2):
    """Solve the normal equations (dense or sparse X; X is never densified).

    ::

        A = Xc.T @ diag(s) @ Xc + l2 * I        (n_features, n_features)
        B = Xc.T @ diag(s) @ Yc                 (n_features, n_targets)
        W = A^-1 @ B                            by Cholesky

    For sparse X, ``Xc.T @ diag(s) @ Xc = X.T @ diag(s) @ X - sum(s) * outer(x_mean, x_mean)``.
    When A is singular or too ill-conditioned for Cholesky (no L2 term and collinear columns),
    W comes from the eigendecomposition of A with eigenvalues below
    ``eps * n_features * max(eigenvalue)`` dropped: the minimum-norm solution.
    """
    x_mean, y_mean, total = _weighted_means(X, Y, s)
    if sp.issparse(X):
        Xs = X if s is None else X.multiply(s[:, None]).tocsr()
        A = np.asarray((X.T @ Xs).toarray(), dtype=X.dtype)
        B = np.asarray(Xs.T @ Y, dtype=X.dtype)
        if fit_intercept:
            A -= total * np.outer(x_mean, x_mean)
            B -= total * np.outer(x_mean, y_mean)
    else:
        Xc = X - x_mean if fit_intercept else X
        Yc = Y - y_mean if fit_intercept else Y
        Xs = Xc if s is None else Xc * s[:, None]
        A = Xs.T @ Xc
        B = Xs.T @ Yc
    A.flat[::A.shape[0] + 1] += l2
    try:
        factor = scipy.linalg.cho_factor(A, lower=False, check_finite=False)
        # Cholesky succeeds on some numerically singular A; its diagonal tells (cond ~ ratio**2).
        diagonal = np.abs(np.diag(factor[0]))
        if diagonal.min() <= np.sqrt(np.finfo(X.dtype).eps) * diagonal.max():
            raise np.linalg.LinAlgError("ill-conditioned")
        W = scipy.linalg.cho_solve(factor, B, check_finite=False)
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        values, vectors = np.linalg.eigh(A)
        cutoff = np.finfo(X.dtype).eps * A.shape[0] * max(values.max(initial=0.0), 0.0)
        inverse = np.zeros_like(values)
        np.divide(1.0, values, out=inverse, where=values > cutoff)
        W = vectors @ (inverse[:, None] * (vectors.T @ B))
    b = y_mean - x_mean @ W if fit_intercept else np.zeros(Y.shape[1], dtype=Y.dtype)
    return W.astype(X.dtype, copy=False), b.astype(X.dtype, copy=False)
