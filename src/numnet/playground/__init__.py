"""``numnet playground``: watch a network learn in the browser, backed by the real library.

A local web server (:mod:`numnet.playground.server`, the ``playground`` extra: Starlette,
uvicorn, websockets) serves a page drawn on ``<canvas>`` and streams what numnet's own
training loop does (:mod:`numnet.playground.session`): the decision boundary, each neuron's
output, the weights and the losses. The page's model downloads as a ``.numnet`` file and its
run as a Python script (:mod:`numnet.playground.export`) that reproduces the same losses.

This package imports no web framework; the data sets are usable on their own:

>>> from numnet.playground import make_dataset
>>> make_dataset("spiral", n_samples=100, random_state=0).X_train.shape
(50, 2)
"""

from .config import Settings, SettingsError
from .datasets import DATASETS, Dataset, UploadError, make_dataset, make_points, parse_csv, split

__all__ = ["DATASETS", "Dataset", "Settings", "SettingsError", "UploadError", "make_dataset",
           "make_points", "parse_csv", "split"]
