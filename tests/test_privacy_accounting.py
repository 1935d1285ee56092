"""The accountant: epsilon as dp_accounting computes it, calibrated noise, the callback."""

import math
import re

import numpy as np
import pytest

dp_accounting = pytest.importorskip("dp_accounting")

from numnet.privacy import (  # noqa: E402
    PrivacyAccountant,
    calibrate_noise_multiplier,
    compute_epsilon,
)
from numnet.privacy.accounting import (  # noqa: E402
    check_delta,
    check_noise_multiplier,
    check_target_epsilon,
)

Q, SIGMA, STEPS, DELTA = 256 / 60000, 1.1, 60 * 234, 1e-5


def _reference(accountant):
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(Q, dp_accounting.GaussianDpEvent(SIGMA)), STEPS)
    ledger = (dp_accounting.rdp.RdpAccountant() if accountant == "rdp"
              else dp_accounting.pld.PLDAccountant())
    return ledger.compose(event).get_epsilon(DELTA)


@pytest.mark.parametrize("accountant, approximately", [("rdp", 2.60), ("pld", 2.38)])
def test_epsilon_of_the_mnist_setting_is_dp_accountings(accountant, approximately):
    epsilon = compute_epsilon(Q, SIGMA, STEPS, DELTA, accountant=accountant)
    assert epsilon == _reference(accountant)            # the same computation, bit for bit
    assert epsilon == pytest.approx(approximately, abs=0.01)   # RDP 2.594, PLD 2.380


def test_pld_is_tighter_than_rdp():
    assert compute_epsilon(Q, SIGMA, STEPS, DELTA, accountant="pld") < compute_epsilon(
        Q, SIGMA, STEPS, DELTA)


def test_no_noise_is_no_guarantee_and_no_steps_spend_nothing():
    assert compute_epsilon(Q, 0.0, STEPS, DELTA) == math.inf
    assert compute_epsilon(Q, SIGMA, 0, DELTA) == 0.0


@pytest.mark.parametrize("accountant, steps, target",
                         [("rdp", STEPS, 1.0), ("rdp", STEPS, 3.0), ("pld", 10 * 234, 1.0)])
def test_calibrated_noise_reaches_the_target_within_one_percent(accountant, steps, target):
    sigma = calibrate_noise_multiplier(target, DELTA, Q, steps, accountant=accountant)
    epsilon = compute_epsilon(Q, sigma, steps, DELTA, accountant=accountant)
    assert epsilon <= target
    assert epsilon == pytest.approx(target, rel=0.01)
    # a little less noise spends more than the target: sigma is (about) the smallest
    assert compute_epsilon(Q, sigma * 0.98, steps, DELTA, accountant=accountant) > target


def test_accountant_callback_records_epsilon_per_epoch_and_round_trips():
    class _Run:
        start_epoch, skip, epoch = 1, 0, 0

    accountant = PrivacyAccountant(Q, SIGMA, 234, DELTA)
    run = _Run()
    accountant.on_train_begin(run)
    for run.epoch in (1, 2, 3):
        accountant.on_epoch_end(run)
    assert accountant.epsilons == [compute_epsilon(Q, SIGMA, e * 234, DELTA) for e in (1, 2, 3)]
    assert accountant.epsilons[0] < accountant.epsilons[1] < accountant.epsilons[2]
    other = PrivacyAccountant(Q, SIGMA, 234, DELTA)
    other.load_state_dict(accountant.state_dict())
    assert other.epsilons == accountant.epsilons


@pytest.mark.parametrize("kwargs, msg", [
    ({"accountant": "gdp"}, "accountant must be one of {'pld', 'rdp'}, got 'gdp'."),
    ({"delta": 0.0}, "delta must be a float in (0, 1), got 0.0."),
    ({"sampling_rate": 2.0}, "sampling_rate must be a float in (0, 1], got 2.0."),
])
def test_compute_epsilon_rejects_bad_arguments(kwargs, msg):
    arguments = {"sampling_rate": Q, "noise_multiplier": SIGMA, "steps": 10, "delta": DELTA,
                 **kwargs}
    with pytest.raises(ValueError, match=re.escape(msg)):
        compute_epsilon(**arguments)


