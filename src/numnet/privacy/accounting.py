"""The privacy accountant: epsilon of DP-SGD's steps, noise calibration, a per-epoch callback.

The accounting itself is Google's ``dp-accounting`` library (the ``privacy`` extra,
``pip install numnet[privacy]``); this module states the mechanism to it and reads the answer.
Two pieces are computed here: the RDP curve of one Poisson-subsampled Gaussian step
(:func:`_rdp_curve`), dp-accounting's own formulas term for term, vectorised over the terms
and the orders (the same floating-point operations in the same order, so the same bits: tested
against dp-accounting over a grid of (q, sigma)), about 10 times faster than its scalar loops;
and epsilon from such a curve (:func:`_rdp_epsilon`, its ``compute_epsilon`` vectorised the
same way, 4 times faster), asked after every epoch and at every step of the calibration.
"""

import functools
import math

import numpy as np

from .._validation import check_float, check_int, check_option
from ..training.callbacks import Callback

ACCOUNTANTS = ("rdp", "pld")

NOISE_MULTIPLIER_RANGE = (0.01, 1e6)
"""The noise multipliers sigma > 0 the accountants are asked about. Below 0.01 a step protects
nothing (epsilon is astronomically large) and dp-accounting divides by zero or exhausts memory;
above 1e6 the noise drowns every gradient and its Renyi divergence overflows. (sigma = 0, no
noise, is allowed: it has epsilon = inf, for tests against other implementations.)"""

MAX_EPSILON = 100.0
"""The largest privacy budget asked for: e**100 bounds nothing a guarantee is meant to bound."""


def check_noise_multiplier(value, name="noise_multiplier", *, allow_zero=True):
    """``value`` as a float: 0 (when ``allow_zero``) or in :data:`NOISE_MULTIPLIER_RANGE`."""
    low, high = NOISE_MULTIPLIER_RANGE
    value = check_float(value, name, min_value=0)
    if (value == 0 and allow_zero) or low <= value <= high:
        return value
    rule = f"0 or a float in [{low}, {high:g}]" if allow_zero else \
        f"a float in [{low}, {high:g}]"
    raise ValueError(
        f"{name} must be {rule}, got {value!r}. Below {low} the noise protects nothing (epsilon "
        f"is astronomically large) and cannot be accounted; above {high:g} it drowns every "
        "gradient. Typical values are 0.5 to 2."
    )


def check_target_epsilon(value, name="target_epsilon"):
    """``value`` as a float in (0, :data:`MAX_EPSILON`]; inf and NaN are refused as not finite."""
    if isinstance(value, (int, float)) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite float in (0, {MAX_EPSILON:g}], got "
                         f"{value!r}. An infinite budget is no guarantee: train without "
                         "privacy instead.")
    value = check_float(value, name, min_value=0, include_min=False)
    if value > MAX_EPSILON:
        raise ValueError(f"{name} must be a float in (0, {MAX_EPSILON:g}], got {value!r}. A "
                         f"budget above {MAX_EPSILON:g} (a factor e**{MAX_EPSILON:g}) promises "
                         "nothing; typical budgets are 1 to 10.")
    return value


def _dp_accounting():
    try:
        import dp_accounting  # optional dependency: imported only when epsilon is asked for
    except ImportError:
        raise ImportError(
            "The privacy accountant needs the dp-accounting package; install it with "
            "pip install 'numnet[privacy]'."
        ) from None
    return dp_accounting


def check_delta(delta, n_samples, name="delta"):
    """Refuse a delta of 1 / n_samples or more: that guarantee allows publishing a row outright.

    (delta is the probability with which the epsilon bound may fail; a mechanism that
    publishes one of n rows at random meets (0, 1/n)-DP.)
    """
    if delta >= 1 / n_samples:
        raise ValueError(
            f"{name} must be below 1/n = {1 / n_samples:.3g} for n = {n_samples} training rows, "
            f"got {delta!r}: with a delta of 1/n or more a mechanism that publishes a whole row "
            f"meets the guarantee. Use at most 1/(10 n) = {1 / (10 * n_samples):.3g} (leave it "
            "unset for min(1e-5, 1/(10 n)))."
        )
    return delta


