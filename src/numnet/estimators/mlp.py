"""Multi-layer perceptrons as scikit-learn estimators: MLPRegressor and MLPClassifier."""


import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if

from .._validation import check_float, check_option
from ..layers import ACTIVATIONS, Dense, Dropout
from ..losses import PoissonLoss
from ..network import Sequential
from ._base import _stochastic_solver
from ._checks import check_hidden_layer_sizes
from ._dask import blockwise
from ._targets import _ClassifierBase, _RegressorBase
from ._views import _write_into_view


class _LayerViews(list):
    """``coefs_`` or ``intercepts_``: one parameter view per layer; item assignment writes through.

    scikit-learn's lists are the model, so ``mlp.coefs_[0] = W`` changes its predictions; here
    it copies W (checked like a rebinding of the whole list) into the view that item 0 holds.
    The length is the number of layers, so the list methods that would change it raise. A copy
    (``copy.copy``, ``copy.deepcopy``, pickle) is a plain list.
    """

    def __init__(self, views, name, owner):
        super().__init__(views)
        self._name, self._owner = name, owner   # owner: the estimator's class name

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            positions = range(*index.indices(len(self)))
            values = list(value)
            if len(values) != len(positions):
                stop = len(self) if index.stop is None else index.stop
                raise ValueError(
                    f"{self._name}[{index.start or 0}:{stop}] of {self._owner} must be given "
                    f"{len(positions)} arrays (one per layer), got {len(values)}."
                )
            for position, item in zip(positions, values, strict=True):
                self[position] = item
            return
        position = range(len(self))[index]       # IndexError and negative indices as list's
        _write_into_view(self._owner, f"{self._name}[{position}]", list.__getitem__(self, index),
                         value)

    def _refuse(self, operation):
        raise TypeError(
            f"{self._name} of {self._owner} holds one array per layer, so {operation} cannot "
            f"change it. Assign an item ({self._name}[i] = W), or refit with other "
            "hidden_layer_sizes."
        )

    def __delitem__(self, index):
        self._refuse("del")

    def __iadd__(self, other):
        self._refuse("+=")

    def __imul__(self, other):
        self._refuse("*=")

    def __reduce_ex__(self, protocol):
        return list, (list(self),)

    def __deepcopy__(self, memo):
        import copy

        return [copy.deepcopy(item, memo) for item in self]


for _operation in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"):
    setattr(_LayerViews, _operation,
            lambda self, *args, _operation=_operation, **kwargs: self._refuse(f"{_operation}()"))


