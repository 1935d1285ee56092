"""Optimizers and schedules: one step vs the formula, trajectories vs reference recurrences."""

import re

import numpy as np
import pytest

from numnet import (
    SGD,
    Adam,
    AdamW,
    Constant,
    ExponentialDecay,
    InverseScaling,
    ReduceOnPlateau,
    StepDecay,
    clip_grad_norm,
)

# --- one step against the written formula -----------------------------------------------------


@pytest.fixture
def start(rng):
    return rng.normal(size=7), rng.normal(size=7)


def test_sgd_one_step_is_params_minus_lr_times_grad(start):
    params, grads = start[0].copy(), start[1]
    SGD(learning_rate=0.1).step(params, grads)
    np.testing.assert_array_equal(params, start[0] - 0.1 * grads)


def test_sgd_momentum_first_step_uses_velocity_equal_to_grad(start):
    params, grads = start[0].copy(), start[1]
    opt = SGD(learning_rate=0.1, momentum=0.9)
    opt.step(params, grads)
    np.testing.assert_array_equal(opt.velocity, grads)
    np.testing.assert_array_equal(params, start[0] - 0.1 * grads)


def test_sgd_nesterov_first_step(start):
    params, grads = start[0].copy(), start[1]
    SGD(learning_rate=0.1, momentum=0.9, nesterov=True).step(params, grads)
    np.testing.assert_allclose(params, start[0] - 0.1 * (grads + 0.9 * grads), rtol=1e-15)


def test_sgd_momentum_second_step(start, rng):
    params, g1 = start[0].copy(), start[1]
    g2 = rng.normal(size=7)
    opt = SGD(learning_rate=0.1, momentum=0.9)
    opt.step(params, g1)
    opt.step(params, g2)
    v2 = 0.9 * g1 + g2
    np.testing.assert_allclose(params, start[0] - 0.1 * g1 - 0.1 * v2, rtol=1e-15)


@pytest.mark.parametrize("t", [1, 2, 3])
def test_adam_step_t_matches_the_paper(t, rng):
    params = rng.normal(size=7)
    grads = [rng.normal(size=7) for _ in range(t)]
    lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-3  # a large eps makes its placement visible
    opt = Adam(lr, b1, b2, eps)
    expected = params.copy()
    m = v = np.zeros(7)
    for step, g in enumerate(grads, start=1):
        opt.step(params, g)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**step), v / (1 - b2**step)
        expected = expected - lr * m_hat / (np.sqrt(v_hat) + eps)
    # Adam folds the bias corrections into two scalars (see its Notes): equal up to rounding.
    np.testing.assert_allclose(params, expected, rtol=1e-14)
    assert opt.t == t


def test_adamw_step_decays_then_takes_the_adam_step(start):
    params, grads = start[0].copy(), start[1]
    lr, wd = 0.01, 0.1
    AdamW(lr, weight_decay=wd).step(params, grads)
    decayed = start[0] * (1 - lr * wd)
    # first Adam step: m_hat = g, v_hat = g^2
    expected = decayed - lr * grads / (np.abs(grads) + 1e-8)
    np.testing.assert_allclose(params, expected, rtol=1e-14)


def test_adamw_without_decay_is_adam(start, rng):
    a, b = start[0].copy(), start[0].copy()
    adam, adamw = Adam(0.01), AdamW(0.01, weight_decay=0.0)
    for _ in range(5):
        g = rng.normal(size=7)
        adam.step(a, g)
        adamw.step(b, g)
    np.testing.assert_array_equal(a, b)


# --- many steps against independent reference recurrences -------------------------------------

N_STEPS = 20


@pytest.fixture
def quadratic(rng):
    """f(theta) = 0.5 theta' A theta - b' theta, gradient A theta - b (A symmetric positive)."""
    M = rng.normal(size=(6, 6))
    A = M @ M.T / 6 + np.eye(6)
    b = rng.normal(size=6)
    theta0 = rng.normal(size=6)
    return A, b, theta0


def run(optimizer, quadratic, n_steps=N_STEPS):
    A, b, theta0 = quadratic
    params = theta0.copy()
    grads = np.empty_like(params)
    trajectory = []
    for _ in range(n_steps):
        np.subtract(A @ params, b, out=grads)  # written in place, like Sequential.grads
        optimizer.step(params, grads)
        trajectory.append(params.copy())
    return np.array(trajectory)