def _event(dp, sampling_rate, noise_multiplier, steps):
    """``steps`` compositions of the Poisson-subsampled Gaussian mechanism."""
    step = dp.PoissonSampledDpEvent(sampling_rate, dp.GaussianDpEvent(noise_multiplier))
    return dp.SelfComposedDpEvent(step, steps)


@functools.lru_cache(maxsize=256)
def _rdp_step(sampling_rate, noise_multiplier):
    """(orders, RDP of one step at each order): dp-accounting's curve, computed once per (q, sigma).

    Composing ``SelfComposed(step, k)`` adds ``k`` times this curve to the accountant's zeros,
    so ``k * curve`` is exactly what it holds after k steps.
    """
    dp = _dp_accounting()
    orders = np.array(dp.rdp.rdp_privacy_accountant.DEFAULT_RDP_ORDERS)  # RdpAccountant's
    curve = np.zeros_like(orders) + _rdp_curve(sampling_rate, noise_multiplier, orders)
    orders.setflags(write=False)
    curve.setflags(write=False)
    return orders, curve


def _rdp_curve(q, sigma, orders):
    """RDP of one Poisson-subsampled Gaussian step at each order: dp-accounting's arithmetic.

    ``_compute_rdp_poisson_subsampled_gaussian`` of dp-accounting's RDP accountant (q in
    (0, 1], sigma > 0), with its scalar loops over the terms of log(A_alpha) replaced by
    array operations doing the same floating-point operations in the same order: each term is
    the same expression (``gammaln``, ``log_ndtr`` and IEEE arithmetic, elementwise), and its
    running log-sum ``log1p(exp(a - b)) + b`` is ``np.logaddexp``'s, accumulated left to right
    as its loop adds. Integer orders sum all alpha + 1 terms (grouped by size, padded with
    log 0 = -inf, which leaves a sum unchanged); fractional ones stop at its convergence test,
    or give inf after _MAX_STEPS_LOG_A_FRAC = 1000 terms (where dp-accounting also logs a
    warning, which is not repeated here).
    """
    from scipy import special
    curve = np.empty(orders.shape)
    denominator = 2 * (sigma**2)
    if q == 1.0:
        curve[...] = orders / denominator
        curve[np.isinf(orders)] = np.inf
        return curve
    log_q, log1mq = math.log(q), math.log1p(-q)
    infinite = np.isinf(orders)
    integer = ~infinite & (orders == np.floor(orders))     # its float(alpha).is_integer()
    frac = ~integer & ~infinite
    curve[infinite] = np.inf
    # integer orders, grouped by size so that few padded terms are summed
    sizes = np.where(integer, np.ceil(np.log2(np.where(integer, orders, 1.0) + 1)), -1)
    for size in np.unique(sizes[integer]):
        group = sizes == size
        n = orders[group][:, None]
        i = np.arange(int(n.max()) + 1, dtype=np.float64)
        log_factorial = special.gammaln(i + 1)     # gammaln(k + 1) for k = 0 .. max alpha
        rest = (n - i).astype(np.intp)
        log_coef = (log_factorial[n[:, 0].astype(np.intp)][:, None] - log_factorial
                    - log_factorial[np.maximum(rest, 0)]) + i * log_q + (n - i) * log1mq
        terms = log_coef + (i * i - i) / denominator
        terms[rest < 0] = -np.inf       # past alpha: adding log 0 leaves each sum exactly as it is
        curve[group] = np.logaddexp.reduce(terms, axis=1) / (n[:, 0] - 1)
    if frac.any():
        alphas = orders[frac]
        log_a = np.full(alphas.shape, np.inf)
        todo = np.arange(alphas.size)
        z0 = sigma**2 * math.log(1 / q - 1) + 0.5
        for count in (64, 256, 1000):      # terms, until its test stops each
            alpha = alphas[todo][:, None]
            i = np.arange(count, dtype=np.float64)
            log_coef = (special.gammaln(alpha + 1) - special.gammaln(i + 1)
                        - special.gammaln(alpha - i + 1))
            j = alpha - i
            scale = math.sqrt(2) * sigma
            s0 = (log_coef + i * log_q + j * log1mq + (i * i - i) / denominator
                  + _log_half_erfc(special, (i - z0) / scale))
            s1 = (log_coef + j * log_q + i * log1mq + (j * j - j) / denominator
                  + _log_half_erfc(special, (z0 - j) / scale))
            total = np.logaddexp(np.logaddexp.accumulate(s0, axis=1),
                                 np.logaddexp.accumulate(s1, axis=1))
            larger = np.where(s1 > s0, s1, s0)
            done = ((s0[:, 1:] < s0[:, :-1]) & (s1[:, 1:] < s1[:, :-1])
                    & (larger[:, 1:] < total[:, 1:] - 30))
            found = done.any(axis=1)
            first = done.argmax(axis=1) + 1
            log_a[todo[found]] = total[found, first[found]]
            todo = todo[~found]
            if not todo.size:
                break
        curve[frac] = log_a / (alphas - 1)
    return curve