# --- mutation-testing gaps (make mutate): exact refusals, boundaries, the callback -----------

_SIGMA_WHY = (" Below 0.01 the noise protects nothing (epsilon is astronomically large) and "
              "cannot be accounted; above 1e+06 it drowns every gradient. Typical values are "
              "0.5 to 2.")


def _message(call):
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


def test_noise_multiplier_range_and_its_refusals():
    assert check_noise_multiplier(0.0) == 0.0
    assert check_noise_multiplier(0.01) == 0.01 and check_noise_multiplier(1e6) == 1e6
    assert check_noise_multiplier(0.01, allow_zero=False) == 0.01
    assert check_noise_multiplier(1e6, "s", allow_zero=False) == 1e6
    assert _message(lambda: check_noise_multiplier(1e-300)) == (
        "noise_multiplier must be 0 or a float in [0.01, 1e+06], got 1e-300." + _SIGMA_WHY)
    assert _message(lambda: check_noise_multiplier(1e300, "sigma")) == (
        "sigma must be 0 or a float in [0.01, 1e+06], got 1e+300." + _SIGMA_WHY)
    assert _message(lambda: check_noise_multiplier(0.0, "sigma", allow_zero=False)) == (
        "sigma must be a float in [0.01, 1e+06], got 0.0." + _SIGMA_WHY)
    assert _message(lambda: check_noise_multiplier(-1.0)) == (
        "noise_multiplier must be a float >= 0, got -1.0.")


def test_target_epsilon_range_and_its_refusals():
    assert check_target_epsilon(100) == 100.0 and check_target_epsilon(1e-9) == 1e-9
    for value, shown in ((math.inf, "inf"), (-math.inf, "-inf"), (math.nan, "nan")):
        assert _message(lambda v=value: check_target_epsilon(v)) == (
            f"target_epsilon must be a finite float in (0, 100], got {shown}. An infinite "
            "budget is no guarantee: train without privacy instead.")
    assert _message(lambda: check_target_epsilon(math.inf, "eps")).startswith(
        "eps must be a finite float in (0, 100], got inf.")
    assert _message(lambda: check_target_epsilon(100.5, "eps")) == (
        "eps must be a float in (0, 100], got 100.5. A budget above 100 (a factor e**100) "
        "promises nothing; typical budgets are 1 to 10.")
    assert _message(lambda: check_target_epsilon(1000)).startswith(
        "target_epsilon must be a float in (0, 100], got 1000.0.")
    assert _message(lambda: check_target_epsilon(0)) == (
        "target_epsilon must be a float > 0, got 0.0.")


def test_delta_must_be_below_one_over_n():
    assert check_delta(0.0249, 40) == 0.0249
    assert _message(lambda: check_delta(0.025, 40)) == (
        "delta must be below 1/n = 0.025 for n = 40 training rows, got 0.025: with a delta of "
        "1/n or more a mechanism that publishes a whole row meets the guarantee. Use at most "
        "1/(10 n) = 0.0025 (leave it unset for min(1e-5, 1/(10 n))).")
    assert _message(lambda: check_delta(0.5, 3, "dp_delta")).startswith(
        "dp_delta must be below 1/n = 0.333 for n = 3 training rows, got 0.5:")


def test_the_missing_extra_is_named(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "dp_accounting", None)  # import fails
    with pytest.raises(ImportError) as info:
        compute_epsilon(Q, SIGMA, 10, DELTA)
    assert str(info.value) == ("The privacy accountant needs the dp-accounting package; "
                               "install it with pip install 'numnet[privacy]'.")
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("kwargs, msg", [
    ({"accountant": "gdp"}, "accountant must be one of {'pld', 'rdp'}, got 'gdp'."),
    ({"delta": 0.0}, "delta must be a float in (0, 1), got 0.0."),
    ({"delta": 1.0}, "delta must be a float in (0, 1), got 1.0."),
    ({"sampling_rate": 2.0}, "sampling_rate must be a float in (0, 1], got 2.0."),
    ({"sampling_rate": 0.0}, "sampling_rate must be a float in (0, 1], got 0.0."),
    ({"steps": -1}, "steps must be an integer >= 0, got -1."),
])
def test_compute_epsilon_refusals_are_exact(kwargs, msg):
    arguments = {"sampling_rate": Q, "noise_multiplier": SIGMA, "steps": 10, "delta": DELTA,
                 **kwargs}
    assert _message(lambda: compute_epsilon(**arguments)) == msg