def reference_sgd(quadratic, lr, mu, nesterov, n_steps=N_STEPS):
    """PyTorch's SGD (dampening 0), written out: buf = mu buf + g; d = g + mu buf or buf."""
    A, b, theta = quadratic[0], quadratic[1], quadratic[2].copy()
    buf, out = None, []
    for _ in range(n_steps):
        g = A @ theta - b
        if mu:
            buf = g.copy() if buf is None else mu * buf + g
            g = g + mu * buf if nesterov else buf
        theta = theta - lr * g
        out.append(theta)
    return np.array(out)


def reference_adam(quadratic, lr, b1, b2, eps, weight_decay=0.0, n_steps=N_STEPS):
    """The paper's Algorithm 1 (plus decoupled decay for AdamW), written out."""
    A, b, theta = quadratic[0], quadratic[1], quadratic[2].copy()
    m, v, out = np.zeros_like(theta), np.zeros_like(theta), []
    for t in range(1, n_steps + 1):
        g = A @ theta - b
        theta = theta * (1 - lr * weight_decay)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        out.append(theta)
    return np.array(out)


@pytest.mark.parametrize(
    ("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.9, True), (0.5, True)],
    ids=["plain", "momentum", "nesterov", "nesterov_half"],
)
def test_sgd_trajectory_matches_reference_recurrence(momentum, nesterov, quadratic):
    ours = run(SGD(0.05, momentum=momentum, nesterov=nesterov), quadratic)
    expected = reference_sgd(quadratic, 0.05, momentum, nesterov)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)
    assert not np.allclose(ours[0], ours[-1])  # it really moved


@pytest.mark.parametrize(
    ("optimizer", "weight_decay"),
    [(lambda: Adam(0.05, 0.9, 0.999, 1e-8), 0.0),
     (lambda: Adam(0.05, 0.5, 0.9, 1e-2), 0.0),
     (lambda: AdamW(0.05, 0.9, 0.999, 1e-8, weight_decay=0.1), 0.1)],
    ids=["adam", "adam_odd_betas", "adamw"],
)
def test_adam_trajectory_matches_reference_recurrence(optimizer, weight_decay, quadratic):
    opt = optimizer()
    ours = run(opt, quadratic)
    expected = reference_adam(quadratic, opt.learning_rate, opt.beta1, opt.beta2, opt.epsilon,
                              weight_decay)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)


def test_sgd_converges_on_the_quadratic(quadratic):
    A, b, _ = quadratic
    final = run(SGD(0.1, momentum=0.5), quadratic, n_steps=500)[-1]
    np.testing.assert_allclose(final, np.linalg.solve(A, b), rtol=1e-8)


def test_float32_state_and_params_stay_float32(rng):
    for opt in (SGD(0.1, momentum=0.9), Adam(0.1), AdamW(0.1)):
        params = rng.normal(size=5).astype(np.float32)
        opt.step(params, rng.normal(size=5).astype(np.float32))
        assert params.dtype == np.float32
        for value in opt.state_dict().values():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32


# --- state ------------------------------------------------------------------------------------

OPTIMIZERS = {
    "sgd_momentum": lambda: SGD(0.05, momentum=0.9),
    "nesterov": lambda: SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: Adam(0.05),
    "adamw": lambda: AdamW(0.05, weight_decay=0.1),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name, quadratic):
    A, b, theta0 = quadratic
    reference = OPTIMIZERS[name]()
    params = theta0.copy()
    for _ in range(5):
        reference.step(params, A @ params - b)
    state = reference.state_dict()
    resumed = OPTIMIZERS[name]()
    resumed.load_state_dict(state)
    # the loaded state is a copy: changing the dict does not reach the optimizer
    for value in state.values():
        if isinstance(value, np.ndarray):
            value[...] = np.nan
    params_resumed = params.copy()
    for _ in range(5):
        reference.step(params, A @ params - b)
        resumed.step(params_resumed, A @ params_resumed - b)
    np.testing.assert_array_equal(params_resumed, params)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_reset_forgets_the_state(name, quadratic):
    A, b, theta0 = quadratic
    fresh_run = run(OPTIMIZERS[name](), quadratic, n_steps=3)
    opt = OPTIMIZERS[name]()
    run(opt, quadratic, n_steps=4)
    opt.reset()
    np.testing.assert_array_equal(run(opt, quadratic, n_steps=3), fresh_run)