class _MLPMixin:
    """Network construction, the MLP-only hyperparameters, coefs_/intercepts_ views."""

    _dask_solvers = ("adam", "lbfgs", "sgd")  # data-parallel on dask input (numnet.distributed)
    _VIEW_ATTRIBUTES = ("coefs_", "intercepts_")
    _LOSSES = ("squared_error",)

    def _dense_layers(self):
        return [layer for layer in self.network_.layers if isinstance(layer, Dense)]

    def _get_view(self, name):
        key = "W" if name == "coefs_" else "b"
        return _LayerViews([layer.params[key] for layer in self._dense_layers()], name,
                           type(self).__name__)

    def _set_view(self, name, value):
        views = self._get_view(name)
        if isinstance(value, np.ndarray) or len(value) != len(views):
            raise ValueError(
                f"{name} of {type(self).__name__} must be a list of {len(views)} arrays (one "
                f"per layer), got {type(value).__name__}"
                + ("" if isinstance(value, np.ndarray) else f" of length {len(value)}") + "."
            )
        for view, item in zip(views, value, strict=True):
            self._write_view(name, view, item)

    def _check_extra_params(self, p):
        cls = type(self).__name__
        check_option(p.solver, f"solver of {cls}", {"adam", "sgd", "gd", "lbfgs"})
        check_option(getattr(p, "loss", "squared_error"), f"loss of {cls}",
                     set(self._LOSSES))
        p.hidden_layer_sizes = check_hidden_layer_sizes(
            p.hidden_layer_sizes, f"hidden_layer_sizes of {cls}"
        )
        check_option(p.activation, f"activation of {cls}", set(ACTIVATIONS))
        p.learning_rate_init = check_float(p.learning_rate_init, f"learning_rate_init of {cls}",
                                           min_value=0, include_min=False)

    def _make_network(self, n_features, n_outputs, dtype, rng, p):
        layers = []
        for width in p.hidden_layer_sizes:
            layers += [Dense(width, init="glorot_uniform"), ACTIVATIONS[p.activation]()]
            if p.dropout > 0:
                layers.append(Dropout(p.dropout))
        layers.append(Dense(n_outputs, init="glorot_uniform"))
        net = Sequential(layers).build(n_features, dtype=dtype, random_state=rng)
        # scikit-learn's MLP initialisation, so that the defaults (learning_rate_init, alpha)
        # behave as they do there: W and b ~ U(-a, a), a = sqrt(factor / (n_in + n_out)),
        # factor 2 for 'logistic' and 6 otherwise (Glorot & Bengio, 2010).
        factor = 2.0 if p.activation == "logistic" else 6.0
        for layer in net.layers:
            if isinstance(layer, Dense):
                W, b = layer.params["W"], layer.params["b"]
                bound = np.sqrt(factor / (W.shape[0] + W.shape[1]))
                W[...] = rng.uniform(-bound, bound, W.shape)
                b[...] = rng.uniform(-bound, bound, b.shape)
        return net

    def _penalty_denominator(self, weight_sum, n_train, batch_size):
        # scikit-learn divides the penalty by the weight sum of each (mini-)batch; every batch
        # but the last has the expected weight sum batch_size * sum(s) / n.
        return weight_sum * min(batch_size, n_train) / n_train

    def _set_model_attributes(self):
        # coefs_ and intercepts_ are views into network_ (see _VIEW_ATTRIBUTES).
        self.n_layers_ = len(self._dense_layers()) + 1

    def _init_params(self, hidden_layer_sizes, activation, solver, alpha, batch_size,
                     learning_rate, learning_rate_init, power_t, max_iter, shuffle,
                     random_state, tol, verbose, warm_start, momentum, nesterovs_momentum,
                     early_stopping, validation_fraction, beta_1, beta_2, epsilon,
                     n_iter_no_change, penalty, l1_ratio, dropout, max_fun,
                     validation_batch_size):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_batch_size = validation_batch_size
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.dropout = dropout
        self.max_fun = max_fun


