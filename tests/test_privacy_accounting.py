"""The accountant: epsilon as dp_accounting computes it, calibrated noise, the callback."""

import math
import re

import pytest

dp_accounting = pytest.importorskip("dp_accounting")

from numnet.privacy import (  # noqa: E402
    PrivacyAccountant,
    calibrate_noise_multiplier,
    compute_epsilon,
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