def test_empty_state_dicts():
    assert SGD(0.1).state_dict() == {}
    assert SGD(0.1, momentum=0.5).state_dict() == {}
    assert Adam().state_dict() == {"t": 0}


# --- gradient clipping ------------------------------------------------------------------------

def test_clip_grad_norm_scales_down_to_max_norm(rng):
    g = rng.normal(size=50) * 10
    original = g.copy()
    norm = clip_grad_norm(g, 1.5)
    assert norm == pytest.approx(np.linalg.norm(original), rel=1e-14)
    np.testing.assert_allclose(np.linalg.norm(g), 1.5, rtol=1e-14)
    np.testing.assert_allclose(g, original * 1.5 / np.linalg.norm(original), rtol=1e-14)


def test_clip_grad_norm_leaves_small_gradients_alone(rng):
    g = rng.normal(size=10) * 0.01
    original = g.copy()
    assert clip_grad_norm(g, 1.0) == pytest.approx(np.linalg.norm(original), rel=1e-14)
    np.testing.assert_array_equal(g, original)


def test_clip_grad_norm_keeps_float32(rng):
    g = (rng.normal(size=10) * 10).astype(np.float32)
    clip_grad_norm(g, 1.0)
    assert g.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(g), 1.0, rtol=1e-6)


# --- invalid hyperparameters ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("make", "exc", "message"),
    [
        (lambda: SGD(learning_rate=-0.1), ValueError,
         "learning_rate must be a float > 0, got -0.1."),
        (lambda: SGD(learning_rate=0), ValueError, "learning_rate must be a float > 0, got 0.0."),
        (lambda: SGD(learning_rate="fast"), TypeError,
         "learning_rate must be a float > 0, got 'fast'."),
        (lambda: SGD(momentum=1.0), ValueError, "momentum must be a float in [0, 1), got 1.0."),
        (lambda: SGD(momentum=-0.5), ValueError,
         "momentum must be a float in [0, 1), got -0.5."),
        (lambda: SGD(momentum=0.9, nesterov="yes"), TypeError,
         "nesterov must be a bool, got 'yes'."),
        (lambda: SGD(nesterov=True), ValueError,
         "momentum must be > 0 when nesterov=True, got 0.0."),
        (lambda: Adam(learning_rate=float("nan")), ValueError,
         "learning_rate must be a finite float > 0, got nan."),
        (lambda: Adam(beta1=1.0), ValueError, "beta1 must be a float in [0, 1), got 1.0."),
        (lambda: Adam(beta2=-0.1), ValueError, "beta2 must be a float in [0, 1), got -0.1."),
        (lambda: Adam(epsilon=0.0), ValueError, "epsilon must be a float > 0, got 0.0."),
        (lambda: AdamW(weight_decay=-1), ValueError,
         "weight_decay must be a float >= 0, got -1.0."),
        (lambda: clip_grad_norm(np.ones(3), 0), ValueError,
         "max_norm must be a float > 0, got 0.0."),
    ],
    ids=["lr_negative", "lr_zero", "lr_str", "momentum_one", "momentum_negative",
         "nesterov_str", "nesterov_without_momentum", "lr_nan", "beta1_one", "beta2_negative",
         "epsilon_zero", "weight_decay_negative", "max_norm_zero"],
)
def test_invalid_hyperparameters(make, exc, message):
    with pytest.raises(exc, match=re.escape(message)) as error:
        make()
    assert str(error.value) == message          # the whole message, nothing around it


def test_repr_lists_the_hyperparameters():
    assert repr(SGD(0.1, momentum=0.9, nesterov=True)) == (
        "SGD(learning_rate=0.1, momentum=0.9, nesterov=True)")
    assert repr(AdamW(0.01)) == (
        "AdamW(learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-08, weight_decay=0.01)")


# --- learning-rate schedules ------------------------------------------------------------------

