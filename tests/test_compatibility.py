"""Files written before the package was restructured (commit d9feae9) still load and resume.

``tests/data/checkpoint-before-training-parts.numnet`` is a run interrupted by SIGINT after
epoch 2 of 5 (Adam, mini-batches, dropout, a validation split, early stopping and a step
schedule); ``tests/data/mlp-before-io-package.numnet`` an MLPClassifier. Both were written by
the code before the training loop became parts and the file layer a package; made by::

    X = rng.normal(size=(40, 3)); y = X @ [1.0, -2.0, 0.5] + 0.1   (rng = default_rng(0))
"""

import shutil
from pathlib import Path

import numpy as np

import numnet as nn

DATA = Path(__file__).parent / "data"


def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    return X, X @ [1.0, -2.0, 0.5] + 0.1


def run(checkpoint=None, resume=False):
    X, y = problem()
    net = nn.Sequential([nn.Dense(4), nn.Tanh(), nn.Dropout(0.1), nn.Dense(1)]).build(
        3, random_state=0)
    history = nn.train(net, nn.MeanSquaredError(), nn.Adam(0.01), X, y, batch_size=8,
                       max_epochs=5, random_state=0, checkpoint=checkpoint, resume=resume,
                       validation_fraction=0.25, early_stopping=nn.EarlyStopping(patience=3),
                       lr_schedule=nn.StepDecay(2, 0.5), callbacks=[lambda e, h: None])
    return net, history


def test_an_old_checkpoint_resumes_to_the_uninterrupted_run(tmp_path):
    shutil.copy(DATA / "checkpoint-before-training-parts.numnet", tmp_path / "checkpoint.numnet")
    checkpoint = nn.Checkpoint(tmp_path)
    state = checkpoint.load()
    assert (state.epoch, state.batch, state.finished) == (2, 0, False)
    resumed, resumed_history = run(checkpoint, resume=True)
    uninterrupted, history = run()
    np.testing.assert_array_equal(resumed.params, uninterrupted.params)
    assert resumed_history.loss == history.loss
    assert resumed_history.val_loss == history.val_loss


def test_an_old_estimator_file_loads_and_predicts():
    model = nn.load(DATA / "mlp-before-io-package.numnet")
    X, _ = problem()
    assert type(model).__name__ == "MLPClassifier"
    # predict_proba of the first rows as the old code computed it from the same file
    expected = [0.38163336381570706, 0.41228944920988925, 0.3154443851542449]
    np.testing.assert_array_equal(model.predict_proba(X[:3])[:, 1], expected)
    np.testing.assert_array_equal(model.predict(X[:3]), [False, False, False])