def _log_half_erfc(special, x):
    """log(erfc(x) / 2) as dp-accounting writes it: ``log(0.5) + _log_erfc(x)``."""
    return math.log(0.5) + (math.log(2) + special.log_ndtr(-x * 2**0.5))


def _rdp_epsilon(orders, rdp, delta):
    """``dp_accounting.rdp.compute_epsilon(orders, rdp, delta)[0]``, its arithmetic vectorised.

    Its loop over the orders computes, for each order a with RDP r (delta in (0, 1))::

        0                                                   if r < 0 or delta**2 + expm1(-r) > 0
        r + log1p(-1 / a) - log(delta * a) / (a - 1)        elif a > 1.01
        inf                                                 otherwise

    and answers max(0, the first smallest). The terms of a alone are its ``math`` calls, made
    once per (orders, delta) (:func:`_order_terms`); ``expm1(-r)`` is ``math.expm1`` too, on
    each r; the rest is IEEE arithmetic in the same order, elementwise, so the same bits
    (tested against dp-accounting). It skips the warning dp-accounting logs for r < 0.
    """
    log1p_terms, log_terms, denominators, usable = _order_terms(orders.tobytes(), delta)
    with np.errstate(invalid="ignore"):
        eps = (rdp + log1p_terms) - log_terms / denominators
    eps[~usable] = np.inf
    square = delta**2
    eps[[r < 0 or square + math.expm1(-r) > 0 for r in rdp.tolist()]] = 0.0
    return float(max(0, eps[np.argmin(eps)]))


@functools.lru_cache(maxsize=16)
def _order_terms(orders_bytes, delta):
    """(log1p(-1 / a), log(delta * a), a - 1, a > 1.01) for each order a, as arrays.

    dp-accounting's ``math`` calls, once per (orders, delta); 0 (and a denominator of 1) where
    its bound is not used (a <= 1.01).
    """
    orders = np.frombuffer(orders_bytes).tolist()
    usable = [a > 1.01 for a in orders]
    log1p_terms = [math.log1p(-1 / a) if ok else 0.0 for a, ok in zip(orders, usable, strict=True)]
    log_terms = [math.log(delta * a) if ok else 0.0 for a, ok in zip(orders, usable, strict=True)]
    denominators = [a - 1 if ok else 1.0 for a, ok in zip(orders, usable, strict=True)]
    terms = [np.array(values) for values in (log1p_terms, log_terms, denominators, usable)]
    for values in terms:
        values.setflags(write=False)
    return tuple(terms)


@functools.lru_cache(maxsize=4)
def _pld_step(sampling_rate, noise_multiplier):
    """The privacy loss distribution of one step, as dp-accounting's PLD accountant builds it."""
    dp = _dp_accounting()
    return dp.pld.privacy_loss_distribution.from_gaussian_mechanism(
        standard_deviation=noise_multiplier, value_discretization_interval=_PLD_INTERVAL,
        sampling_prob=sampling_rate,
        neighboring_relation=dp.NeighboringRelation.ADD_OR_REMOVE_ONE)


