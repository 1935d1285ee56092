"""What a finished run's curves say, and the one piece of advice that follows, in the CLI's terms.

After training, :func:`warn_about_result` looks at the training loss, the validation curve,
the metrics and the estimator's convergence warning, and decides which single diagnosis
applies, in this order:

1. diverged: the training loss ended far above the loss of a constant prediction, or rose
   well above its lowest value and above that loss. Lower ``--learning-rate``.
2. overfitting: the validation loss ended well above its best and the last epoch's model was
   kept. ``--early-stopping``, or fewer ``--epochs``.
3. not converged: the estimator warned that training ended while still improving. More
   ``--epochs``.

A validation R² below 0 is reported with the diagnosis's advice (or, alone, with its own).
The estimator's :class:`~sklearn.exceptions.ConvergenceWarning` names scikit-learn's
parameters (``max_iter``); :func:`recording_convergence` holds it back so that the advice
names the command line's options instead.
"""

import contextlib
import math
import re
import warnings

import numpy as np

LOSS_RISE = 0.02
"""A validation loss that ends more than this share above its best gets a warning."""

EXPLODED = 10.0
"""A training loss that ends this many times above a constant prediction's has diverged."""

ROSE = 2.0
"""A training loss that ends this many times above its lowest (and above a constant
prediction's) has diverged."""


_BATCH_SIZE = re.compile(r"batch_size of \w+ is (\d+), larger than the (\d+) training "
                         r"samples; using \d+\.")


@contextlib.contextmanager
def recording_convergence():
    """Hold back the ConvergenceWarnings raised inside; yields the list they are put in.

    Other warnings are shown as they would be, when they are raised (the estimator's
    ``batch_size`` warning with ``--batch-size``). A ConvergenceWarning that the filters in
    force ignore is not held either.
    """
    from sklearn.exceptions import ConvergenceWarning

    held = []
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, ConvergenceWarning):
                held.append(message)
                return
            match = _BATCH_SIZE.fullmatch(str(message))
            if match is not None:  # said with the option's name
                message = (f"--batch-size {match[1]} is larger than the {match[2]} training "
                           f"rows; each batch takes all {match[2]}.")
            shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield held


def constant_loss(y, task):
    """The training loss of the best constant prediction, in the estimators' units.

    The log-loss of the class shares, or half the variance of a regression target.
    """
    y = np.asarray(y)
    if task == "classification":
        _, counts = np.unique(y.astype(str), return_counts=True)
        shares = counts / counts.sum()
        return float(-np.sum(shares * np.log(shares)))
    return float(np.var(np.asarray(y, dtype=np.float64))) / 2


def diverged(history, params, baseline, task):
    """The divergence statement ('the training loss ...') or None."""
    losses = list(getattr(history, "loss", None) or ())
    solver = params.get("solver", "lbfgs")
    if not losses or solver in ("lbfgs", "lstsq", "cholesky", "irls") or not baseline or not (
            baseline > 0):
        return None
    last, low = losses[-1], int(np.argmin(losses))
    what = ("predicting the class shares" if task == "classification"
            else "predicting the mean of the target")
    if not math.isfinite(last) or last > EXPLODED * baseline:
        return (f"the training loss ended at {last:.4g} in epoch {len(losses)}, far above the "
                f"{baseline:.4g} of {what}: training diverged")
    if last > ROSE * losses[low] and last > baseline:
        return (f"the training loss rose from {losses[low]:.4g} in epoch {low + 1} to "
                f"{last:.4g} in epoch {len(losses)}, above the {baseline:.4g} of {what}: "
                "training diverged")
    return None


def _lower_rate(params):
    rate = params.get("learning_rate_init")
    if rate is None:
        return "Lower --learning-rate."
    return f"Lower --learning-rate (it was {rate:g}; try {rate / 10:g})."


def _overfitting(curve, kept, params):
    losses = curve.get("val_loss") or []
    if not losses or kept != len(losses) or params.get("solver", "lbfgs") == "lbfgs":
        return None
    best = int(np.argmin(losses))
    if not (losses[-1] > losses[best] * (1 + LOSS_RISE) and losses[best] > 0):
        return None
    return (f"the validation loss ended at {losses[-1]:.4g}, "
            f"{losses[-1] / losses[best] - 1:.0%} above its best of {losses[best]:.4g} in "
            f"epoch {best + 1}, and the last epoch's model was kept")


def _not_converged(convergence, params, history):
    """The statement and advice for the estimator's ConvergenceWarning, in the CLI's terms."""
    if not convergence:
        return None, None
    epochs = params.get("max_iter")
    more = (f"Pass more --epochs (e.g. --epochs {2 * epochs})." if epochs
            else "Pass more --epochs.")
    text = str(convergence[-1])
    if "max_iter=0" in text:
        return "no training was done with --epochs 0", more
    if "minimum-norm" in text:
        return (f"training ended after {len(history.loss)} epochs without converging (the "
                "largest entry of the loss's minimum-norm subgradient is above the tolerance)",
                more[:-1] + ", or --solver lbfgs.")
    if "lbfgs" in text:
        return f"the lbfgs solver did not converge within --epochs {epochs}", more
    what = "validation score" if params.get("early_stopping") else "loss"
    return (f"training reached --epochs {epochs} while the {what} was still improving", more)


def warn_about_result(pipeline, curve, kept, model, *, convergence=(), history=None,
                      baseline=None):
    """Warn about what the run's curves and metrics show, with one piece of advice.

    ``convergence`` holds the estimator's ConvergenceWarnings (see
    :func:`recording_convergence`), ``baseline`` the loss of a constant prediction on the
    training rows (:func:`constant_loss`). Returns True when training diverged.
    """
    params = pipeline.estimator.get_params()
    statements, advice = [], None
    divergence = None if history is None else diverged(history, params, baseline, pipeline.task)
    if divergence is not None:
        statements.append(divergence)
        advice = _lower_rate(params)
    else:
        overfit = _overfitting(curve, kept, params)
        if overfit is not None:
            statements.append(overfit)
            advice = "Pass --early-stopping to keep the best one, or train fewer --epochs."
        else:
            statement, advice = _not_converged(list(convergence), params, history)
            if statement is not None:
                statements.append(statement)
    r2 = pipeline.info["metrics"].get("r2")
    if r2 is not None and r2 < 0:
        statements.append(f"the validation R² is {r2:.4g}, below 0: the model predicts worse "
                          "than the mean of the target")
        if advice is None:
            advice = ("Try more --epochs or a higher --learning-rate." if model == "linear"
                      else "Try --model linear, or more --epochs.")
    if statements:
        text = "; ".join(statements)
        warnings.warn(f"{text}. {advice}" if advice else f"{text}.", UserWarning, stacklevel=3)
    return divergence is not None
