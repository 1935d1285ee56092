"""Hyperparameter and sample-weight checks of the estimators, in numnet's message format.

Every message reads ``{name} of {Estimator} must be {rule}, got {value!r}.`` (STYLE.md section 6,
with the class name where scikit-learn puts it); ``fit`` runs these before touching the data.
"""

import numbers

import numpy as np
from sklearn.utils import check_array

from .._validation import check_bool, check_float, check_int, check_option, repeated_names
from ..privacy.accounting import check_noise_multiplier, check_target_epsilon
from ..training.checks import check_validation_batch_size


def _option(options):
    return lambda value, name: check_option(value, name, set(options))


def _fraction(value, name):
    return check_float(value, name, min_value=0, max_value=1, include_max=False)


def _check_penalty(value, name):
    if value is None:
        return None
    if not isinstance(value, str) or value not in ("l2", "l1", "elasticnet", "deprecated"):
        raise ValueError(
            f"{name} must be one of {{None, 'elasticnet', 'l1', 'l2'}}, got {value!r}. "
            "penalty is deprecated (as in scikit-learn >= 1.8): leave it unset and choose the "
            "penalty with l1_ratio."
        )
    return value


def _check_l1_ratio(value, name):
    if value is None:
        return None  # scikit-learn >= 1.8: deprecated, means 0 (a FutureWarning in fit)
    return check_float(value, name, min_value=0, max_value=1)


def _check_n_iter_no_change(value, name):
    # scikit-learn allows np.inf: patience never runs out, training runs max_iter epochs.
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value == np.inf:
        return np.inf
    return check_int(value, name, min_value=1)


def _check_n_jobs(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value == 0:
        raise ValueError(f"{name} must be None or a nonzero integer, got {value!r}.")
    return int(value)


def _check_verbose(value, name):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return check_int(value, name, min_value=0)


def _check_batch_size(value, name):
    if isinstance(value, str) and value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be 'auto' or an integer >= 1, got {value!r}.")
    return int(value)


def _check_random_state(value, name):
    if value is None or isinstance(value, (np.random.Generator, np.random.RandomState)):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(
            f"{name} must be None, an integer >= 0, a numpy Generator or RandomState, "
            f"got {value!r}."
        )
    return int(value)


def _check_class_weight(value, name):
    if value is None or isinstance(value, dict) or (isinstance(value, str) and
                                                       value == "balanced"):
        return value
    raise ValueError(f"{name} must be None, 'balanced' or a dict {{label: weight}}, got {value!r}.")


CHECKS = {
    "penalty": _check_penalty,
    "alpha": lambda v, n: check_float(v, n, min_value=0),
    "l1_ratio": _check_l1_ratio,
    "fit_intercept": check_bool,
    "max_iter": lambda v, n: check_int(v, n, min_value=0),
    "tol": lambda v, n: check_float(v, n, min_value=0),
    "batch_size": _check_batch_size,
    "learning_rate": _option(("constant", "invscaling", "adaptive", "cosine")),
    "label_smoothing": lambda v, n: check_float(v, n, min_value=0, max_value=1,
                                                include_max=False),
    "power_t": lambda v, n: check_float(v, n, min_value=0),
    "momentum": _fraction,
    "nesterovs_momentum": check_bool,
    "shuffle": check_bool,
    "early_stopping": check_bool,
    "validation_fraction": lambda v, n: check_float(v, n, min_value=0, max_value=1,
                                                    include_min=False, include_max=False),
    "validation_batch_size": check_validation_batch_size,
    "beta_1": _fraction,
    "beta_2": _fraction,
    "epsilon": lambda v, n: check_float(v, n, min_value=0, include_min=False),
    "n_iter_no_change": _check_n_iter_no_change,
    "n_jobs": _check_n_jobs,
    "max_fun": lambda v, n: check_int(v, n, min_value=1),
    "copy_X": check_bool,
    "warm_start": check_bool,
    "verbose": _check_verbose,
    "random_state": _check_random_state,
    "class_weight": _check_class_weight,
    "dropout": _fraction,
    "dp_epsilon": lambda v, n: None if v is None else check_target_epsilon(v, n),
    "dp_delta": lambda v, n: None if v is None else check_float(
        v, n, min_value=0, max_value=1, include_min=False, include_max=False),
    "dp_max_grad_norm": lambda v, n: check_float(v, n, min_value=0, include_min=False),
    "dp_noise_multiplier": lambda v, n: None if v is None else check_noise_multiplier(
        v, n, allow_zero=False),
    "dp_accountant": _option(("rdp", "pld")),
    "dp_sampler": _option(("uniform", "geometric")),
}


def check_learning_rate_init(value, name):
    if isinstance(value, str) and value == "auto":
        return value
    if isinstance(value, str):
        raise ValueError(f"{name} must be 'auto' or a float > 0, got {value!r}.")
    return check_float(value, name, min_value=0, include_min=False)


def check_inverse_strength(value, name):
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value == np.inf:
        return float(value)
    return check_float(value, name, min_value=0, include_min=False)


def check_hidden_layer_sizes(value, name):
    sizes = (value,) if isinstance(value, numbers.Integral) else value
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if sizes is None or any(
        isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in sizes
    ):
        raise ValueError(
            f"{name} must be an integer >= 1 or a sequence of them, got {value!r}."
        )
    return tuple(int(s) for s in sizes)


def make_rng(random_state):
    """A numpy Generator from random_state (int, None, Generator or legacy RandomState)."""
    if isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)


