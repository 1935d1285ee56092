"""Private training: the training loop run with DP-SGD's parts and its accountant."""

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_float, check_int, check_option
from ..training.callbacks import ORDERS
from ..training.checks import check_validation_batch_size, row_major
from ..training.history import History
from ..training.loop import run_loop
from ..training.sampling import TrainingData
from ..training.setup import TrainingSetup
from .accounting import (
    ACCOUNTANTS,
    PrivacyAccountant,
    calibrate_noise_multiplier,
    check_delta,
    check_noise_multiplier,
    check_target_epsilon,
)
from .gradients import ClippedNoisyGradient, check_private_network
from .sampling import SAMPLERS, PoissonBatches


@dataclass
class PrivateHistory(History):
    """A :class:`numnet.training.History` with the privacy guarantee of the run.

    Attributes
    ----------
    epsilon : list of float
        Epsilon spent after each epoch, at ``delta``.
    delta : float
    noise_multiplier : float
        sigma (given, or calibrated from a target epsilon).
    max_grad_norm : float
        The clipping norm C.
    sampling_rate : float
        q, the Poisson sampling rate.
    sampler : str
        How the Poisson batches were drawn: ``"uniform"`` or ``"geometric"``.
    steps : int
        Steps taken (``n_epochs * steps_per_epoch``).
    accountant : str
        ``"rdp"`` or ``"pld"``.
    """

    epsilon: list = field(default_factory=list)
    delta: float = 0.0
    noise_multiplier: float = 0.0
    max_grad_norm: float = 0.0
    sampling_rate: float = 0.0
    steps: int = 0
    accountant: str = "rdp"
    sampler: str = "uniform"