def test_edges_of_compute_epsilon_and_calibration():
    assert compute_epsilon(1.0, SIGMA, 1, 0.5) > 0  # q = 1 and a large delta are allowed
    assert compute_epsilon(Q, 0.0, 0, DELTA) == 0.0  # no steps spend nothing, even unnoised
    assert compute_epsilon(Q, 0.0, 1, DELTA, accountant="pld") == math.inf
    assert _message(lambda: calibrate_noise_multiplier(1.0, DELTA, Q, 0)) == (
        "steps must be an integer >= 1, got 0.")
    assert _message(lambda: calibrate_noise_multiplier(0, DELTA, Q, 10)) == (
        "target_epsilon must be a float > 0, got 0.0.")
    coarse = calibrate_noise_multiplier(2.0, DELTA, Q, 1000, tol=0.05)
    fine = calibrate_noise_multiplier(2.0, DELTA, Q, 1000)
    assert compute_epsilon(Q, coarse, 1000, DELTA) <= 2.0
    assert fine <= coarse < fine + 0.05 + 1e-4


def test_accountant_callback_pld_resume_repr_and_restore_check():
    class _Run:
        start_epoch, skip, epoch = 1, 0, 0

    accountant = PrivacyAccountant(Q, SIGMA, 100, DELTA, accountant="pld")
    assert accountant.epsilon(2) == compute_epsilon(Q, SIGMA, 200, DELTA, accountant="pld")
    assert repr(accountant) == (f"PrivacyAccountant(sampling_rate={Q!r}, noise_multiplier=1.1, "
                                "steps_per_epoch=100, delta=1e-05, accountant='pld')")
    accountant.load_state_dict({"epsilons": [1, 2]})
    assert accountant.epsilons == [1.0, 2.0] and type(accountant.epsilons[0]) is float
    state = accountant.state_dict()
    state["epsilons"].append(3.0)
    assert accountant.epsilons == [1.0, 2.0]  # the state is a copy

    class _History:
        n_epochs = 3

    with pytest.raises(ValueError) as info:
        accountant.check_restored(_History())
    assert str(info.value) == "it holds 2 epsilons for 3 epochs"
    _History.n_epochs = 2
    accountant.check_restored(_History())
    run = _Run()
    for run.start_epoch, run.skip in ((3, 0), (1, 1)):  # a resumed or skipped run keeps them
        accountant.on_train_begin(run)
        assert accountant.epsilons == [1.0, 2.0]
    run.start_epoch, run.skip = 1, 0
    accountant.on_train_begin(run)
    assert accountant.epsilons == []
    assert _message(lambda: PrivacyAccountant(Q, SIGMA, 0, DELTA)) == (
        "steps_per_epoch must be an integer >= 1, got 0.")


def test_sigma_one_is_accounted_like_any_other():
    # 0 is the only noise multiplier answered without the accountant (inf)
    assert compute_epsilon(Q, 1.0, STEPS, DELTA) == dp_accounting.rdp.RdpAccountant().compose(
        dp_accounting.SelfComposedDpEvent(dp_accounting.PoissonSampledDpEvent(
            Q, dp_accounting.GaussianDpEvent(1.0)), STEPS)).get_epsilon(DELTA)
    assert math.isfinite(compute_epsilon(Q, 1.0, STEPS, DELTA))