def check_sample_weight(sample_weight, n_samples, dtype):
    """sample_weight as a 1-D array of dtype (never the caller's array modified in place)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        # scikit-learn broadcasts a scalar weight to every sample.
        sample_weight = np.full(n_samples, sample_weight, dtype=dtype)
    sample_weight = check_array(sample_weight, ensure_2d=False, dtype=dtype,
                                input_name="sample_weight")
    if sample_weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape (n_samples,) = ({n_samples},), "
            f"got {sample_weight.shape}."
        )
    if np.any(sample_weight < 0):
        index = int(np.argmax(sample_weight < 0))
        raise ValueError(
            f"sample_weight must contain values >= 0, got {sample_weight[index].item()!r} at "
            f"index {index}."
        )
    if not sample_weight.sum() > 0:
        raise ValueError(
            "sample_weight must have a positive sum, got all zeros. Give at least one sample "
            "a weight > 0."
        )
    return sample_weight


def check_table(X, owner):
    """For a table X (it has ``columns``): unique column names and numeric values only.

    scikit-learn's own message for a string in a numeric table ("could not convert string to
    float") names neither the column nor the row.
    """
    columns = getattr(X, "columns", None)
    if columns is None:
        return
    repeated = repeated_names(columns)
    if repeated:
        listed = ", ".join(repr(name) for name in repeated)
        raise ValueError(
            f"X of {owner} must have unique column names, got {listed} more than once. Rename "
            "the repeated columns."
        )
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "iloc"):
        return
    import pandas as pd

    for position, dtype in enumerate(dtypes):
        if not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
            continue
        column = X.iloc[:, position]
        bad = pd.to_numeric(column, errors="coerce").isna().to_numpy() & column.notna().to_numpy()
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            label = column.index[first]
            label = label.item() if isinstance(label, np.generic) else label
            raise ValueError(
                f"X of {owner} must be numeric, got {column.iloc[first]!r} in column "
                f"{columns[position]!r} at index {label!r}. Fix that value, or "
                "encode the column (e.g. with sklearn.preprocessing.OneHotEncoder)."
            )


_PRIVATE_SOLVERS = ("adam", "sgd")   # the solvers DP-SGD can run: mini-batch, one step a batch


def _private(p):
    """Whether the validated parameters ask for a differentially private fit."""
    return getattr(p, "dp_epsilon", None) is not None or getattr(
        p, "dp_noise_multiplier", None) is not None


def _check_private(p, cls, incremental):
    """Refuse what DP-SGD cannot do, or what would act on private data outside its guarantee."""
    if p.dp_epsilon is not None and p.dp_noise_multiplier is not None:
        raise ValueError(
            f"dp_noise_multiplier of {cls} must be None when dp_epsilon is given, got "
            f"{p.dp_noise_multiplier!r}. Give the privacy budget (dp_epsilon) or the noise "
            "(dp_noise_multiplier), not both."
        )
    if p.solver not in _PRIVATE_SOLVERS and p.solver != "auto":   # LinearRegression: adam
        raise ValueError(
            f"solver of {cls} must be one of {{'adam', 'sgd'}} to train with differential "
            f"privacy, got {p.solver!r}. DP-SGD clips and noises each mini-batch gradient; "
            "L-BFGS, the exact solvers and full-batch 'gd' cannot be made private this way."
        )
    if p.early_stopping:
        raise ValueError(
            f"early_stopping of {cls} must be False with differential privacy, got True. "
            "Stopping on a validation score computed from private rows is outside the "
            "guarantee; train a fixed max_iter epochs."
        )
    if p.learning_rate != "constant":
        raise ValueError(
            f"learning_rate of {cls} must be 'constant' with differential privacy, got "
            f"{p.learning_rate!r}. The other schedules follow the training loss, which is "
            "computed from the private rows without noise."
        )
    if p.learning_rate_init == "auto" and p.solver == "sgd":
        raise ValueError(
            f"learning_rate_init of {cls} must be a number with solver='sgd' and differential "
            "privacy, got 'auto'. 'auto' computes the step from the largest eigenvalue of X, "
            "outside the guarantee."
        )
    if getattr(p, "class_weight", None) == "balanced":
        raise ValueError(
            f"class_weight of {cls} must not be 'balanced' with differential privacy. Its "
            "weights come from the class counts of the private rows; pass fixed weights (a "
            "dict) instead."
        )
    if incremental:
        raise ValueError(
            f"{cls}.partial_fit cannot train with differential privacy: the accountant "
            "composes the epochs of one fit. Use fit()."
        )
