"""Training: the loop and its parts, L-BFGS, early stopping and the history of a run.

==================  ===========================================================================
``loop``            :func:`train` and :func:`run_loop`, the loop the parts plug into
``setup``           :class:`TrainingSetup`, the setup every training loop shares (checks, the
                    :class:`Run`, resume, the callbacks)
``sampling``        batch samplers (which rows form a batch) and gathering rows
``gradients``       gradient computations (how a batch's loss and gradient are computed)
``callbacks``       the hooks around the steps, run in ``order``: validation, progress,
                    schedules, divergence, checkpoints, the user's callbacks
``early_stopping``  :class:`EarlyStopping`, a callback
``state``           the complete state of a run as plain data (what a checkpoint holds)
``history``         :class:`History`
``validation``      the held-out split and its loss and metric
``checks``          checks of the arguments and the data before any work starts
``lbfgs``           :func:`train_lbfgs`
==================  ===========================================================================
"""

from ..objective import objective
from .callbacks import Callback
from .early_stopping import EarlyStopping
from .gradients import Backprop, GradientComputation
from .history import History
from .lbfgs import train_lbfgs
from .loop import Run, run_loop, train
from .sampling import BatchSampler, FullBatch, MiniBatches, iter_minibatches
from .setup import TrainingSetup

__all__ = [
    "Backprop", "BatchSampler", "Callback", "EarlyStopping", "FullBatch", "GradientComputation",
    "History", "MiniBatches", "Run", "TrainingSetup", "iter_minibatches", "objective",
    "run_loop", "train", "train_lbfgs",
]