def test_calibration_asks_brent_from_zero_and_steps_up_to_keep_the_promise(monkeypatch):
    # Brent's answer may sit on either side of the boundary: a sigma a little too small is
    # raised by tol until epsilon <= target; one exactly on the boundary is kept.
    tol, s_true = 1e-3, 1.2
    target = compute_epsilon(Q, s_true, 1000, DELTA)
    calls, answer = [], {}

    def brent(make_fresh, make_event, target_epsilon, delta, bracket, tol):
        calls.append((target_epsilon, delta, bracket, tol, make_event(0.7)))
        return answer["sigma"]

    monkeypatch.setattr(dp_accounting, "calibrate_dp_mechanism", brent)
    answer["sigma"] = s_true
    assert calibrate_noise_multiplier(target, DELTA, Q, 1000, tol=tol) == s_true
    target_epsilon, delta, bracket, used_tol, event = calls[0]
    assert (target_epsilon, delta, bracket, used_tol) == (
        target, DELTA, dp_accounting.LowerEndpointAndGuess(0.0, 1.0), tol)
    assert event == dp_accounting.SelfComposedDpEvent(dp_accounting.PoissonSampledDpEvent(
        Q, dp_accounting.GaussianDpEvent(0.7)), 1000)
    answer["sigma"] = s_true - 2.5 * tol
    expected = s_true - 2.5 * tol
    for _ in range(3):
        expected += tol
    assert calibrate_noise_multiplier(target, DELTA, Q, 1000, tol=tol) == expected
    assert compute_epsilon(Q, expected, 1000, DELTA) <= target


def test_a_new_accountant_holds_no_epsilons():
    accountant = PrivacyAccountant(Q, SIGMA, 10, DELTA)
    assert accountant.epsilons == [] and accountant.state_dict() == {"epsilons": []}

    class _Run:
        epoch = 1

    accountant.on_epoch_end(_Run())  # without on_train_begin, e.g. a callback reused by hand
    assert accountant.epsilons == [compute_epsilon(Q, SIGMA, 10, DELTA)]


def _from_scratch(accountant, q, sigma, steps, delta):
    ledger = (dp_accounting.rdp.RdpAccountant() if accountant == "rdp"
              else dp_accounting.pld.PLDAccountant())
    return ledger.compose(dp_accounting.SelfComposedDpEvent(dp_accounting.PoissonSampledDpEvent(
        q, dp_accounting.GaussianDpEvent(sigma)), steps)).get_epsilon(delta)


@pytest.mark.parametrize("accountant", ["rdp", "pld"])
def test_epsilon_per_epoch_from_the_cached_step_is_dp_accountings_from_scratch(accountant):
    # issue 26: the step's curve (or PLD) is computed once; each epoch's epsilon is still what
    # a fresh dp_accounting accountant says of all the steps so far (asked: 1e-9 relative;
    # it is the same arithmetic, so bit for bit)
    from numnet.privacy import accounting
    q, sigma, per_epoch, delta = 256 / 16000, 1.06, 63, 1e-5
    accounting._rdp_step.cache_clear()
    accounting._pld_step.cache_clear()
    callback = PrivacyAccountant(q, sigma, per_epoch, delta, accountant)

    class _Run:
        epoch = 0

    epochs = (1, 2, 3) if accountant == "rdp" else (1, 3)
    for _Run.epoch in epochs:
        callback.on_epoch_end(_Run())
    expected = [_from_scratch(accountant, q, sigma, e * per_epoch, delta) for e in epochs]
    assert callback.epsilons == expected
    assert all(abs(a - b) <= 1e-9 * b for a, b in zip(callback.epsilons, expected, strict=True))
    step = accounting._rdp_step if accountant == "rdp" else accounting._pld_step
    assert step.cache_info().misses == 1      # one step's curve for every epoch


@pytest.mark.parametrize("q, sigma, steps, delta", [
    (0.01, 0.6, 1, 1e-6), (0.2, 3.0, 77, 1e-3), (1.0, 1.5, 10, 1e-5), (1e-4, 20.0, 5000, 1e-8)])
def test_rdp_epsilon_is_dp_accountings_across_settings(q, sigma, steps, delta):
    assert compute_epsilon(q, sigma, steps, delta) == _from_scratch("rdp", q, sigma, steps, delta)


