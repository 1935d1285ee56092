"""A playground run's settings, checked, and the numnet parts they make.

:class:`Settings` holds what the page's controls set; :meth:`Settings.from_dict` checks a JSON
object from the page and names the first wrong field. ``network``, ``loss``, ``optimizer`` and
``regularizer`` build the library's own objects, the same ones the "Copy code" script builds.
"""

from dataclasses import asdict, dataclass, field, fields

from ..layers import Dense, Dropout, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from ..losses import BinaryCrossEntropy, MeanSquaredError
from ..network import Sequential
from ..optimizers import SGD, Adam
from ..regularizers import L1, L2
from .datasets import DATASETS, MAX_UPLOAD_ROWS

ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "leaky_relu": LeakyReLU,
               "identity": Identity}
OPTIMIZERS = ("sgd", "momentum", "adam")
REGULARIZATIONS = ("none", "l1", "l2")
MAX_LAYERS, MAX_NEURONS = 6, 8
MAX_EPOCHS = 100_000


class SettingsError(ValueError):
    """A setting from the page that is out of range; the message names it and the range."""


@dataclass
class Settings:
    """What the controls of the page set.

    Attributes
    ----------
    dataset : str
        One of :data:`numnet.playground.datasets.DATASETS`, or ``"csv"`` for an upload.
    n_samples : int
        Points drawn for a generated data set (20 to 5000).
    noise : float
        0 to 0.5.
    train_fraction : float
        Share of the points used for training, 0.1 to 0.9.
    hidden : list of int
        Neurons per hidden layer: 0 to 6 layers of 1 to 8.
    activation : {"relu", "tanh", "sigmoid", "leaky_relu", "identity"}
    learning_rate : float
        Greater than 0, at most 100 (large on purpose: the page shows divergence).
    optimizer : {"sgd", "momentum", "adam"}
        Momentum is SGD with momentum 0.9.
    batch_size : int
        1 to the number of training points (larger means full batch).
    regularization : {"none", "l1", "l2"}
    strength : float
        The regularizer's alpha, 0 to 10.
    dropout : float
        Dropout rate after each hidden activation, 0 to 0.9.
    seed : int
        Seeds the data, the initial weights, the batch order and dropout.
    """

    dataset: str = "circles"
    n_samples: int = 500
    noise: float = 0.1
    train_fraction: float = 0.5
    hidden: list = field(default_factory=lambda: [4, 2])
    activation: str = "tanh"
    learning_rate: float = 0.03
    optimizer: str = "adam"
    batch_size: int = 10
    regularization: str = "none"
    strength: float = 0.0
    dropout: float = 0.0
    seed: int = 0

    @classmethod
    def from_dict(cls, values):
        """Settings from a JSON object; missing fields keep their defaults.

        Raises
        ------
        SettingsError
            For an unknown field or a value out of range.
        """
        if not isinstance(values, dict):
            raise SettingsError(f"settings must be a JSON object, got {type(values).__name__}.")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise SettingsError(f"unknown setting {unknown[0]!r}; the settings are "
                                f"{sorted(names)}.")
        settings = cls(**values)
        settings.check()
        return settings

    def to_dict(self):
        """Plain data (JSON)."""
        return asdict(self)

    def check(self):
        """Raise :class:`SettingsError` for the first field out of range."""
        _choice(self.dataset, "dataset", (*DATASETS, "csv"))
        self.n_samples = _number(self.n_samples, "n_samples", 20, MAX_UPLOAD_ROWS, int)
        self.noise = _number(self.noise, "noise", 0, 0.5)
        self.train_fraction = _number(self.train_fraction, "train_fraction", 0.1, 0.9)
        if not isinstance(self.hidden, list) or len(self.hidden) > MAX_LAYERS:
            raise SettingsError(f"hidden must be a list of at most {MAX_LAYERS} layer widths, "
                                f"got {self.hidden!r:.80}.")
        self.hidden = [_number(width, "hidden", 1, MAX_NEURONS, int) for width in self.hidden]
        _choice(self.activation, "activation", tuple(ACTIVATIONS))
        self.learning_rate = _number(self.learning_rate, "learning_rate", 0, 100, positive=True)
        _choice(self.optimizer, "optimizer", OPTIMIZERS)
        self.batch_size = _number(self.batch_size, "batch_size", 1, MAX_UPLOAD_ROWS, int)
        _choice(self.regularization, "regularization", REGULARIZATIONS)
        self.strength = _number(self.strength, "strength", 0, 10)
        self.dropout = _number(self.dropout, "dropout", 0, 0.9)
        self.seed = _number(self.seed, "seed", 0, 2**32 - 1, int)

    @property
    def architecture(self):
        """``"2-8-8-1"``."""
        return "-".join(str(n) for n in (2, *self.hidden, 1))

    def layers(self):
        """The layers: Dense, activation (and Dropout) per hidden layer, then Dense(1)."""
        layers = []
        for width in self.hidden:
            layers += [Dense(width), ACTIVATIONS[self.activation]()]
            if self.dropout > 0:
                layers.append(Dropout(self.dropout))
        return [*layers, Dense(1)]

    def network(self):
        """The network, built for two inputs with the seed."""
        return Sequential(self.layers()).build(2, random_state=self.seed)

    def loss(self, task):
        """BinaryCrossEntropy (the output is a logit) or MeanSquaredError."""
        return BinaryCrossEntropy() if task == "classification" else MeanSquaredError()

    def make_optimizer(self):
        """SGD, SGD with momentum 0.9, or Adam, at the learning rate."""
        if self.optimizer == "adam":
            return Adam(learning_rate=self.learning_rate)
        return SGD(learning_rate=self.learning_rate,
                   momentum=0.9 if self.optimizer == "momentum" else 0.0)

    def regularizer(self):
        """L1 or L2 with alpha = strength, or None."""
        if self.regularization == "none" or self.strength == 0:
            return None
        return (L1 if self.regularization == "l1" else L2)(self.strength)


def _choice(value, name, options):
    if value not in options:
        raise SettingsError(f"{name} must be one of {list(options)}, got {value!r:.80}.")


def _number(value, name, low, high, kind=float, positive=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    # compared before any conversion: Python compares int and float exactly, while float() of
    # an integer above ~1e308 (JSON allows any) raises OverflowError
    ok = ok and (low < value if positive else low <= value) and value <= high
    if ok and kind is int:
        ok = float(value).is_integer()
    if ok:
        value = kind(value)
    if not ok:
        rule = "an integer" if kind is int else "a number"
        left = f"> {low}" if positive else f">= {low}"
        raise SettingsError(f"{name} must be {rule} {left} and <= {high}, got {value!r:.80}.")
    return value