_PLD_INTERVAL = 1e-4
"""dp-accounting's PLDAccountant's default value_discretization_interval."""


def _epsilon(dp, accountant, sampling_rate, noise_multiplier, steps, delta):
    """What ``accountant`` says of ``steps`` steps, from the cached one-step curve or PLD.

    Equal to composing ``_event(...)`` into a fresh accountant and asking it (the accountant's
    own arithmetic: RDP adds ``steps`` times the step's curve, PLD self-composes the step's
    distribution ``steps`` times onto the identity), without recomputing the step.
    """
    if noise_multiplier == 0:  # no noise, no guarantee: what both accountants answer
        return math.inf
    if accountant == "rdp":
        orders, curve = _rdp_step(sampling_rate, noise_multiplier)
        return _rdp_epsilon(orders, steps * curve, delta)
    pld = dp.pld.privacy_loss_distribution
    composed = pld.identity(value_discretization_interval=_PLD_INTERVAL).compose(
        _pld_step(sampling_rate, noise_multiplier).self_compose(steps))
    return float(composed.get_epsilon_for_delta(delta))


class _Ledger:
    """A stand-in for a fresh dp-accounting accountant, answering through :func:`_epsilon`.

    calibrate_dp_mechanism only composes one event into it and asks for epsilon; the curve of
    each sigma it tries is then cached for the checks and the epochs that follow.
    """

    def __init__(self, dp, accountant):
        self._dp, self._accountant = dp, accountant
        self.ledger = dp.NoOpDpEvent()

    def compose(self, event):
        self.ledger = event
        return self

    def get_epsilon(self, delta):
        step = self.ledger.event
        return _epsilon(self._dp, self._accountant, step.sampling_probability,
                        step.event.noise_multiplier, self.ledger.count, delta)


def _check(sampling_rate, steps, delta, accountant):
    sampling_rate = check_float(sampling_rate, "sampling_rate", min_value=0, max_value=1,
                                include_min=False)
    steps = check_int(steps, "steps", min_value=0)
    delta = check_float(delta, "delta", min_value=0, max_value=1, include_min=False,
                        include_max=False)
    accountant = check_option(accountant, "accountant", set(ACCOUNTANTS))
    return sampling_rate, steps, delta, accountant


def compute_epsilon(sampling_rate, noise_multiplier, steps, delta, *, accountant="rdp"):
    """Epsilon of ``steps`` DP-SGD steps at ``delta`` (add-or-remove-one neighbours).

    Each step is the Gaussian mechanism with noise multiplier sigma on a Poisson sample of
    rate q (:class:`PoissonBatches`); the steps compose::

        epsilon = accountant.get_epsilon(delta) after composing
                  SelfComposed(PoissonSampled(q, Gaussian(sigma)), steps)

    The step's RDP curve (or PLD) is computed once per (q, sigma) and cached; epsilon after
    ``steps`` steps is the accountant's own arithmetic on it (``steps`` times the curve, or the
    PLD self-composed ``steps`` times), equal to composing the event above from scratch.

    Parameters
    ----------
    sampling_rate : float
        q in (0, 1].
    noise_multiplier : float
        sigma: 0 (which gives ``inf``, no guarantee) or in :data:`NOISE_MULTIPLIER_RANGE`.
    steps : int
        Number of steps (batches), >= 0.
    delta : float
        In (0, 1); take it well below 1 / n_samples.
    accountant : {"rdp", "pld"}, default="rdp"
        ``"rdp"``: Renyi DP (Mironov 2017), an upper bound; ``"pld"``: privacy loss
        distributions (Koskela et al. 2020), tighter (a smaller epsilon) and slower.

    Returns
    -------
    float

    Examples
    --------
    >>> round(compute_epsilon(256 / 60000, 1.1, 60 * 234, 1e-5), 2)
    2.59
    """
    sampling_rate, steps, delta, accountant = _check(sampling_rate, steps, delta, accountant)
    noise_multiplier = check_noise_multiplier(noise_multiplier)
    if steps == 0:
        return 0.0
    if noise_multiplier == 0:
        return math.inf
    return _epsilon(_dp_accounting(), accountant, sampling_rate, noise_multiplier, steps, delta)


