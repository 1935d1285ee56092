"""Linear models as scikit-learn estimators: LinearRegression and LogisticRegression."""


import numbers
import time

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._validation import check_option
from ..layers import Dense
from ..network import Sequential
from ..objective import objective
from ..training import History
from ._base import _max_eigenvalue, _stochastic_solver
from ._checks import check_inverse_strength, check_learning_rate_init
from ._exact import solve_cholesky, solve_lstsq
from ._targets import _ClassifierBase, _RegressorBase


class _LinearMixin:
    """What the two linear models share: one Dense layer, the 'auto' step size, coef_ views."""

    _VIEW_ATTRIBUTES = ("coef_", "intercept_")
    _dask_solvers = ("gd", "lbfgs")  # data-parallel on dask input (numnet.distributed)

    def _check_extra_params(self, p):
        p.learning_rate_init = check_learning_rate_init(
            p.learning_rate_init, f"learning_rate_init of {type(self).__name__}"
        )

    def _check_solver(self, p, options, elsewhere):
        """Check the solver option; scikit-learn's other solvers get a pointer to use."""
        cls = type(self).__name__
        if isinstance(p.solver, str) and p.solver in elsewhere:
            raise ValueError(
                f"solver of {cls} must be one of {{{', '.join(map(repr, sorted(options)))}}}, "
                f"got {p.solver!r}: numnet does not have scikit-learn's {p.solver!r} solver. "
                f"{elsewhere[p.solver]}"
            )
        check_option(p.solver, f"solver of {cls}", set(options))

    # --- fitted coefficients: views into network_.params -----------------------------------

    def _coef_view(self):
        W = self.network_[0].params["W"]
        return W[:, 0] if self._coef_1d() else W.T

    def _intercept_view(self):
        layer = self.network_[0]
        if not layer.bias:
            return None
        b = layer.params["b"]
        return b[0:1].reshape(()) if self._coef_1d() else b

    def _coef_1d(self):
        return False

    def _get_view(self, name):
        if name == "coef_":
            coef = self._coef_view()
            return sp.csr_matrix(coef) if self.__dict__.get("_sparse_coef") else coef
        b = self._intercept_view()
        if b is None:  # fit_intercept=False: scikit-learn reports zeros
            n = self.network_[0].params["W"].shape[1]
            return 0.0 if self._coef_1d() else np.zeros(n, dtype=self.network_.dtype)
        return float(b) if b.ndim == 0 else b

    def _set_view(self, name, value):
        if name == "coef_":
            self._write_view(name, self._coef_view(), value)
            return
        view = self._intercept_view()
        if view is None:
            n = self.network_[0].params["W"].shape[1]
            view = np.zeros(() if self._coef_1d() else n, dtype=self.network_.dtype)
            self._write_view(name, view, value)
            if np.any(view != 0):
                raise ValueError(
                    f"intercept_ of {type(self).__name__} must be 0 with fit_intercept=False, "
                    "got a nonzero value. Refit with fit_intercept=True to have an intercept."
                )
            return
        self._write_view(name, view, value)

    def sparsify(self):
        """Report ``coef_`` as a scipy.sparse CSR matrix (a copy) until :meth:`densify`.

        Predictions are unchanged: they always use the dense weights in ``network_``.
        Returns self.
        """
        check_is_fitted(self)
        self._sparse_coef = True
        return self

    def densify(self):
        """Report ``coef_`` as a dense array again (the default); returns self."""
        check_is_fitted(self)
        self._sparse_coef = False
        return self

    def _optimality_function(self, loss, X, Y, sample_weight, scale, strength, p, *,
                             value_and_grad=None):
        ratio = p.l1_ratio_effective
        l1 = 0.0 if ratio is None else scale * strength * ratio
        l2 = 0.0 if ratio is None else scale * strength * (1 - ratio)
        layer = self.network_[0]

        def optimality():
            """Largest entry of J's minimum-norm subgradient (0 exactly at the minimiser).

            With g = the gradient of J's smooth part (data term + L2 term) and l1 the L1
            coefficient of J::

                w != 0:  |g + l1 * sign(w)|     w == 0:  max(|g| - l1, 0)     b:  |g_b|
            """
            if value_and_grad is None:
                objective(self.network_, loss, X, Y, sample_weight=sample_weight)
            else:  # dask input: the same gradient, summed over the cluster's workers
                value_and_grad()
            W = layer.params["W"]
            g = scale * layer.grads["W"] + l2 * W
            value = np.where(W != 0, np.abs(g + l1 * np.sign(W)),
                             np.maximum(np.abs(g) - l1, 0.0)).max(initial=0.0)
            if layer.bias:
                value = max(value, scale * np.abs(layer.grads["b"]).max(initial=0.0))
            return float(value)

        return optimality

    def _make_network(self, n_features, n_outputs, dtype, rng, p):
        # Zeros, as scikit-learn's linear solvers start: the objective is convex, so the start
        # only matters for speed, and the fit does not depend on random_state.
        layer = Dense(n_outputs, init="zeros", bias=p.fit_intercept)
        return Sequential([layer]).build(n_features, dtype=dtype, random_state=rng)

    def _learning_rate(self, p, X, sample_weight):
        if p.learning_rate_init != "auto":
            return p.learning_rate_init
        if p.solver == "adam":
            return 1e-3
        # 1 / L, L the Lipschitz constant of grad J: the classic step that makes (proximal)
        # gradient descent decrease J monotonically.
        lipschitz = (p.curvature * _max_eigenvalue(X(), sample_weight, p.fit_intercept)
                     + p.l2_coefficient)
        return 1.0 / lipschitz if lipschitz > 0 else 1.0

    def _intercept(self, n_outputs):
        layer = self.network_[0]
        return layer.params["b"] if layer.bias else np.zeros(n_outputs, self.network_.dtype)