def lrs(schedule, epochs, initial=1.0, metrics=None, samples_per_epoch=None):
    schedule.start(initial)
    out = []
    for epoch in range(1, epochs + 1):
        out.append(schedule.update(
            epoch,
            metric=None if metrics is None else metrics[epoch - 1],
            n_samples_seen=None if samples_per_epoch is None else samples_per_epoch * epoch,
        ))
    return out


def test_constant_schedule():
    assert lrs(Constant(), 4, initial=0.3) == [0.3] * 4


def test_inverse_scaling_by_epoch():
    np.testing.assert_allclose(lrs(InverseScaling(power_t=0.5), 3, initial=0.6),
                               [0.6 / np.sqrt(2), 0.6 / np.sqrt(3), 0.6 / 2], rtol=1e-15)


def test_inverse_scaling_by_sample_is_sklearns_invscaling():
    # scikit-learn: lr = learning_rate_init / (t + 1) ** power_t, t = samples seen
    np.testing.assert_allclose(
        lrs(InverseScaling(power_t=0.25, unit="sample"), 3, initial=0.1, samples_per_epoch=15),
        [0.1 / 16**0.25, 0.1 / 31**0.25, 0.1 / 46**0.25], rtol=1e-15,
    )


def test_step_decay():
    assert lrs(StepDecay(step_size=2, gamma=0.5), 6, initial=1.0) == [
        1.0, 0.5, 0.5, 0.25, 0.25, 0.125]


def test_exponential_decay():
    np.testing.assert_allclose(lrs(ExponentialDecay(gamma=0.9), 4, initial=2.0),
                               [1.8, 1.62, 1.458, 1.3122], rtol=1e-15)


PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.93, 0.85, 0.86, 0.87, 0.88, 0.89]


def test_reduce_on_plateau():
    # wait counts epochs that do not beat the best; at wait == patience (2) lr halves
    assert lrs(ReduceOnPlateau(factor=0.5, patience=2, min_delta=0.0), 9,
               metrics=PLATEAU_METRICS) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.125]


def test_reduce_on_plateau_floor_and_min_delta():
    assert lrs(ReduceOnPlateau(factor=0.5, patience=2, min_delta=0.0, min_learning_rate=0.2),
               9, metrics=PLATEAU_METRICS)[-1] == 0.2
    # With min_delta=0.06 the drop 0.9 -> 0.85 does not count as an improvement, but (as in
    # scikit-learn's no-improvement counter) it still lowers the best value to 0.85.
    assert lrs(ReduceOnPlateau(factor=0.5, patience=2, min_delta=0.06), 9,
               metrics=PLATEAU_METRICS) == [1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]


def test_reduce_on_plateau_resets_on_start():
    schedule = ReduceOnPlateau(factor=0.5, patience=1)
    lrs(schedule, 5, metrics=[1, 2, 3, 4, 5])
    assert lrs(schedule, 2, metrics=[1, 0.5]) == [1.0, 1.0]