def calibrate_noise_multiplier(target_epsilon, delta, sampling_rate, steps, *,
                               accountant="rdp", tol=1e-4):
    """The smallest noise multiplier sigma whose ``steps`` steps stay within ``target_epsilon``.

    A bracketing search (Brent's method, ``dp_accounting.calibrate_dp_mechanism``) over sigma,
    for which epsilon decreases::

        sigma = min { s : compute_epsilon(q, s, steps, delta) <= target_epsilon }   (within tol)

    Parameters
    ----------
    target_epsilon : float
        In (0, :data:`MAX_EPSILON`].
    delta, sampling_rate, steps, accountant
        As in :func:`compute_epsilon`; steps >= 1.
    tol : float, default=1e-4
        Tolerance on sigma.

    Returns
    -------
    float
    """
    sampling_rate, steps, delta, accountant = _check(sampling_rate, steps, delta, accountant)
    target_epsilon = check_target_epsilon(target_epsilon)
    steps = check_int(steps, "steps", min_value=1)
    dp = _dp_accounting()
    sigma = dp.calibrate_dp_mechanism(
        lambda: _Ledger(dp, accountant),
        lambda s: _event(dp, sampling_rate, s, steps),
        target_epsilon, delta, dp.LowerEndpointAndGuess(0.0, 1.0), tol=tol)
    # Brent's method returns a sigma within tol of the boundary, from either side: step up to
    # the side that keeps the promise.
    while compute_epsilon(sampling_rate, sigma, steps, delta,
                          accountant=accountant) > target_epsilon:
        sigma += tol
    return float(sigma)


class PrivacyAccountant(Callback):
    """Records the epsilon spent after each epoch of a DP-SGD run.

    After epoch e, with ``steps_per_epoch`` steps an epoch::

        epsilons[e - 1] = compute_epsilon(q, sigma, e * steps_per_epoch, delta)

    from the step's cached curve (as from scratch, at the cost of arithmetic), so a resumed
    run reports the same figures.

    Parameters
    ----------
    sampling_rate : float
    noise_multiplier : float
    steps_per_epoch : int
    delta : float
    accountant : {"rdp", "pld"}, default="rdp"

    Attributes
    ----------
    epsilons : list of float
        Epsilon after each completed epoch.
    """

    def __init__(self, sampling_rate, noise_multiplier, steps_per_epoch, delta,
                 accountant="rdp"):
        self.sampling_rate, _, self.delta, self.accountant = _check(
            sampling_rate, 0, delta, accountant)
        self.noise_multiplier = check_noise_multiplier(noise_multiplier)
        self.steps_per_epoch = check_int(steps_per_epoch, "steps_per_epoch", min_value=1)
        self.epsilons = []

    def epsilon(self, epochs):
        """Epsilon after ``epochs`` epochs."""
        return compute_epsilon(self.sampling_rate, self.noise_multiplier,
                               epochs * self.steps_per_epoch, self.delta,
                               accountant=self.accountant)

    def on_train_begin(self, run):
        if run.start_epoch == 1 and not run.skip:
            self.epsilons = []

    def on_epoch_end(self, run):
        self.epsilons.append(self.epsilon(run.epoch))

    def state_dict(self):
        """The epsilons so far, for checkpoints."""
        return {"epsilons": list(self.epsilons)}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned."""
        self.epsilons = [float(value) for value in state["epsilons"]]

    def check_restored(self, history):
        """The restored epsilons must cover exactly the completed epochs."""
        if len(self.epsilons) != history.n_epochs:
            raise ValueError(
                f"it holds {len(self.epsilons)} epsilons for {history.n_epochs} epochs")

    def __repr__(self):
        return (f"PrivacyAccountant(sampling_rate={self.sampling_rate!r}, "
                f"noise_multiplier={self.noise_multiplier!r}, "
                f"steps_per_epoch={self.steps_per_epoch!r}, delta={self.delta!r}, "
                f"accountant={self.accountant!r})")
