"""What the playground hands out: the model as a ``.numnet`` file and the run as Python code.

The model file holds a :class:`numnet.tabular.TabularPipeline`, what ``numnet train`` saves:
two numeric input columns ``x1`` and ``x2`` passed through unchanged (mean 0, scale 1: the
network was trained on the plane's coordinates) and a fitted :class:`numnet.MLPClassifier` or
:class:`numnet.MLPRegressor` whose ``network_`` is the playground's network. So ``numnet
predict model.numnet points.csv`` and ``numnet.load`` both work, and
``numnet.load(path).estimator.network_`` is the :class:`numnet.Sequential` itself.

The code is a script that makes the same data with :func:`numnet.playground.make_dataset`
(an uploaded CSV is written into the script), the same network, loss, optimizer and
regularizer, and calls :func:`numnet.train` with the same seed for the epochs run so far, so
it prints the losses the page showed.
"""

import numpy as np

from ..estimators import MLPClassifier, MLPRegressor
from ..io import dumps
from ..tabular import TabularPipeline, TabularPreprocessor
from ..tabular.spec_render import literal
from ..training import History
from .config import Settings

FEATURES = ("x1", "x2")
_SKLEARN_ACTIVATION = {"sigmoid": "logistic"}


def model_pipeline(settings: Settings, net, task, *, classes=None, train_loss=(),
                   test_loss=()):
    """The network as the pipeline ``numnet predict`` reads.

    Parameters
    ----------
    settings : Settings
    net : Sequential
        Trained on the columns (x1, x2) of the plane.
    task : {"classification", "regression"}
    classes : list of str, default=None
        The two labels of an uploaded CSV (class 0 first); default ``[0, 1]``.
    train_loss, test_loss : sequence of float
        The losses of the epochs run, stored in the file's history.

    Returns
    -------
    TabularPipeline
    """
    columns = [{"name": name, "kind": "numeric", "fill": 0.0, "mean": 0.0, "scale": 1.0}
               for name in FEATURES]
    preprocessor = TabularPreprocessor.from_state({"impute": None, "columns": columns})
    classification = task == "classification"
    cls = MLPClassifier if classification else MLPRegressor
    estimator = cls(
        hidden_layer_sizes=tuple(settings.hidden),
        activation=_SKLEARN_ACTIVATION.get(settings.activation, settings.activation),
        solver="adam" if settings.optimizer == "adam" else "sgd",
        learning_rate_init=settings.learning_rate,
        momentum=0.9 if settings.optimizer == "momentum" else 0.0,
        nesterovs_momentum=False, batch_size=settings.batch_size,
        alpha=settings.strength if settings.regularization != "none" else 0.0,
        l1_ratio=1.0 if settings.regularization == "l1" else 0.0,
        dropout=settings.dropout, max_iter=max(len(train_loss), 1),
        random_state=settings.seed)
    history = History(loss=[float(v) for v in train_loss],
                      val_loss=[float(v) for v in test_loss],
                      metric_name="accuracy" if classification else "r2")
    fitted = {"n_features_in_": 2, "n_outputs_": 1, "network_": net,
              "n_iter_": len(train_loss), "t_": 0, "loss_curve_": history.loss,
              "history_": history, "best_loss_": min(history.loss, default=None),
              "validation_scores_": None, "best_validation_score_": None,
              "loss_": history.loss[-1] if history.loss else None,
              "n_layers_": len(settings.hidden) + 2,
              "out_activation_": "logistic" if classification else "identity"}
    if classification:
        labels = [0, 1] if classes is None else list(classes)
        fitted["classes_"] = np.array(labels)
    for name, value in fitted.items():
        setattr(estimator, name, value)
    # not "settings": numnet inspect reads that key as the options of numnet train
    info = {"source": "numnet playground", "playground": settings.to_dict(),
            "epochs": len(train_loss)}
    if test_loss:
        info["metrics"] = {"test_loss": float(test_loss[-1])}
    target = "label" if classification else "y"
    return TabularPipeline(preprocessor, estimator, target=target, task=task, info=info)


def model_bytes(settings, net, task, **kwargs):
    """:func:`model_pipeline` as the bytes of a ``.numnet`` file (checked to load back)."""
    return dumps(model_pipeline(settings, net, task, **kwargs))


def python_code(settings: Settings, epochs, *, upload=None):
    """A script that reproduces the run: the same data, network, seed and epochs.

    The settings become plain values and :func:`training_script` writes the script from them.

    Parameters
    ----------
    settings : Settings
    epochs : int
        Epochs the page has run; 0 writes 100 (nothing was trained yet).
    upload : tuple (X, y, task, classes, name), default=None
        The uploaded CSV, for ``settings.dataset == "csv"``: its scaled points go into the
        script.

    Returns
    -------
    str
    """
    s = settings
    if s.dataset == "csv":
        X, y, task = upload[:3]
        data = {"X": np.asarray(X, dtype=np.float64).tolist(),
                "y": np.asarray(y, dtype=np.float64).tolist(), "task": task,
                "train_fraction": s.train_fraction, "source": upload[4]}
    else:
        task = "regression" if s.dataset == "plane" else "classification"
        data = {"dataset": s.dataset, "n_samples": s.n_samples, "noise": s.noise,
                "train_fraction": s.train_fraction}
    activation = _ACTIVATION_CLASS[s.activation]
    layers = []
    for width in s.hidden:
        layers += [("Dense", width), (activation,)]
        if s.dropout > 0:
            layers.append(("Dropout", s.dropout))
    layers.append(("Dense", 1))
    if s.optimizer == "adam":
        optimizer = ("Adam", {"learning_rate": s.learning_rate})
    else:
        optimizer = ("SGD", {"learning_rate": s.learning_rate,
                             "momentum": 0.9 if s.optimizer == "momentum" else 0.0})
    regularizer = (None if s.regularization == "none" or s.strength == 0 else
                   (s.regularization.upper(), s.strength))
    return training_script(
        data=data, layers=layers,
        loss="BinaryCrossEntropy" if task == "classification" else "MeanSquaredError",
        optimizer=optimizer, regularizer=regularizer, batch_size=s.batch_size,
        epochs=epochs if epochs else 100, seed=s.seed, trained=bool(epochs))