def test_reduce_on_plateau_needs_a_metric():
    schedule = ReduceOnPlateau()
    schedule.start(1.0)
    with pytest.raises(ValueError) as info:
        schedule.update(1)
    assert str(info.value) == "ReduceOnPlateau needs a metric; the training loop passes the loss."


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: InverseScaling(power_t=-1), "power_t must be a float >= 0, got -1.0."),
        (lambda: InverseScaling(unit="batch"),
         "unit must be one of {'epoch', 'sample'}, got 'batch'."),
        (lambda: StepDecay(0), "step_size must be an integer >= 1, got 0."),
        (lambda: StepDecay(2, gamma=0), "gamma must be a float in (0, 1], got 0.0."),
        (lambda: ExponentialDecay(1.5), "gamma must be a float in (0, 1], got 1.5."),
        (lambda: ReduceOnPlateau(factor=1.0), "factor must be a float in (0, 1), got 1.0."),
        (lambda: ReduceOnPlateau(patience=0), "patience must be an integer >= 1, got 0."),
        (lambda: ReduceOnPlateau(min_delta=-1), "min_delta must be a float >= 0, got -1.0."),
    ],
    ids=["power_t", "unit", "step_size", "step_gamma", "exp_gamma", "factor", "patience",
         "min_delta"],
)
def test_schedule_errors(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_clip_grad_norm_scales_float32_gradients_whose_square_overflows():
    grads = np.full(4, 1e20, dtype=np.float32)  # the sum of squares (4e40) overflows float32
    norm = clip_grad_norm(grads, 1.0)
    np.testing.assert_allclose(norm, 2e20, rtol=1e-6)
    np.testing.assert_allclose(grads, np.full(4, 0.5, dtype=np.float32), rtol=1e-6)
    assert grads.dtype == np.float32


# --- gaps found by mutation testing (issue 28) ------------------------------------------------

@pytest.mark.parametrize("make", [lambda: Adam(0.01, beta1=0.8, beta2=0.99),
                                  lambda: AdamW(0.01, beta1=0.8, beta2=0.99, weight_decay=0.1)],
                         ids=["adam", "adamw"])
def test_adam_reports_the_papers_moments(make, start):
    params, g1 = start[0].copy(), start[1]
    opt = make()
    assert opt.m is None and opt.v is None
    opt.step(params, g1)
    np.testing.assert_allclose(opt.m, (1 - 0.8) * g1, rtol=1e-15)
    np.testing.assert_allclose(opt.v, (1 - 0.99) * g1**2, rtol=1e-15)
    g2 = -2.0 * g1 + 0.5
    opt.step(params, g2)
    np.testing.assert_allclose(opt.m, 0.8 * (0.2 * g1) + 0.2 * g2, rtol=1e-14)
    np.testing.assert_allclose(opt.v, 0.99 * (0.01 * g1**2) + 0.01 * g2**2, rtol=1e-14)


def test_adamw_passes_its_adam_arguments_on(start):
    # epsilon, beta1 and beta2 reach the update: a large epsilon is visible in the first step.
    lr, b1, b2, eps = 0.01, 0.7, 0.9, 0.5
    params, grads = start[0].copy(), start[1]
    opt = AdamW(lr, beta1=b1, beta2=b2, epsilon=eps, weight_decay=0.0)
    assert (opt.beta1, opt.beta2, opt.epsilon) == (b1, b2, eps)
    opt.step(params, grads)
    np.testing.assert_allclose(params, start[0] - lr * grads / (np.abs(grads) + eps), rtol=1e-14)
    adam_params = start[0].copy()
    adam = Adam(lr, beta1=b1, beta2=b2, epsilon=eps)
    adam.step(adam_params, grads)
    for _ in range(3):
        g = np.sin(params)
        opt.step(params, g)
        adam.step(adam_params, g)
    np.testing.assert_array_equal(params, adam_params)


def test_default_hyperparameters():
    assert SGD().get_config() == {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False}
    assert Adam().get_config() == {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999,
                                   "epsilon": 1e-8}
    assert AdamW().get_config() == {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999,
                                    "epsilon": 1e-8, "weight_decay": 0.01}
    params, grads = np.ones(3), np.array([1.0, -2.0, 4.0])
    SGD().step(params, grads)
    np.testing.assert_allclose(params, 1 - 0.01 * grads, rtol=1e-15)


@pytest.mark.parametrize("make", [Adam, AdamW, lambda: SGD(0.1, momentum=0.5)],
                         ids=["adam", "adamw", "sgd_momentum"])
def test_state_saved_before_any_step_loads(make, start):
    fresh, loaded = make(), make()
    loaded.load_state_dict(fresh.state_dict())
    a, b = start[0].copy(), start[0].copy()
    for _ in range(3):
        fresh.step(a, np.cos(a))
        loaded.step(b, np.cos(b))
    np.testing.assert_array_equal(a, b)
    assert loaded.state_dict().keys() == fresh.state_dict().keys()


@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: SGD(0.1, momentum=0.5),
                                  lambda: SGD(0.1, momentum=0.5, nesterov=True), Adam, AdamW],
                         ids=["sgd", "momentum", "nesterov", "adam", "adamw"])