class LinearRegression(RegressorMixin, _LinearMixin, _RegressorBase):
    """Least squares with an optional L2, L1 or elastic-net penalty, trained by numnet.

    Objective, for X (n_samples, n_features), Y (n_samples, n_targets), sample weights s (default
    1), coefficients W (n_features, n_targets), intercept b (n_targets,), a = alpha,
    r = l1_ratio::

        J(W, b) = 1 / (2 * sum(s)) * sum_i s_i * ||Y[i] - X[i] @ W - b||**2
                  + a * r * sum(|W|) + 0.5 * a * (1 - r) * sum(W**2)

    l1_ratio selects the penalty (scikit-learn >= 1.8): r = 0 is L2, r = 1 is L1; alpha = 0
    (the default) drops the second line (ordinary least squares). The intercept is never
    penalised. This is scikit-learn's
    ``ElasticNet``/``Lasso`` objective, so alpha means what it means there.

    Parameters
    ----------
    penalty : {None, "l2", "l1", "elasticnet"}, default="deprecated"
        Deprecated (FutureWarning); when given it decides the penalty, and an l1_ratio that
        contradicts it raises.
    alpha : float, default=0.0
        Penalty strength a. Must be >= 0.
    l1_ratio : float, default=0.0
        Share r of the L1 term. Must be in [0, 1].
    fit_intercept : bool, default=True
    solver : {"auto", "lstsq", "cholesky", "lbfgs", "gd", "sgd", "adam"}, default="auto"
        - "auto": "lstsq" for dense X, "cholesky" for sparse X, "gd" with an L1 part (r > 0);
        - "lstsq": exact, the SVD of the weighted, centred X (minimum-norm when rank-deficient);
        - "cholesky": exact, ``(X'SX + l2 I) W = X'SY`` by Cholesky (sparse X too);
        - "lbfgs": SciPy's L-BFGS-B on the flat parameter vector (no L1 part allowed);
        - "gd": full-batch gradient descent, ``params -= lr * grad J``, one step per epoch;
        - "sgd": mini-batch gradient descent with momentum (Nesterov by default);
        - "adam": mini-batch Adam.
        With an L1 part, "gd", "sgd" and "adam" apply the penalty by its proximal operator
        (soft-thresholding) after each step, so coefficients become exactly zero.
    max_iter : int, default=1000
        Maximum number of iterations (lbfgs) or epochs (the others).
    tol : float, default=1e-4
        Converged means: the largest entry of J's minimum-norm subgradient is <= tol (lbfgs
        stops on it; gd continues past a plateau of J until it holds; sgd/adam stop when J has
        not improved by tol for more than n_iter_no_change epochs). A final value above tol
        gives a ConvergenceWarning.
    batch_size : int or "auto", default="auto"
        Mini-batch size for "sgd" and "adam"; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Step-size rule for "gd" and "sgd", as in scikit-learn's MLP:
        - "constant": ``lr = learning_rate_init``;
        - "invscaling": ``lr = learning_rate_init / (t + 1) ** power_t``, t = samples seen;
        - "adaptive": divide lr by 5 whenever the stopping test fires, until lr < 1e-6.
    learning_rate_init : float or "auto", default="auto"
        Step size on J. "auto": ``1 / L`` for "gd" and "sgd", with L the largest eigenvalue of
        ``[X, 1].T @ diag(s) @ [X, 1] / sum(s)`` plus the L2 coefficient (power iteration);
        1e-3 for "adam".
    power_t : float, default=0.5
    momentum : float, default=0.9
        Momentum of "sgd". Must be in [0, 1).
    nesterovs_momentum : bool, default=True
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's moment decay rates. Must be in [0, 1).
    epsilon : float, default=1e-8
        Adam's epsilon, in J's units.
    shuffle : bool, default=True
        Reshuffle the samples each epoch ("sgd", "adam").
    early_stopping : bool, default=False
        Hold out validation_fraction of the data (seeded by random_state), stop when the
        validation R^2 stops improving and restore the best coefficients. Ignored by lbfgs.
    validation_fraction : float, default=0.1
    validation_batch_size : int or None, default=None
        With early_stopping: the held-out rows per forward pass when the validation score is
        computed after each epoch (Keras's name). None forwards them all at once; an int, in
        blocks of that many rows, so that the pass needs memory for one block. The scores
        equal the one-pass ones to rounding, not bit for bit (BLAS may round a block's
        outputs differently in the last bit), so rarely the epoch kept can differ.
    n_iter_no_change : int, default=10
    warm_start : bool, default=False
        Start from the previous solution instead of zeros.
    random_state : int, numpy Generator or RandomState, default=None
        Seeds shuffling and the validation split.
    verbose : bool, default=False
        Print scikit-learn's ``Iteration N, loss = J`` line on stdout after each epoch
        (iteration for lbfgs; nothing for the exact solvers).
    copy_X : bool, default=True
        Accepted for scikit-learn; X is never modified.
    n_jobs : int or None, default=None
        Caps the BLAS threads during fit (threadpoolctl); -1 means all.
    positive : False
        Only False: numnet does not constrain the coefficients' sign.

    dp_epsilon : float or None, default=None
        Train with differential privacy (DP-SGD, :mod:`numnet.privacy`), the noise calibrated
        so that all ``max_iter`` epochs spend at most this epsilon at ``dp_delta``. Exclusive
        with ``dp_noise_multiplier``; both None (the default) trains without privacy. Needs
        solver 'sgd' or 'adam', early_stopping=False, learning_rate='constant' and fit() (not
        partial_fit); training runs exactly max_iter epochs. See docs/estimators.md (Privacy)
        and docs/privacy.md for what the guarantee covers.
    dp_delta : float or None, default=None
        delta of the guarantee, in (0, 1); None means ``min(1e-5, 1 / (10 n_samples))``.
    dp_max_grad_norm : float, default=1.0
        C: each sample's gradient of numnet's per-sample training loss is clipped to norm C.
    dp_noise_multiplier : float or None, default=None
        sigma: DP-SGD with noise N(0, sigma**2 C**2 I) on each clipped sum, instead of a
        sigma calibrated from ``dp_epsilon``.
    dp_accountant : {"rdp", "pld"}, default="rdp"
        The accountant (dp-accounting: ``pip install 'numnet[privacy]'``).
    dp_sampler : {"uniform", "geometric"}, default="uniform"
        How each Poisson batch is drawn: one uniform number per row, or the geometric gaps
        between the rows in it (about q n draws instead of n, faster for small batches). The
        same batches in distribution, so the same guarantee; other draws, so another model
        from the same ``random_state``.

    Attributes
    ----------
    epsilon_ : float
        Only after a private fit: the epsilon spent at ``dp_delta_`` (``epsilon_curve_``:
        after each epoch); ``dp_noise_multiplier_`` (the sigma used), ``dp_delta_``,
        ``dp_sampling_rate_`` (q) and ``dp_steps_`` complete the guarantee.
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        W.T (1-D when y is 1-D): a writable view into network_.params.
    intercept_ : float or ndarray of shape (n_targets,)
    n_iter_ : int
    loss_ : float
        Final value of J.
    loss_curve_ : list of float
        J after each iteration/epoch.
    best_loss_ : float or None
    validation_scores_, best_validation_score_ : list of float, float or None
        Validation R^2 per epoch and its best value (early_stopping only).
    t_ : int
        Training samples seen by the iterative solvers.
    n_outputs_ : int
    history_ : numnet.History
        Per-epoch J (``loss``), validation data term and R^2.
    network_ : numnet.Sequential
        The fitted network, ``[Dense(n_targets)]``; predictions use it.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Notes
    -----
    - scikit-learn: ``Lasso(alpha)`` is l1_ratio=1 with the same alpha,
      ``ElasticNet(alpha, l1_ratio)`` is the same pair, and ``Ridge(alpha_r)``
      (which minimises ``sum_i s_i ||Y[i] - X[i] W - b||**2 + alpha_r ||W||**2``) is l1_ratio=0
      with ``alpha = alpha_r / sum(s)`` (``alpha_r / n_samples`` without weights).
    - PyTorch: J is ``0.5 * n_targets * F.mse_loss(pred, y)`` plus the penalty; for "l2" that is
      ``weight_decay=alpha`` on the weight (not the bias) with that loss.
    - Internally numnet minimises ``F = MeanSquaredError + ElasticNet(2 * a / n_targets, r)``,
      ``J = n_targets / 2 * F``; learning rates, tol and the reported losses are converted to J.

    Examples
    --------
    >>> import numpy as np
    >>> from numnet import LinearRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = LinearRegression(tol=1e-10).fit(X, 2 * X[:, 0] + 1)
    >>> model.coef_.round(6), round(model.intercept_, 6)
    (array([2.]), 1.0)
    """

    _ravel_column_y = False

    def __init__(self, *, penalty="deprecated", alpha=0.0, l1_ratio=0.0, fit_intercept=True,
                 solver="auto", max_iter=1000, tol=1e-4, batch_size="auto",
                 learning_rate="constant", learning_rate_init="auto", power_t=0.5,
                 momentum=0.9, nesterovs_momentum=True, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, shuffle=True, early_stopping=False, validation_fraction=0.1,
                 validation_batch_size=None, n_iter_no_change=10, warm_start=False,
                 random_state=None, verbose=False,
                 copy_X=True, n_jobs=None, positive=False,
                 dp_epsilon=None, dp_delta=None, dp_max_grad_norm=1.0,
                 dp_noise_multiplier=None, dp_accountant="rdp",
                 dp_sampler="uniform"):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_batch_size = validation_batch_size
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.copy_X = copy_X
        self.n_jobs = n_jobs
        self.positive = positive
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.dp_max_grad_norm = dp_max_grad_norm
        self.dp_noise_multiplier = dp_noise_multiplier
        self.dp_accountant = dp_accountant
        self.dp_sampler = dp_sampler

    def fit(self, X, y, sample_weight=None):
        """Fit the coefficients to X of shape (n_samples, n_features) and y; returns self."""
        return self._fit(X, y, sample_weight)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of "sgd" or "adam" over (X, y), continuing from the current state."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _check_extra_params(self, p):
        super()._check_extra_params(p)
        cls = type(self).__name__
        self._check_solver(p, ("auto", "lstsq", "cholesky", "lbfgs", "gd", "sgd", "adam"), {
            "lsqr": "Use 'cholesky' (normal equations, fast when n_samples >> n_features, "
                    "sparse X too) or 'lbfgs'.",
            "svd": "Use 'lstsq' (the SVD of X).",
            "sparse_cg": "Use 'cholesky' or 'lbfgs'.",
            "sag": "Use 'sgd' or 'lbfgs'.", "saga": "Use 'sgd', 'gd' or 'lbfgs'.",
        })
        if p.positive is not False:
            raise ValueError(
                f"positive of {cls} must be False, got {p.positive!r}: numnet does not "
                "constrain the coefficients' sign. Use "
                "sklearn.linear_model.LinearRegression(positive=True) or scipy.optimize.nnls."
            )

    def _resolve_solver(self, p, X):
        # 'auto': the exact solution whenever there is one; an L1 part needs proximal gd.
        if p.solver == "auto":
            if p.dp_epsilon is not None or p.dp_noise_multiplier is not None:
                p.solver = "adam"             # DP-SGD needs a mini-batch solver
            elif p.l1_ratio_effective:
                p.solver = "gd"
            else:
                p.solver = "cholesky" if sp.issparse(X) else "lstsq"
        if p.solver == "lstsq" and sp.issparse(X):
            raise ValueError(
                f"solver of {type(self).__name__} must be one of {{'cholesky', 'lbfgs', 'gd', "
                "'sgd', 'adam'} for sparse X, got 'lstsq': the SVD needs dense X. Use "
                "'cholesky' (normal equations; n_features small) or 'lbfgs'."
            )
        if p.solver in ("lstsq", "cholesky") and p.l1_ratio_effective:
            raise ValueError(
                f"solver of {type(self).__name__} must be one of {{'adam', 'gd', 'sgd'}} with "
                f"l1_ratio={p.l1_ratio_effective!r}, got {p.solver!r}: the exact solvers "
                "handle no penalty or an L2 penalty only (l1_ratio=0)."
            )

    def _solve_exact(self, X, Y, sample_weight, p):
        """Fit by 'lstsq' or 'cholesky' (numnet.estimators._exact) and record J."""
        started = time.perf_counter()
        ratio = p.l1_ratio_effective
        s = sample_weight
        total = X.shape[0] if s is None else float(s.sum())
        l2 = 0.0 if ratio is None else p.alpha * (1 - ratio) * total
        solve = solve_lstsq if p.solver == "lstsq" else solve_cholesky
        W, b = solve(X, Y, s, p.fit_intercept, l2)
        layer = self.network_[0]
        layer.params["W"][...] = W
        if layer.bias:
            layer.params["b"][...] = b
        residual = Y - (X @ W) - b
        squares = np.einsum("ij,ij->i", residual, residual)
        value = (squares.sum() if s is None else squares @ s) / (2 * total)
        value += 0.5 * l2 / total * float(np.sum(W * W))
        return History(loss=[float(value)], learning_rate=[float("nan")],
                       time=[time.perf_counter() - started], metric_name="r2", converged=True)

    def _encode_targets(self, y, dtype, *, first, classes=None):
        self.target_ndim_ = y.ndim
        return super()._encode_targets(y, dtype, first=first)

    def _objective(self, n_outputs, weight_sum, n_train, batch_size, p):
        # J = k/2 * MSE + P(a) = k/2 * (MSE + P(2a/k)): numnet's MSE averages over the k targets
        # and has no 0.5.
        p.curvature = 1.0
        p.l2_coefficient = (p.alpha * (1 - p.l1_ratio_effective)
                            if p.l1_ratio_effective is not None else 0.0)
        return n_outputs / 2.0, 2.0 * p.alpha / n_outputs

    def _set_model_attributes(self):
        pass  # coef_ and intercept_ are views into network_ (see _LinearMixin)

    def _coef_1d(self):
        return self.__dict__.get("target_ndim_", 2) == 1

    def _adopt_stored_views(self, stored):
        if "coef_" in stored and "target_ndim_" not in self.__dict__:
            self.target_ndim_ = np.ndim(stored["coef_"])

    def _set_view(self, name, value):
        if "target_ndim_" not in self.__dict__ and name == "coef_":
            # A model file from before target_ndim_ existed: coef_'s shape tells.
            self.target_ndim_ = np.ndim(value)
        super()._set_view(name, value)

    def _predict_1d(self):
        return self._coef_1d()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class LogisticRegression(ClassifierMixin, _LinearMixin, _ClassifierBase):
    """Logistic regression (binary: sigmoid; multiclass: multinomial softmax), trained by numnet.

    Objective, for X (n_samples, n_features), labels y, sample weights s (default 1; times the
    class weights), coefficients W (n_features, K), intercept b (K,), r the L1 share::

        z_i = X[i] @ W + b
        l_i = log(1 + exp(z_i)) - y_i * z_i                     binary, K = 1, y_i in {0, 1}
        l_i = logsumexp(z_i) - z_i[y_i]                         multiclass, K = n_classes
        J(W, b) = sum_i s_i * l_i / sum(s)
                  + (r * sum(|W|) + 0.5 * (1 - r) * sum(W**2)) / (C * sum(s))

    l1_ratio selects the penalty (scikit-learn >= 1.8): r = 0 is L2, r = 1 is L1; C = inf drops
    it. The intercept is never penalised. Multiplying J by ``C * sum(s)`` gives
    scikit-learn's ``C * sum_i s_i * l_i + penalty(W)``: the same minimiser, so C means what it
    means in ``sklearn.linear_model.LogisticRegression``.

    Parameters
    ----------
    penalty : {None, "l2", "l1", "elasticnet"}, default="deprecated"
        Deprecated as in scikit-learn 1.8 (same FutureWarning); when given it decides the
        penalty, and an l1_ratio that contradicts it raises.
    C : float, default=1.0
        Inverse penalty strength. Must be > 0; ``np.inf`` means no penalty.
    l1_ratio : float, default=0.0
        Share r of the L1 term. Must be in [0, 1].
    dual : False
        Only False (the primal problem).
    intercept_scaling : float, default=1
        Accepted for scikit-learn (liblinear's); unused.
    n_jobs : int or None, default=None
        Caps the BLAS threads during fit (threadpoolctl); -1 means all.
    fit_intercept : bool, default=True
    class_weight : dict, "balanced" or None, default=None
        Multiplies each sample's weight by the weight of its class; "balanced" uses
        ``sum(s) / (n_classes * (weighted count of the class))``.
    solver : {"lbfgs", "gd", "sgd", "adam"}, default="lbfgs"
        As in :class:`LinearRegression`; "lbfgs" needs penalty None or "l2" (or l1_ratio=0).
    max_iter : int, default=100
    tol : float, default=1e-4
        lbfgs: stop when the largest entry of grad J is below tol. Others: stop when J has not
        improved by at least tol for more than n_iter_no_change epochs.
    batch_size, learning_rate, power_t, momentum, nesterovs_momentum, beta_1, beta_2, epsilon, \
shuffle, early_stopping, validation_fraction, validation_batch_size, n_iter_no_change, \
warm_start, random_state
        As in :class:`LinearRegression`; early stopping monitors the validation accuracy.
    learning_rate_init : float or "auto", default="auto"
        Step size on J. "auto": ``1 / L`` for "gd" and "sgd", with
        ``L = lambda_max([X, 1].T @ diag(s) @ [X, 1] / sum(s)) / 4`` (binary) or ``/ 2``
        (multiclass) plus the L2 coefficient; 1e-3 for "adam".
    verbose : int or bool, default=0
        When > 0, print scikit-learn's ``Iteration N, loss = J`` line on stdout after each
        epoch (iteration for lbfgs).

    dp_epsilon : float or None, default=None
        Train with differential privacy (DP-SGD, :mod:`numnet.privacy`), the noise calibrated
        so that all ``max_iter`` epochs spend at most this epsilon at ``dp_delta``. Exclusive
        with ``dp_noise_multiplier``; both None (the default) trains without privacy. Needs
        solver 'sgd' or 'adam', early_stopping=False, learning_rate='constant' and fit() (not
        partial_fit); training runs exactly max_iter epochs. See docs/estimators.md (Privacy)
        and docs/privacy.md for what the guarantee covers.
    dp_delta : float or None, default=None
        delta of the guarantee, in (0, 1); None means ``min(1e-5, 1 / (10 n_samples))``.
    dp_max_grad_norm : float, default=1.0
        C: each sample's gradient of numnet's per-sample training loss is clipped to norm C.
    dp_noise_multiplier : float or None, default=None
        sigma: DP-SGD with noise N(0, sigma**2 C**2 I) on each clipped sum, instead of a
        sigma calibrated from ``dp_epsilon``.
    dp_accountant : {"rdp", "pld"}, default="rdp"
        The accountant (dp-accounting: ``pip install 'numnet[privacy]'``).
    dp_sampler : {"uniform", "geometric"}, default="uniform"
        How each Poisson batch is drawn: one uniform number per row, or the geometric gaps
        between the rows in it (about q n draws instead of n, faster for small batches). The
        same batches in distribution, so the same guarantee; other draws, so another model
        from the same ``random_state``.

    Attributes
    ----------
    epsilon_ : float
        Only after a private fit: the epsilon spent at ``dp_delta_`` (``epsilon_curve_``:
        after each epoch); ``dp_noise_multiplier_`` (the sigma used), ``dp_delta_``,
        ``dp_sampling_rate_`` (q) and ``dp_steps_`` complete the guarantee.
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) (binary) or (n_classes, n_features)
        W.T, a writable view into network_.params (a CSR copy after :meth:`sparsify`).
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,)
    loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_, t_, history_ : \
see :class:`LinearRegression`
        With validation accuracy in place of R^2.
    n_outputs_ : int
        1 (binary) or n_classes.
    out_activation_ : {"logistic", "softmax"}
    network_ : numnet.Sequential
        ``[Dense(n_outputs_)]``; its raw output is the decision function.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Notes
    -----
    - scikit-learn: ``LogisticRegression(C=C)`` (l2, lbfgs) has the same coefficients. scikit-learn
      >= 1.8 spells the penalty with ``l1_ratio`` (0 for l2, 1 for l1) and ``C=np.inf`` for none.
    - PyTorch: J is ``F.binary_cross_entropy_with_logits`` (or ``F.cross_entropy``) plus the
      penalty; for "l2" that is ``weight_decay = 1 / (C * n_samples)`` on the weight only.

    Examples
    --------
    >>> import numpy as np
    >>> from numnet import LogisticRegression
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    >>> model = LogisticRegression().fit(X, ["no", "no", "yes", "yes"])
    >>> model.predict(np.array([[-3.0], [3.0]])).tolist()
    ['no', 'yes']
    """

    def __init__(self, penalty="deprecated", *, C=1.0, l1_ratio=0.0, dual=False, tol=1e-4,
                 fit_intercept=True, intercept_scaling=1, class_weight=None, random_state=None,
                 solver="lbfgs", max_iter=100, verbose=0, warm_start=False, n_jobs=None,
                 batch_size="auto", learning_rate="constant", learning_rate_init="auto",
                 power_t=0.5, momentum=0.9, nesterovs_momentum=True, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, shuffle=True, early_stopping=False, validation_fraction=0.1,
                 validation_batch_size=None, n_iter_no_change=10,
                 dp_epsilon=None, dp_delta=None, dp_max_grad_norm=1.0,
                 dp_noise_multiplier=None, dp_accountant="rdp",
                 dp_sampler="uniform"):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_batch_size = validation_batch_size
        self.n_iter_no_change = n_iter_no_change
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.dp_max_grad_norm = dp_max_grad_norm
        self.dp_noise_multiplier = dp_noise_multiplier
        self.dp_accountant = dp_accountant
        self.dp_sampler = dp_sampler

    def fit(self, X, y, sample_weight=None):
        """Fit the model to X of shape (n_samples, n_features) and labels y; returns self."""
        return self._fit(X, y, sample_weight)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch of "sgd" or "adam" over (X, y); pass ``classes`` on the first call."""
        self._check_partial_fit_classes(classes)
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _check_extra_params(self, p):
        super()._check_extra_params(p)
        cls = type(self).__name__
        p.C = check_inverse_strength(p.C, f"C of {cls}")
        self._check_solver(p, ("lbfgs", "gd", "sgd", "adam"), {
            "liblinear": "Use 'lbfgs', or 'gd' for an L1 part (l1_ratio > 0).",
            "newton-cg": "Use 'lbfgs'.", "newton-cholesky": "Use 'lbfgs'.",
            "sag": "Use 'sgd' or 'lbfgs'.",
            "saga": "Use 'gd' (proximal gradient descent; any l1_ratio) or 'sgd'.",
        })
        if p.dual is not False:
            raise ValueError(
                f"dual of {cls} must be False, got {p.dual!r}: numnet solves the primal "
                "problem only (the dual form is liblinear's). Use solver='lbfgs'."
            )
        if isinstance(p.intercept_scaling, bool) or not isinstance(p.intercept_scaling,
                                                                     numbers.Real):
            raise ValueError(f"intercept_scaling of {cls} must be a float, got "
                             f"{p.intercept_scaling!r}.")

    def _penalty_off(self, p):
        return p.C == np.inf

    def _objective(self, n_outputs, weight_sum, n_train, batch_size, p):
        strength = 0.0 if p.C == np.inf else 1.0 / (p.C * weight_sum)
        p.l2_coefficient = (strength * (1 - p.l1_ratio_effective)
                            if p.l1_ratio_effective is not None else 0.0)
        # Hessian of the mean log-loss <= lambda_max(X'X/n) times 1/4 (sigmoid), 1/2 (softmax).
        p.curvature = 0.25 if n_outputs == 1 else 0.5
        return 1.0, strength

    def _set_model_attributes(self):
        # coef_ and intercept_ are views into network_ (see _LinearMixin).
        self.n_iter_ = np.array([int(np.max(self.n_iter_))], dtype=np.int32)
