"""The presets of ``numnet train``: what the default model of a table is, chosen by measurement.

``best`` (the default for ``--model mlp`` in memory) is the tabular recipe measured on real
tables in ``benchmarks/tabular_accuracy.py`` (benchmarks/README.md gives the figures):

===================  ==========================================================================
preprocessing        missing values filled with the median plus a 0/1 indicator, missing text
                     as a category of its own (``impute="indicator"``); numbers robustly
                     scaled and smoothly clipped (``scaling="robust"``); text values seen in
                     fewer than 5 training rows share one ``(other)`` feature
network              3 hidden layers of 256 ReLU units
training             Adam (beta_2 = 0.95), learning rate 2e-3 annealed by a cosine over 64
                     epochs, batches of 256, no weight penalty; label smoothing 0.1 for
                     classifiers
epoch selection      20% of the training rows held out; the epoch with the best validation
                     score is kept (``early_stopping`` that never stops early)
refit and members    3 networks trained again on every row for the selected number of epochs,
                     each from its own seed, averaged as one network
                     (:func:`numnet.network.merge_networks`)
===================  ==========================================================================

``fast`` is the same recipe with 2 layers of 128 units, 32 epochs and one network. ``classic``
is the scikit-learn MLP's defaults with standardised inputs and missing values refused
(numnet's behaviour before the presets). On a Dask cluster, under differential privacy and for
``--model linear`` or ``logistic`` the default is ``classic``: a held-out split on the workers,
a data-dependent median and a schedule that follows private rows are not available there.
Options given explicitly always win over the preset.
"""

PRESETS = ("best", "fast", "classic")

_RECIPE = {"batch_size": 256, "learning_rate_init": 2e-3, "beta_2": 0.95, "alpha": 0.0,
           "learning_rate": "cosine", "early_stopping": True, "validation_fraction": 0.2}
_MLP_PARAMS = {
    "best": {**_RECIPE, "hidden_layer_sizes": (256, 256, 256), "max_iter": 64},
    "fast": {**_RECIPE, "hidden_layer_sizes": (128, 128), "max_iter": 32},
    "classic": {},
}
MIN_FREQUENCY = {"best": 5, "fast": 5, "classic": None}
"""Text values seen in fewer training rows share the ``(other)`` one-hot feature."""
MEMBERS = {"best": 3, "fast": 1, "classic": 1}
"""How many networks the refit of each preset trains and averages (``--members``)."""
LABEL_SMOOTHING = 0.1
"""The label smoothing of the ``best`` and ``fast`` classifiers."""


def resolve_preset(spec):
    """The preset a run uses: the one given, else ``best`` for an in-memory MLP."""
    if spec.preset is not None:
        return spec.preset
    if spec.model != "mlp" or spec.on_cluster or spec.private:
        return "classic"
    return "best"


def preset_params(preset, available, given):
    """Estimator hyperparameters of ``preset``, less those ``given`` by the user.

    ``available`` are the estimator's parameters (``get_params()``). The epoch selection
    never stops early: its patience is the number of epochs.
    """
    params = {k: v for k, v in _MLP_PARAMS[preset].items() if k in available}
    if params and "label_smoothing" in available:
        params["label_smoothing"] = LABEL_SMOOTHING
    params = {k: v for k, v in params.items() if k not in given}
    if params.get("early_stopping") and "n_iter_no_change" not in given:
        params["n_iter_no_change"] = given.get("max_iter", params.get("max_iter"))
    return params


def preset_preprocessing(preset, spec):
    """``(impute, scaling)`` of the preprocessing: the options given, else the preset's.

    ``--impute none`` refuses missing values; without ``--impute``, an in-memory run that is
    not private fills them with indicators unless the preset is ``classic`` given explicitly.
    """
    if spec.impute is not None:
        impute = None if spec.impute == "none" else spec.impute
    elif spec.on_cluster or spec.private or spec.preset == "classic":
        impute = None
    else:
        impute = "indicator"
    scaling = spec.scaling
    if scaling is None:
        scaling = "standard" if preset == "classic" else "robust"
    return impute, scaling


def resolve_members(preset, given):
    """The networks a refit averages: ``given`` (``--members``), else the preset's."""
    return MEMBERS.get(preset, 1) if given is None else given


def components(preset, params, impute, scaling, refit=False, members=1, min_frequency=None):
    """The components a model uses, for ``numnet inspect`` (plain data).

    ``params`` are the estimator's hyperparameters of the (first) fit; ``hidden_layer_sizes``
    are one member's.
    """
    return {
        "preset": preset,
        "impute": impute or "none",
        "scaling": scaling,
        "rare_text_below": min_frequency or 1,
        "hidden_layer_sizes": list(params.get("hidden_layer_sizes", ()) or ()),
        "learning_rate": params.get("learning_rate"),
        "label_smoothing": params.get("label_smoothing", 0.0),
        "epoch_selection": bool(params.get("early_stopping", False)),
        "refit": bool(refit),
        "members": int(members) if refit else 1,
    }


MIN_CLASS_ROWS = 5
"""The rows the rarest class needs for the epoch selection's stratified split."""


def fit_to_data(params, spec, target, task):
    """The preset's hyperparameters adjusted to a small table, where they cannot apply as is.

    The epoch selection holds out a stratified share of the training rows: with a class of
    fewer than :data:`MIN_CLASS_ROWS` rows, or fewer held-out rows than classes, it is left
    out (the last epoch is kept). A batch larger than the training rows becomes ``"auto"``.
    Options given explicitly are never changed.
    """
    params = dict(params)
    n_train = len(target) * (1 - spec.validation_fraction)
    if params.get("early_stopping") and not spec.early_stopping:
        fraction = params.get("validation_fraction", 0.1)
        ok = n_train * fraction >= 2
        if task == "classification":
            counts = target.dropna().astype(str).value_counts()
            ok = ok and counts.min() >= MIN_CLASS_ROWS and n_train * fraction >= len(counts)
        if not ok:
            params["early_stopping"] = False
            params.pop("n_iter_no_change", None)
    size = params.get("batch_size")
    if spec.batch_size is None and isinstance(size, int) and size > n_train * (
            1 - params.get("validation_fraction", 0) * bool(params.get("early_stopping"))):
        params["batch_size"] = "auto"
    return params