class MLPRegressor(RegressorMixin, _MLPMixin, _RegressorBase):
    """Multi-layer perceptron regressor (identity output, squared error), trained by numnet.

    Network and objective, for X (n_samples, n_features), Y (n_samples, n_outputs), hidden
    activation f, weights W_k and biases b_k, sample weights s (default 1), a = alpha::

        H_0 = X,   H_k = f(H_{k-1} @ W_k + b_k),   Y_hat = H_{K-1} @ W_K + b_K
        J = sum_i s_i * ||Y[i] - Y_hat[i]||**2 / (2 * n_outputs * sum(s))
            + a * (r * sum_k |W_k| + 0.5 * (1 - r) * sum_k ||W_k||**2) / m

    with m the weight sum of the training samples (lbfgs, gd) or of an average mini-batch
    (``batch_size * sum(s) / n_samples``), and r = 0 for the default penalty "l2". That is
    scikit-learn's MLPRegressor objective (half squared error, ``0.5 * alpha * ||W||**2 / m``),
    so alpha means what it means there. Biases are not penalised. With ``loss="poisson"`` the
    output is ``Y_hat = exp(H_{K-1} @ W_K + b_K)`` and the data term is the half Poisson
    deviance (:class:`numnet.PoissonLoss`)::

        J = sum_i s_i * sum_j [Y log(Y / Y_hat) - Y + Y_hat][i, j] / sum(s) + (penalty as above)

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer; ``()`` gives a linear model.
    activation : {"identity", "logistic", "tanh", "relu", "leaky_relu"}, default="relu"
        Hidden-layer activation:
        - "identity": f(x) = x;
        - "logistic": f(x) = 1 / (1 + exp(-x));
        - "tanh": f(x) = tanh(x);
        - "relu": f(x) = max(0, x);
        - "leaky_relu": f(x) = x if x > 0 else 0.01 * x.
    solver : {"adam", "sgd", "gd", "lbfgs"}, default="adam"
        - "adam": mini-batch Adam (epsilon added after the bias correction, as in the paper);
        - "sgd": mini-batch gradient descent with momentum (Nesterov by default);
        - "gd": full-batch gradient descent, one step per epoch;
        - "lbfgs": SciPy's L-BFGS-B on the flat parameter vector (full batch).
    alpha : float, default=1e-4
        Penalty strength a. Must be >= 0.
    penalty : {None, "l2", "l1", "elasticnet"}, default="deprecated"
        Deprecated (FutureWarning), as LogisticRegression's in scikit-learn >= 1.8.
    l1_ratio : float, default=0.0
        Share r of the L1 term (0: L2). An L1 part acts by a proximal (soft-thresholding) step
        after each update, so weights become exactly zero; not with "lbfgs".
    max_fun : int, default=15000
        lbfgs: maximum number of objective evaluations.
    loss : {"squared_error", "poisson"}, default="squared_error"
        - "squared_error": half squared error, identity output;
        - "poisson": half Poisson deviance, exp output (log link); needs y >= 0.
    batch_size : int or "auto", default="auto"
        Mini-batch size for "sgd" and "adam"; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Step-size rule for "sgd" (and "gd"):
        - "constant": ``lr = learning_rate_init``;
        - "invscaling": ``lr = learning_rate_init / (t + 1) ** power_t``, t = samples seen;
        - "adaptive": divide lr by 5 whenever the stopping test fires, until lr < 1e-6;
        - "cosine" (numnet's, every mini-batch solver, Adam too): after epoch e,
          ``lr = learning_rate_init * (1 + cos(pi * e / max_iter)) / 2``.
    learning_rate_init : float, default=1e-3
        Step size on J (for Adam: its step scale).
    power_t : float, default=0.5
    max_iter : int, default=200
        Maximum number of epochs (lbfgs: iterations).
    shuffle : bool, default=True
    random_state : int, numpy Generator or RandomState, default=None
        Seeds the initial weights, dropout, shuffling and the validation split.
    tol : float, default=1e-4
        Stop when J (or, with early_stopping, the validation score) has not improved by at
        least tol for more than n_iter_no_change epochs; lbfgs: gradient tolerance.
    verbose : bool, default=False
        Print scikit-learn's ``Iteration N, loss = J`` line on stdout after each epoch
        (iteration for lbfgs), and ``Validation score: S`` with early_stopping.
    warm_start : bool, default=False
        Start from the previous weights instead of a new initialisation.
    momentum : float, default=0.9
        Must be in [0, 1).
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out validation_fraction of the data (stratified for single-label classification,
        seeded by random_state), stop when the validation score has not improved by tol for
        more than n_iter_no_change epochs, and restore the best weights.
    validation_fraction : float, default=0.1
    validation_batch_size : int or None, default=None
        With early_stopping: the held-out rows per forward pass when the validation score is
        computed after each epoch (Keras's name). None forwards them all at once; an int, in
        blocks of that many rows whose activations are dropped after each block, so that the
        pass needs memory for one block rather than for all held-out rows (e.g. 8192 keeps a
        large fit's peak under 1.5x its data). The scores equal the one-pass ones to rounding,
        not bit for bit (BLAS may round a block's outputs differently in the last bit), so a
        score at a tie, and rarely the epoch kept, can differ from the default's.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's moment decay rates. Must be in [0, 1).
    epsilon : float, default=1e-8
        Adam's epsilon, in J's units.
    n_iter_no_change : int, default=10
    dropout : float, default=0.0
        Rate of the Dropout layer after each hidden activation (inverted dropout during
        training only). Must be in [0, 1).

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
    coefs_ : list of ndarray
        ``coefs_[i]`` of shape (n_in, n_out) is the weight matrix of layer i, a writable view
        into network_.params; assigning an item (``coefs_[0] = W``) or a list writes through.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` of shape (n_out,).
    n_iter_ : int
        Epochs run by the last fit (cumulative over partial_fit calls).
    loss_ : float
        J at the last epoch.
    loss_curve_ : list of float
        J after each epoch (mean over its mini-batches, weighted by batch size).
    best_loss_ : float or None
        Lowest J seen (None with early_stopping).
    validation_scores_ : list of float or None
        Validation score per epoch (early_stopping only).
    best_validation_score_ : float or None
    t_ : int
        Training samples seen.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
    out_activation_ : str
        "identity", or "exp" with loss="poisson".
    history_ : numnet.History
        Per-epoch J (``loss``), validation data term and score.
    network_ : numnet.Sequential
        The fitted network ``[Dense, activation, (Dropout,) ..., Dense]``; its raw output feeds
        the output link.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Notes
    -----
    - PyTorch: J is ``0.5 * F.mse_loss(pred, y)`` plus the penalty; "l2" is
      ``weight_decay = alpha / batch_size`` on the weights (not the biases).
    - Internally numnet minimises ``F = 2 * J`` (MeanSquaredError has no 0.5); learning
      rates, Adam's epsilon, tol and the reported losses are converted to J.
    - Initialisation as in scikit-learn: every W and b from ``U(-a, a)``,
      ``a = sqrt(6 / (n_in + n_out))`` (``sqrt(2 / (n_in + n_out))`` for "logistic").

    Examples
    --------
    >>> import numpy as np
    >>> from numnet import MLPRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> model = MLPRegressor((16,), solver="lbfgs", random_state=0).fit(X, X[:, 0] ** 2)
    >>> bool(model.score(X, X[:, 0] ** 2) > 0.99)
    True
    """

    _ravel_column_y = True
    _LOSSES = ("squared_error", "poisson")

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate="constant",
                 learning_rate_init=1e-3, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 validation_batch_size=None, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000,
                 loss="squared_error", penalty="deprecated", l1_ratio=0.0, dropout=0.0,
                 dp_epsilon=None, dp_delta=None, dp_max_grad_norm=1.0,
                 dp_noise_multiplier=None, dp_accountant="rdp",
                 dp_sampler="uniform"):
        self._init_params(
            hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
            learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose,
            warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction,
            beta_1, beta_2, epsilon, n_iter_no_change, penalty, l1_ratio, dropout, max_fun,
            validation_batch_size,
        )
        self.loss = loss
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.dp_max_grad_norm = dp_max_grad_norm
        self.dp_noise_multiplier = dp_noise_multiplier
        self.dp_accountant = dp_accountant
        self.dp_sampler = dp_sampler

    def fit(self, X, y, sample_weight=None):
        """Fit the network to X of shape (n_samples, n_features) and y; returns self."""
        return self._fit(X, y, sample_weight)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of "sgd" or "adam" over (X, y), continuing from the current state."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _objective(self, n_outputs, weight_sum, n_train, batch_size, p):
        m = self._penalty_denominator(weight_sum, n_train, batch_size)
        if p.loss == "poisson":
            return 1.0, p.alpha / m  # J = PoissonLoss + P / m: numnet's loss is J's data term
        # J = MSE / 2 + P / m = (MSE + 2 P / m) / 2.
        return 0.5, 2.0 * p.alpha / m

    def _loss(self, n_outputs):
        return PoissonLoss() if self.loss == "poisson" else super()._loss(n_outputs)

    def _encode_targets(self, y, dtype, *, first, classes=None):
        if self.loss == "poisson" and y.size and np.min(y) < 0:
            where = tuple(index[0] for index in np.nonzero(y < 0))
            raise ValueError(
                f"y of {type(self).__name__} must hold values >= 0 with loss='poisson' (counts "
                f"or rates), got {float(y[where])!r} at index {where[0]}. Use "
                "loss='squared_error' for targets that can be negative."
            )
        return super()._encode_targets(y, dtype, first=first, classes=classes)

    def _set_model_attributes(self):
        super()._set_model_attributes()
        # scikit-learn's name for the log link's inverse (loss="poisson").
        self.out_activation_ = "exp" if self.loss == "poisson" else "identity"

    @blockwise
    def predict(self, X):
        """Predicted targets (``exp`` of the output with loss="poisson"), 1-D for a 1-D y."""
        raw = self._forward(X)
        if self.out_activation_ == "exp":
            raw = np.exp(raw)
        return raw[:, 0] if self._predict_1d() else raw

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class MLPClassifier(ClassifierMixin, _MLPMixin, _ClassifierBase):
    """Multi-layer perceptron classifier (binary, multiclass, multilabel), trained by numnet.

    Network and objective, with the hidden layers of :class:`MLPRegressor`, logits
    ``Z = H_{K-1} @ W_K + b_K`` and sample weights s (default 1, times the class weights)::

        binary      Z: (n_samples, 1),  l_i = log(1 + exp(z_i)) - y_i * z_i
        multiclass  Z: (n_samples, K),  l_i = logsumexp(Z[i]) - Z[i, y_i]
        multilabel  Z: (n_samples, L),  l_i = sum_j log(1 + exp(Z[i, j])) - Y[i, j] * Z[i, j]
        J = sum_i s_i * l_i / sum(s)
            + a * (r * sum_k |W_k| + 0.5 * (1 - r) * sum_k ||W_k||**2) / m

    with m as in :class:`MLPRegressor`. This is scikit-learn's MLPClassifier log-loss with
    ``0.5 * alpha * ||W||**2 / m``, so alpha means what it means there.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer; ``()`` gives a linear model.
    activation : {"identity", "logistic", "tanh", "relu", "leaky_relu"}, default="relu"
        Hidden-layer activation:
        - "identity": f(x) = x;
        - "logistic": f(x) = 1 / (1 + exp(-x));
        - "tanh": f(x) = tanh(x);
        - "relu": f(x) = max(0, x);
        - "leaky_relu": f(x) = x if x > 0 else 0.01 * x.
    solver : {"adam", "sgd", "gd", "lbfgs"}, default="adam"
        - "adam": mini-batch Adam (epsilon added after the bias correction, as in the paper);
        - "sgd": mini-batch gradient descent with momentum (Nesterov by default);
        - "gd": full-batch gradient descent, one step per epoch;
        - "lbfgs": SciPy's L-BFGS-B on the flat parameter vector (full batch).
    alpha : float, default=1e-4
        Penalty strength a. Must be >= 0.
    penalty : {None, "l2", "l1", "elasticnet"}, default="deprecated"
        Deprecated (FutureWarning), as LogisticRegression's in scikit-learn >= 1.8.
    l1_ratio : float, default=0.0
        Share r of the L1 term (0: L2). An L1 part acts by a proximal (soft-thresholding) step
        after each update, so weights become exactly zero; not with "lbfgs".
    max_fun : int, default=15000
        lbfgs: maximum number of objective evaluations.
    batch_size : int or "auto", default="auto"
        Mini-batch size for "sgd" and "adam"; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Step-size rule for "sgd" (and "gd"):
        - "constant": ``lr = learning_rate_init``;
        - "invscaling": ``lr = learning_rate_init / (t + 1) ** power_t``, t = samples seen;
        - "adaptive": divide lr by 5 whenever the stopping test fires, until lr < 1e-6;
        - "cosine" (numnet's, every mini-batch solver, Adam too): after epoch e,
          ``lr = learning_rate_init * (1 + cos(pi * e / max_iter)) / 2``.
    learning_rate_init : float, default=1e-3
        Step size on J (for Adam: its step scale).
    power_t : float, default=0.5
    max_iter : int, default=200
        Maximum number of epochs (lbfgs: iterations).
    shuffle : bool, default=True
    random_state : int, numpy Generator or RandomState, default=None
        Seeds the initial weights, dropout, shuffling and the validation split.
    tol : float, default=1e-4
        Stop when J (or, with early_stopping, the validation score) has not improved by at
        least tol for more than n_iter_no_change epochs; lbfgs: gradient tolerance.
    verbose : bool, default=False
        Print scikit-learn's ``Iteration N, loss = J`` line on stdout after each epoch
        (iteration for lbfgs), and ``Validation score: S`` with early_stopping.
    warm_start : bool, default=False
        Start from the previous weights instead of a new initialisation.
    momentum : float, default=0.9
        Must be in [0, 1).
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out validation_fraction of the data (stratified for single-label classification,
        seeded by random_state), stop when the validation score has not improved by tol for
        more than n_iter_no_change epochs, and restore the best weights.
    validation_fraction : float, default=0.1
    validation_batch_size : int or None, default=None
        With early_stopping: the held-out rows per forward pass when the validation score is
        computed after each epoch (Keras's name). None forwards them all at once; an int, in
        blocks of that many rows whose activations are dropped after each block, so that the
        pass needs memory for one block rather than for all held-out rows (e.g. 8192 keeps a
        large fit's peak under 1.5x its data). The scores equal the one-pass ones to rounding,
        not bit for bit (BLAS may round a block's outputs differently in the last bit), so a
        score at a tie, and rarely the epoch kept, can differ from the default's.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's moment decay rates. Must be in [0, 1).
    epsilon : float, default=1e-8
        Adam's epsilon, in J's units.
    n_iter_no_change : int, default=10
    dropout : float, default=0.0
        Rate of the Dropout layer after each hidden activation (inverted dropout during
        training only). Must be in [0, 1).
    class_weight : dict, "balanced" or None, default=None
        Multiplies each sample's weight by the weight of its class (not for multilabel y);
        "balanced" uses ``sum(s) / (n_classes * (weighted count of the class))``.

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
    label_smoothing : float in [0, 1), default=0.0
        numnet's: train on the targets ``(1 - eps) y + eps / K`` (K classes; 2 per output for
        sigmoid outputs) instead of the one-hot y, which keeps the network from pushing its
        logits without bound (Szegedy et al., 2016). 0 is scikit-learn's loss.

    Attributes
    ----------
    epsilon_ : float
        Only after a private fit: the epsilon spent at ``dp_delta_`` (``epsilon_curve_``:
        after each epoch); ``dp_noise_multiplier_`` (the sigma used), ``dp_delta_``,
        ``dp_sampling_rate_`` (q) and ``dp_steps_`` complete the guarantee.
    classes_ : ndarray of shape (n_classes,)
        The labels (``arange(n_labels)`` for multilabel y).
    coefs_ : list of ndarray
        ``coefs_[i]`` of shape (n_in, n_out) is the weight matrix of layer i, a writable view
        into network_.params; assigning an item (``coefs_[0] = W``) or a list writes through.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` of shape (n_out,).
    n_iter_ : int
        Epochs run by the last fit (cumulative over partial_fit calls).
    loss_ : float
        J at the last epoch.
    loss_curve_ : list of float
        J after each epoch (mean over its mini-batches, weighted by batch size).
    best_loss_ : float or None
        Lowest J seen (None with early_stopping).
    validation_scores_ : list of float or None
        Validation score per epoch (early_stopping only).
    best_validation_score_ : float or None
    t_ : int
        Training samples seen.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
    out_activation_ : str
    history_ : numnet.History
        Per-epoch J (``loss``), validation data term and score.
    network_ : numnet.Sequential
        The fitted network ``[Dense, activation, (Dropout,) ..., Dense]``; its raw output feeds
        the output link.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Notes
    -----
    - PyTorch: J is ``F.binary_cross_entropy_with_logits`` (summed over labels) or
      ``F.cross_entropy`` plus the penalty; "l2" is ``weight_decay = alpha / batch_size`` on the
      weights only.
    - Initialisation as in :class:`MLPRegressor`.

    Examples
    --------
    >>> import numpy as np
    >>> from numnet import MLPClassifier
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
    >>> y = np.array(["even", "odd", "odd", "even"] * 10)
    >>> model = MLPClassifier((8,), activation="tanh", solver="lbfgs", random_state=0)
    >>> model.fit(X, y).predict(X[:4]).tolist()
    ['even', 'odd', 'odd', 'even']
    """

    _multilabel = True

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate="constant",
                 learning_rate_init=1e-3, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 validation_batch_size=None, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000,
                 penalty="deprecated", l1_ratio=0.0, dropout=0.0, class_weight=None,
                 dp_epsilon=None, dp_delta=None, dp_max_grad_norm=1.0,
                 dp_noise_multiplier=None, dp_accountant="rdp", dp_sampler="uniform",
                 label_smoothing=0.0):
        self._init_params(
            hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
            learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose,
            warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction,
            beta_1, beta_2, epsilon, n_iter_no_change, penalty, l1_ratio, dropout, max_fun,
            validation_batch_size,
        )
        self.class_weight = class_weight
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.dp_max_grad_norm = dp_max_grad_norm
        self.dp_noise_multiplier = dp_noise_multiplier
        self.dp_accountant = dp_accountant
        self.dp_sampler = dp_sampler
        self.label_smoothing = label_smoothing

    def fit(self, X, y, sample_weight=None):
        """Fit the network to X of shape (n_samples, n_features) and labels y; returns self."""
        return self._fit(X, y, sample_weight)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch of "sgd" or "adam" over (X, y); pass ``classes`` on the first call."""
        self._check_partial_fit_classes(classes)
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _objective(self, n_outputs, weight_sum, n_train, batch_size, p):
        return 1.0, p.alpha / self._penalty_denominator(weight_sum, n_train, batch_size)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