def train_private(net, loss, optimizer, X, y, *, max_grad_norm, noise_multiplier=None,
                  target_epsilon=None, delta=1e-5, batch_size=256, max_epochs=10,
                  accountant="rdp", sampler="uniform", regularizer=None, sample_weight=None,
                  validation_data=None, validation_batch_size=None, lr_schedule=None,
                  random_state=None, verbose=False, callbacks=(), checkpoint=None, resume=False):
    """Train ``net`` with DP-SGD: Poisson batches, clipped per-sample gradients, Gaussian noise.

    Each step, with q = batch_size / n_samples and C = max_grad_norm::

        rows = each row independently with probability q          PoissonBatches(q, sampler)
        G = (sum_i clip_C(g_i) + N(0, sigma**2 C**2 I)) / (q N)     ClippedNoisyGradient
        G += regularizer.gradient(W)                               (data-independent)
        optimizer.step(params, G)

    for ``max_epochs`` epochs of ``int(1 / q)`` steps; a :class:`PrivacyAccountant` records
    epsilon after each epoch. Either ``noise_multiplier`` (sigma) is given, or
    ``target_epsilon``, and sigma is calibrated so that all ``max_epochs`` epochs spend at most
    ``target_epsilon`` at ``delta``.

    Parameters
    ----------
    net, loss, optimizer, X, y, regularizer, sample_weight, validation_data, \
validation_batch_size, lr_schedule, random_state, verbose, callbacks, checkpoint, resume
        As in :func:`numnet.train`. ``random_state`` seeds the sampling and the noise. The
        validation data must be public (it is not covered); ``lr_schedule`` must not depend on
        the training loss for the guarantee to hold (a fixed schedule is fine).
    max_grad_norm : float
        The clipping norm C > 0.
    noise_multiplier : float, default=None
        sigma >= 0. Exclusive with target_epsilon.
    target_epsilon : float, default=None
        Calibrate sigma to spend this epsilon over max_epochs epochs.
    delta : float, default=1e-5
        Should be well below 1 / n_samples.
    batch_size : int, default=256
        The *expected* batch size q N (actual batch sizes vary, Binomial(N, q)).
    max_epochs : int, default=10
    accountant : {"rdp", "pld"}, default="rdp"
    sampler : {"uniform", "geometric"}, default="uniform"
        How each Poisson batch is drawn (:class:`PoissonBatches`): one uniform number per
        row, or the Geometric(q) gaps between the rows in the batch, about q N draws instead
        of N (faster when q is small). The same distribution of batches, so the same
        guarantee; other batches from the same seed, so another result.

    Returns
    -------
    PrivateHistory

    Notes
    -----
    The guarantee covers the final parameters (and everything computed from them alone),
    under add-or-remove-one-row neighbouring datasets, with n_samples treated as public. It
    does not cover the training losses in the history (computed from the data without
    noise), nor any choice made by looking at them (early stopping, hyperparameter search).
    Sample weights scale each sample's gradient before clipping, so no sample moves the sum
    by more than C.
    """
    setup = TrainingSetup(net, loss, optimizer, max_epochs=max_epochs, regularizer=regularizer,
                          lr_schedule=lr_schedule, callbacks=callbacks, checkpoint=checkpoint,
                          resume=resume, verbose=verbose, proximal=None,
                          check_network=check_private_network)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    validation_batch_size = check_validation_batch_size(validation_batch_size)
    accountant = check_option(accountant, "accountant", set(ACCOUNTANTS))
    sampler = check_option(sampler, "sampler", set(SAMPLERS))
    delta = check_float(delta, "delta", min_value=0, max_value=1, include_min=False,
                        include_max=False)
    if (noise_multiplier is None) == (target_epsilon is None):
        raise ValueError(
            f"noise_multiplier must be given when target_epsilon is None, and None when it is "
            f"given, got noise_multiplier={noise_multiplier!r}, "
            f"target_epsilon={target_epsilon!r}. Pass one of them."
        )
    X, y, sample_weight, magnitudes, validation_data = setup.check_data(
        X, y, sample_weight, validation_data)

    n_samples = X.shape[0]
    check_delta(delta, n_samples)
    if target_epsilon is not None:
        target_epsilon = check_target_epsilon(target_epsilon)
    else:
        noise_multiplier = check_noise_multiplier(noise_multiplier)
    batches = PoissonBatches(min(1.0, batch_size / n_samples), sampler=sampler)
    q, steps_per_epoch = batches.rate, batches.steps_per_epoch
    if target_epsilon is not None:
        noise_multiplier = calibrate_noise_multiplier(
            target_epsilon, delta, q, setup.max_epochs * steps_per_epoch, accountant=accountant)
    rng = np.random.default_rng(random_state)
    gradient = ClippedNoisyGradient(max_grad_norm, noise_multiplier, q * n_samples,
                                    random_state=rng.spawn(1)[0])
    privacy = PrivacyAccountant(q, gradient.noise_multiplier, steps_per_epoch, delta,
                                accountant)
    privacy.order = ORDERS["feature"]
    # "poisson" as before for the uniform sampler, so its checkpoints still resume; a run
    # never resumes another sampler's checkpoint, whose batches it would not draw again.
    fingerprint = setup.fingerprint(
        n_samples, {"sampling": "poisson" if sampler == "uniform" else f"poisson-{sampler}",
                    "batches_per_epoch": int(steps_per_epoch), "sampling_rate": repr(float(q))},
        max_grad_norm=repr(gradient.max_grad_norm),
        noise_multiplier=repr(gradient.noise_multiplier))
    run = setup.start(TrainingData(row_major(X), y, sample_weight), rng, fingerprint,
                      validation_data=validation_data, features=[privacy],
                      stateful=[privacy, gradient], first_pass=(X, y, sample_weight, magnitudes),
                      validation_batch_size=validation_batch_size)
    history = run.history if setup.finished else run_loop(run, batches, gradient, setup.parts)
    return _private_history(history, privacy, gradient, sampler)


def _private_history(history, privacy, gradient, sampler):
    return PrivateHistory(
        **history.to_dict(), epsilon=list(privacy.epsilons), delta=privacy.delta,
        noise_multiplier=gradient.noise_multiplier, max_grad_norm=gradient.max_grad_norm,
        sampling_rate=privacy.sampling_rate, steps=history.n_epochs * privacy.steps_per_epoch,
        accountant=privacy.accountant, sampler=sampler)