def test_one_optimizer_reused_across_sizes_and_dtypes_matches_fresh_ones(make):
    # The scratch buffer is kept between steps; a new size or dtype must not reuse it.
    rng = np.random.default_rng(5)
    reused = make()
    for size, dtype in [(1000, np.float64), (1000, np.float32), (600, np.float32),
                        (1000, np.float64)]:
        start = rng.normal(size=size).astype(dtype)
        grads = [rng.normal(size=size).astype(dtype) for _ in range(2)]
        reused.reset()
        fresh, a, b = make(), start.copy(), start.copy()
        for g in grads:
            reused.step(a, g)
            fresh.step(b, g)
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)


def test_plain_sgd_keeps_no_velocity():
    # momentum 0 takes the plain path: no state to save, nothing carried between steps.
    opt, params = SGD(0.1), np.ones(3)
    opt.step(params, np.array([1.0, np.inf, 2.0]))
    opt.step(params, np.array([1.0, 1.0, 2.0]))
    assert opt.state_dict() == {} and opt.velocity is None
    np.testing.assert_allclose(params, [0.8, -np.inf, 0.6], rtol=1e-15)   # not nan: no 0 * inf


def test_the_base_class_reports_its_learning_rate():
    class Constant(SGD.__mro__[1]):                   # numnet.optimizers.Optimizer
        def step(self, params, grads):
            params -= self.learning_rate

    opt = Constant(0.5)
    assert opt.get_config() == {"learning_rate": 0.5}
    assert repr(opt) == "Constant(learning_rate=0.5)"
    assert opt.state_dict() == {}


@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: SGD(0.1, momentum=0.9),
                                  lambda: SGD(0.1, momentum=0.9, nesterov=True),
                                  lambda: Adam(0.1), lambda: AdamW(0.1)],
                         ids=["sgd", "momentum", "nesterov", "adam", "adamw"])
def test_a_step_allocates_no_parameter_sized_temporaries(make):
    import tracemalloc

    rng = np.random.default_rng(0)
    params, grads = rng.normal(size=60_000), rng.normal(size=60_000)   # 480 kB each
    opt = make()
    opt.step(params, grads)                           # allocates the state and the scratch
    tracemalloc.start()
    opt.step(params, grads)
    opt.step(params, grads)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10_000, peak