_ACTIVATION_CLASS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid",
                     "leaky_relu": "LeakyReLU", "identity": "Identity"}
# the only names the script calls: class names come from these tables, never from the values
_LAYERS = ("Dense", "ReLU", "Tanh", "Sigmoid", "LeakyReLU", "Identity", "Dropout")
_LOSSES = ("BinaryCrossEntropy", "MeanSquaredError")
_OPTIMIZERS = ("SGD", "Adam")
_REGULARIZERS = ("L1", "L2")
_OPTIMIZER_ARGUMENTS = ("learning_rate", "momentum")


def training_script(*, data, layers, loss, optimizer, regularizer, batch_size, epochs, seed,
                    trained=True):
    """The Python script of one :func:`numnet.train` run, written from plain values.

    Every value enters the script as the ``repr`` of a plain literal (None, bool, int, a
    finite float, str, and tuples, lists or dicts of them), written by
    :func:`numnet.tabular.spec_render.literal` as :meth:`numnet.tabular.TrainSpec.to_python`
    writes its values; never formatted into code or a comment. Every name the script calls
    is one of this module's fixed tables; so no value, an uploaded file's name included,
    can become code.

    Parameters
    ----------
    data : dict
        Either a generated data set ``{"dataset", "n_samples", "noise", "train_fraction"}``
        (:func:`numnet.playground.make_dataset`) or points ``{"X", "y", "task",
        "train_fraction", "source"}`` (:func:`numnet.playground.split`; ``source`` is the
        file's name, kept as a string in the script).
    layers : list of tuple
        ``(class name, *positional arguments)``, e.g. ``("Dense", 8)``, ``("Tanh",)``.
    loss : {"BinaryCrossEntropy", "MeanSquaredError"}
    optimizer : tuple (class name, dict)
        ``("Adam", {"learning_rate": 0.03})`` or ``("SGD", {...})``.
    regularizer : tuple (class name, alpha) or None
    batch_size, epochs, seed : int
    trained : bool, default=True
        Whether ``epochs`` are the epochs the page ran (False: it had not trained yet).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For a name outside the tables, or a value that is not a plain literal.
    """
    lines = [
        '"""numnet playground: the run the page showed, as a script.',
        "",
        "Run it with numnet installed; it prints the train and test losses the page showed.",
        '"""',
        "import numpy as np",
        "",
        "import numnet",
        "from numnet.playground import make_dataset, split",
        "",
        f"EPOCHS = {literal(epochs)}"
        + ("  # the epochs the page had run" if trained else "  # the page had not trained yet"),
        f"SEED = {literal(seed)}",
        "",
    ]
    if "X" in data:
        lines += [
            "# the uploaded file: its features divided by their largest absolute value",
            f"SOURCE = {literal(data['source'])}",
            f"X = np.array({literal(data['X'])})",
            f"y = np.array({literal(data['y'])})",
            f"data = split(X, y, train_fraction={literal(data['train_fraction'])}, "
            f"random_state=SEED, task={literal(data['task'])})",
        ]
    else:
        lines.append(f"data = make_dataset({literal(data['dataset'])}, "
                     f"n_samples={literal(data['n_samples'])}, "
                     f"noise={literal(data['noise'])}, "
                     f"train_fraction={literal(data['train_fraction'])}, random_state=SEED)")
    name, options = optimizer
    arguments = ", ".join(f"{_name(key, _OPTIMIZER_ARGUMENTS)}={literal(value)}"
                          for key, value in options.items())
    penalty = ("None" if regularizer is None else
               _call(regularizer[0], _REGULARIZERS, regularizer[1:]))
    lines += [
        "net = numnet.Sequential([",
        *[f"    {_call(layer[0], _LAYERS, layer[1:])}," for layer in layers],
        "]).build(2, random_state=SEED)",
        f"loss = {_call(loss, _LOSSES, ())}"
        + ("  # the output is a logit" if loss == "BinaryCrossEntropy" else ""),
        "history = numnet.train(",
        f"    net, loss, numnet.{_name(name, _OPTIMIZERS)}({arguments}), "
        "data.X_train, data.y_train,",
        f"    regularizer={penalty}, batch_size={literal(batch_size)}, max_epochs=EPOCHS,",
        "    validation_data=(data.X_test, data.y_test), random_state=SEED,",
        ")",
        'print(f"epoch {len(history.loss)}: train loss {history.loss[-1]!r}, '
        'test loss {history.val_loss[-1]!r}")',
        "",
    ]
    return "\n".join(lines)


def _name(name, allowed):
    """``name`` if it is one of ``allowed`` (a fixed table), else ValueError."""
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(f"name must be one of {list(allowed)}, got {name!r:.80}.")
    return name


def _call(name, allowed, arguments):
    """``numnet.Name(arg, ...)`` with a name from ``allowed`` and literal arguments."""
    return f"numnet.{_name(name, allowed)}({', '.join(literal(a) for a in arguments)})"