@pytest.mark.parametrize("q", [1e-4, 256 / 16000, 0.05, 0.3, 0.9, 0.999, 1.0])
def test_step_curve_is_dp_accountings_bit_for_bit(q):
    # issue 26: the one-step RDP curve is computed here, vectorised, with dp_accounting's
    # operations in its order: every order's value has the same bits, over sigmas from the
    # smallest accepted to the largest, including those where some fractional orders do not
    # converge within dp_accounting's 1000 terms (inf)
    import numpy as np

    from numnet.privacy import accounting
    not_converged = []
    for sigma in (0.01, 0.3, 0.5, 0.8123456, 1.1, 5.0, 100.0, 1e6):
        accounting._rdp_step.cache_clear()
        orders, curve = accounting._rdp_step(q, sigma)
        ledger = dp_accounting.rdp.RdpAccountant().compose(
            dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)))
        assert orders.tolist() == ledger._orders.tolist()
        assert curve.tobytes() == ledger._rdp.tobytes(), (q, sigma)
        not_converged += [sigma] if np.isinf(curve).any() else []
    assert not_converged == {256 / 16000: [0.5], 0.05: [0.3, 0.5, 0.8123456],
                             0.3: [0.3, 0.5, 0.8123456, 1.1],
                             0.9: [0.3, 0.5, 0.8123456, 1.1]}.get(q, [])


def test_calibration_through_the_cache_finds_dp_accountings_sigma():
    # the same Brent search over fresh dp_accounting accountants gives the same sigma, bit for
    # bit (the seeded private fits stay as they were), and stepping up reuses the curves
    target, steps, tol = 3.0, 15 * 63, 1e-4
    q = 256 / 16000
    sigma = dp_accounting.calibrate_dp_mechanism(
        dp_accounting.rdp.RdpAccountant,
        lambda s: dp_accounting.SelfComposedDpEvent(dp_accounting.PoissonSampledDpEvent(
            q, dp_accounting.GaussianDpEvent(s)), steps),
        target, DELTA, dp_accounting.LowerEndpointAndGuess(0.0, 1.0), tol=tol)
    while _from_scratch("rdp", q, sigma, steps, DELTA) > target:
        sigma += tol
    assert calibrate_noise_multiplier(target, DELTA, q, steps, tol=tol) == sigma


@pytest.mark.parametrize("accountant", ["rdp", "pld"])
def test_no_noise_is_what_dp_accounting_answers_infinity(accountant):
    import dp_accounting as dp

    event = dp.SelfComposedDpEvent(dp.PoissonSampledDpEvent(0.1, dp.GaussianDpEvent(0.0)), 10)
    fresh = dp.rdp.RdpAccountant() if accountant == "rdp" else dp.pld.PLDAccountant()
    assert fresh.compose(event).get_epsilon(1e-5) == math.inf
    assert compute_epsilon(0.1, 0.0, 10, 1e-5, accountant=accountant) == math.inf


@pytest.mark.parametrize("delta", [1e-9, 1e-5, 1e-3, 0.3])
@pytest.mark.parametrize("sigma", [0.3, 1.0, 5.0, 40.0])
@pytest.mark.parametrize("q", [1e-4, 256 / 16000, 0.5, 1.0])
def test_rdp_epsilon_from_a_curve_is_dp_accountings_compute_epsilon_bit_for_bit(q, sigma,
                                                                                delta):
    # issue 26: the per-epoch (and calibration) epsilon from a curve, vectorised: the same
    # bits as dp_accounting.rdp.compute_epsilon, its loop over the orders
    from numnet.privacy import accounting
    orders, curve = accounting._rdp_step(q, sigma)
    for steps in (1, 62, 930, 10**6):
        expected = float(dp_accounting.rdp.compute_epsilon(orders, steps * curve, delta)[0])
        assert accounting._rdp_epsilon(orders, steps * curve, delta) == expected


def test_rdp_epsilon_edges_are_dp_accountings():
    # zero (the KL bound), tiny, huge, infinite and NaN divergences, and orders at 1.01 and
    # below, where dp_accounting's bound is not used
    from numnet.privacy import accounting
    orders = np.array([1.001, 1.01, 1.02, 1.5, 2.0, 3.0, 64.0, 1024.0, 1.2])
    for rdp in ([0.0] * 9, [1e-12] * 9, [0.0, 1e-9, 1e-3, 0.5, 1.0, 3.0, 40.0, 1e6, 2.0],
                [np.inf] * 8 + [5.0], [np.nan, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
                [0.2, 0.1, np.nan, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]):
        rdp = np.array(rdp)
        for delta in (1e-5, 0.5):
            expected = float(dp_accounting.rdp.compute_epsilon(orders, rdp, delta)[0])
            got = accounting._rdp_epsilon(orders, rdp, delta)
            assert got == expected or (math.isnan(got) and math.isnan(expected))