@pytest.mark.parametrize("make", [Adam, AdamW], ids=["adam", "adamw"])
def test_large_adam_steps_match_the_paper(make):
    # 70,000 parameters: the single compiled pass where numba is installed (numnet.kernels),
    # NumPy's otherwise; the paper's numbers either way.
    rng = np.random.default_rng(1)
    params = rng.normal(size=70_000)
    lr, b1, b2, eps, wd = 0.01, 0.8, 0.99, 1e-3, 0.1
    opt = make(lr, b1, b2, eps) if make is Adam else make(lr, b1, b2, eps, weight_decay=wd)
    expected, m, v = params.copy(), 0.0, 0.0
    for t in (1, 2, 3):
        g = rng.normal(size=params.size)
        opt.step(params, g)
        if make is AdamW:
            expected = expected * (1 - lr * wd)
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        expected = expected - lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(params, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(opt.m, m, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(opt.v, v, rtol=1e-13, atol=1e-15)


# --- Adam.load_state_dict refuses states that no run writes ------------------------------------

def _adam_state(t=1, m_sum=(0.5, -1.0), v_sum=(0.25, 1.0)):
    state = {"t": t}
    if m_sum is not None:
        state["m_sum"] = np.array(m_sum)
    if v_sum is not None:
        state["v_sum"] = np.array(v_sum)
    return state


@pytest.mark.parametrize(("state", "message"), [
    (_adam_state(t=True), "Adam's step count t must be an integer in [0, 2**53], got True"),
    (_adam_state(t=1.0), "Adam's step count t must be an integer in [0, 2**53], got 1.0"),
    (_adam_state(t=-1), "Adam's step count t must be an integer in [0, 2**53], got -1"),
    (_adam_state(t=2**53 + 1),
     "Adam's step count t must be an integer in [0, 2**53], got 9007199254740993"),
    (_adam_state(t="x" * 80),
     "Adam's step count t must be an integer in [0, 2**53], got '" + "x" * 49),
    (_adam_state(v_sum=None), "Adam's moment sums must both be present after a step and "
                              "absent before it, got t=1 with 1 of them"),
    (_adam_state(m_sum=None), "Adam's moment sums must both be present after a step and "
                              "absent before it, got t=1 with 1 of them"),
    (_adam_state(t=0), "Adam's moment sums must both be present after a step and absent "
                       "before it, got t=0 with 2 of them"),
    (_adam_state(t=3, m_sum=None, v_sum=None), "Adam's moment sums must both be present after "
                                               "a step and absent before it, got t=3 with 0 of "
                                               "them"),
    (_adam_state(m_sum=(np.nan, 0.0)), "Adam's moment sums must be finite"),
    (_adam_state(v_sum=(0.0, np.inf)), "Adam's moment sums must be finite"),
    (_adam_state(v_sum=(1.0, -0.5)),
     "Adam's second-moment sum V must be >= 0 (a sum of squares), got -0.5"),
], ids=["t_bool", "t_float", "t_negative", "t_too_large", "t_long_repr", "no_v", "no_m",
        "moments_at_0", "no_moments_after_steps", "m_nan", "v_inf", "v_negative"])
def test_adam_refuses_a_state_no_run_writes(state, message):
    from numnet.exceptions import InvalidStateError

    opt = Adam()
    with pytest.raises(InvalidStateError) as error:
        opt.load_state_dict(state)
    assert str(error.value) == message
    assert opt.t == 0 and opt.m is None                 # nothing was half-loaded


@pytest.mark.parametrize("t", [2**53, np.int64(7), 1])
def test_adam_accepts_every_state_a_run_writes(t):
    opt = Adam()
    state = _adam_state(t=t, v_sum=(0.0, 1.0))          # V = 0 where every gradient was 0
    opt.load_state_dict(state)
    assert opt.t == t and type(opt.t) is int
    np.testing.assert_array_equal(opt.state_dict()["m_sum"], state["m_sum"])
    np.testing.assert_array_equal(opt.state_dict()["v_sum"], state["v_sum"])
    assert opt.state_dict()["m_sum"] is not state["m_sum"]       # a copy


# --- schedules: mutation-testing gaps (make mutate) -------------------------------------------


def test_cosine_annealing_warmup_then_cosine_then_the_floor():
    from numnet.schedules import CosineAnnealing

    schedule = CosineAnnealing(n_epochs=5, warmup_epochs=2, min_learning_rate=0.1)
    schedule.start(1.0)
    assert schedule.learning_rate == 0.5  # epoch 0 of the warm-up: lr_0 * 1 / W
    # t = 1: 2/2; t = 2 = W: the cosine's top; t = 3, 4: 0.1 + 0.9 (1 + cos(pi k / 3)) / 2
    np.testing.assert_allclose(lrs(schedule, 6), [1.0, 1.0, 0.775, 0.325, 0.1, 0.1],
                               rtol=1e-15)
    schedule = CosineAnnealing(n_epochs=4)
    schedule.start(2.0)
    assert schedule.learning_rate == 2.0
    np.testing.assert_allclose(lrs(schedule, 4, initial=2.0),
                               [1 + np.cos(np.pi / 4), 1.0, 1 + np.cos(3 * np.pi / 4), 0.0],
                               rtol=1e-15, atol=1e-16)
    assert CosineAnnealing(3).get_config() == {"n_epochs": 3, "warmup_epochs": 0,
                                               "min_learning_rate": 0.0}


def test_coslog4_and_flat_cosine_closed_forms():
    from numnet.schedules import CosLog4, FlatCosine

    def coslog4(t, n):
        u = min((t + 0.5) / n, 1.0)
        return (1 - np.cos(2 * np.pi * np.log2(1 + 15 * u))) / 2

    def flat_cos(t, n):
        u = min((t + 0.5) / n, 1.0)
        return (1 + np.cos(np.pi * max(0.0, 2 * u - 1))) / 2

    for make, factor in ((CosLog4, coslog4), (FlatCosine, flat_cos)):
        schedule = make(n_epochs=6)
        schedule.start(0.5)
        assert schedule.learning_rate == pytest.approx(0.5 * factor(0, 6), rel=1e-14, abs=0)
        np.testing.assert_allclose(lrs(schedule, 8, initial=0.5),
                                   [0.5 * factor(t, 6) for t in range(1, 9)],
                                   rtol=1e-13, atol=1e-17)
        assert schedule.get_config() == {"n_epochs": 6}
    # values at named points: the first half of flat_cos is flat, both end at 0
    assert FlatCosine.factor(0.3) == 1.0 and FlatCosine.factor(0.75) == pytest.approx(0.5)
    assert CosLog4.factor(1.0) == pytest.approx(0.0, abs=1e-15)
    assert CosLog4.factor(1 / 15) == pytest.approx(0.0, abs=1e-15)  # log2(2) = 1: a trough
    assert CosLog4.factor((2**0.5 - 1) / 15) == pytest.approx(1.0)  # log2 = 1/2: a top


def test_schedule_state_dicts_round_trip_and_repr():
    from numnet.schedules import CosineAnnealing

    schedule = ReduceOnPlateau(factor=0.5, patience=2)
    lrs(schedule, 4, metrics=[1.0, 2.0, 3.0, 4.0])
    state = schedule.state_dict()
    assert state == {"initial_learning_rate": 1.0, "learning_rate": 0.5, "best": 1.0,
                     "wait": 1}
    other = ReduceOnPlateau(factor=0.5, patience=2)
    other.load_state_dict(state)
    assert other.update(5, metric=5.0) == schedule.update(5, metric=5.0) == 0.25
    assert repr(CosineAnnealing(4, warmup_epochs=1)) == (
        "CosineAnnealing(n_epochs=4, warmup_epochs=1, min_learning_rate=0.0)")
    assert repr(ReduceOnPlateau()) == (
        "ReduceOnPlateau(factor=0.1, patience=10, min_delta=0.0001, min_learning_rate=0.0)")
    assert repr(InverseScaling()) == "InverseScaling(power_t=0.5, unit='epoch')"
    assert repr(StepDecay(3)) == "StepDecay(step_size=3, gamma=0.1)"
    assert repr(ExponentialDecay(0.5)) == "ExponentialDecay(gamma=0.5)"
    assert repr(Constant()) == "Constant()" and Constant().state_dict() == {}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: __import__("numnet.schedules").schedules.CosineAnnealing(0),
         "n_epochs must be an integer >= 1, got 0."),
        (lambda: __import__("numnet.schedules").schedules.CosineAnnealing(3, warmup_epochs=3),
         "warmup_epochs must be an integer in [0, 2], got 3."),
        (lambda: __import__("numnet.schedules").schedules.CosineAnnealing(
            3, min_learning_rate=-1), "min_learning_rate must be a float >= 0, got -1.0."),
        (lambda: __import__("numnet.schedules").schedules.FlatCosine(0),
         "n_epochs must be an integer >= 1, got 0."),
        (lambda: ReduceOnPlateau(min_learning_rate=-1),
         "min_learning_rate must be a float >= 0, got -1.0."),
        (lambda: ReduceOnPlateau(factor=0), "factor must be a float in (0, 1), got 0.0."),
        (lambda: ExponentialDecay(0), "gamma must be a float in (0, 1], got 0.0."),
    ],
    ids=["cos_epochs", "cos_warmup", "cos_min", "flat_epochs", "plateau_min",
         "plateau_factor0", "exp_gamma0"],
)
def test_more_schedule_errors(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == message


def test_schedule_boundaries_are_inclusive_where_documented():
    assert lrs(StepDecay(1, gamma=1.0), 2) == [1.0, 1.0]
    assert lrs(ExponentialDecay(1.0), 2) == [1.0, 1.0]
    assert lrs(InverseScaling(power_t=0), 2) == [1.0, 1.0]
    assert lrs(ReduceOnPlateau(factor=0.5, patience=1, min_delta=0), 2,
               metrics=[0.0, 0.0]) == [1.0, 0.5]


def test_reduce_on_plateau_counts_a_first_infinite_metric_as_no_improvement():
    # start() sets best = inf and wait = 0: a diverged first epoch (loss inf) is one epoch
    # without improvement, not an error and not two.
    inf = float("inf")
    assert lrs(ReduceOnPlateau(factor=0.5, patience=2), 3, metrics=[inf, inf, 1.0]) == [
        1.0, 0.5, 0.5]
    assert lrs(ReduceOnPlateau(factor=0.5, patience=1), 2, metrics=[inf, 1.0]) == [0.5, 0.5]
