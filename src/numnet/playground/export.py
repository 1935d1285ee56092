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
    lines = [
        f'"""numnet playground: {s.dataset}, {s.architecture} {s.activation}, '
        f'{s.optimizer} (learning rate {s.learning_rate:g}), seed {s.seed}.',
        "",
        "Run it with numnet installed; it prints the train and test losses the page showed.",
        '"""',
        "import numpy as np",
        "",
        "import numnet",
        "from numnet.playground import make_dataset, split",
        "",
        f"EPOCHS = {epochs if epochs else 100}"
        + ("  # the epochs the page had run" if epochs else "  # the page had not trained yet"),
        f"SEED = {s.seed}",
        "",
    ]
    if s.dataset == "csv":
        X, y, task = upload[:3]
        lines += [
            f"# {upload[4]}: the features divided by their largest absolute value",
            f"X = np.array({_array(X)})",
            f"y = np.array({_array(y)})",
            f"data = split(X, y, train_fraction={s.train_fraction!r}, random_state=SEED, "
            f"task={task!r})",
        ]
    else:
        task = "regression" if s.dataset == "plane" else "classification"
        lines.append(f"data = make_dataset({s.dataset!r}, n_samples={s.n_samples}, "
                     f"noise={s.noise!r}, train_fraction={s.train_fraction!r}, "
                     "random_state=SEED)")
    activation = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid",
                  "leaky_relu": "LeakyReLU", "identity": "Identity"}[s.activation]
    layers = []
    for width in s.hidden:
        layers += [f"numnet.Dense({width})", f"numnet.{activation}()"]
        if s.dropout > 0:
            layers.append(f"numnet.Dropout({s.dropout!r})")
    layers.append("numnet.Dense(1)")
    loss = "BinaryCrossEntropy" if task == "classification" else "MeanSquaredError"
    if s.optimizer == "adam":
        optimizer = f"numnet.Adam(learning_rate={s.learning_rate!r})"
    else:
        momentum = 0.9 if s.optimizer == "momentum" else 0.0
        optimizer = f"numnet.SGD(learning_rate={s.learning_rate!r}, momentum={momentum!r})"
    regularizer = ("None" if s.regularization == "none" or s.strength == 0 else
                   f"numnet.{s.regularization.upper()}({s.strength!r})")
    lines += [
        "net = numnet.Sequential([",
        *[f"    {layer}," for layer in layers],
        "]).build(2, random_state=SEED)",
        f"loss = numnet.{loss}()" + ("  # the output is a logit" if loss[0] == "B" else ""),
        "history = numnet.train(",
        f"    net, loss, {optimizer}, data.X_train, data.y_train,",
        f"    regularizer={regularizer}, batch_size={s.batch_size}, max_epochs=EPOCHS,",
        "    validation_data=(data.X_test, data.y_test), random_state=SEED,",
        ")",
        'print(f"epoch {len(history.loss)}: train loss {history.loss[-1]!r}, '
        'test loss {history.val_loss[-1]!r}")',
        "",
    ]
    return "\n".join(lines)


def _array(values):
    """A NumPy array as a Python literal that reads back to the same floats."""
    return repr(np.asarray(values, dtype=np.float64).tolist())
