"""Hardening: values that used to end in a traceback, a hang or a silent meaningless result are
refused up front with one line (issue "Hardening the new surfaces", items 4 and 7).

- the privacy numbers: a noise multiplier or budget the accountant cannot compute, an infinite
  budget or clipping norm, a delta of 1/n or more;
- ``numnet inspect`` claims a guarantee only for a complete, consistent privacy record;
- a model whose held-out predictions collapse to one class is named in a warning;
- ``numnet demo --seed -1``;
- forged checkpoints: a run record that is not an object, Adam's step count and moments.
"""

import json
import re
import subprocess

import numpy as np
import pandas as pd
import pytest

import numnet as nn
from installed import COMMAND, HANG_TIMEOUT
from installed import run_cli as run

pytest.importorskip("dp_accounting")

DP = ["--dp-categories", "y=no|yes", "--dp-bounds", "a=-5:5,b=-5:5", "--epochs", "2", "-q"]


@pytest.fixture
def here(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 2))
    pd.DataFrame({"a": X[:, 0].round(3), "b": X[:, 1].round(3),
                  "y": np.where(X[:, 0] > 0, "yes", "no")}).to_csv(tmp_path / "d.csv",
                                                                  index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- the privacy numbers ---------------------------------------------------------------------

SIGMA_RULE = ("must be a float in [0.01, 1e+06], got {}. Below 0.01 the noise protects nothing "
              "(epsilon is astronomically large) and cannot be accounted; above 1e+06 it drowns "
              "every gradient. Typical values are 0.5 to 2.")


@pytest.mark.parametrize("args, message", [
    (["--dp-noise-multiplier", "1e-300"], "--dp-noise-multiplier " + SIGMA_RULE.format("1e-300")),
    (["--dp-noise-multiplier", "1e300"], "--dp-noise-multiplier " + SIGMA_RULE.format("1e+300")),
    (["--dp-epsilon", "inf"], "--dp-epsilon must be a finite float in (0, 100], got inf. An "
     "infinite budget is no guarantee: train without privacy instead."),
    (["--dp-epsilon", "1000"], "--dp-epsilon must be a float in (0, 100], got 1000.0. A budget "
     "above 100 (a factor e**100) promises nothing; typical budgets are 1 to 10."),
    (["--dp-epsilon", "3", "--dp-max-grad-norm", "inf"], "--dp-max-grad-norm must be a finite "
     "float > 0, got inf. An infinite bound clips nothing, so no noise can hide a row; typical "
     "bounds are 0.1 to 10."),
    (["--dp-epsilon", "3", "--dp-delta", "0.5"], "--dp-delta must be below 1/n = 0.00521 for the "
     "n = 192 training rows, got 0.5: with a delta of 1/n or more a mechanism that publishes a "
     "whole row meets the guarantee. Use at most 1/(10 n) = 0.000521, or leave --dp-delta out "
     "for min(1e-5, 1/(10 n))."),
], ids=["sigma-tiny", "sigma-huge", "epsilon-inf", "epsilon-huge", "norm-inf", "delta-half"])
def test_privacy_numbers_out_of_range_are_one_line(here, capsys, args, message):
    code, _, err = run(capsys, "train", "d.csv", "-t", "y", "-o", "m.numnet", *args, *DP)
    assert (code, err) == (2, f"error: {message}\n")
    assert not (here / "m.numnet").exists()


def test_privacy_numbers_through_the_installed_command(here):
    for args in (["--dp-noise-multiplier", "1e-300"], ["--dp-noise-multiplier", "1e300"]):
        done = subprocess.run([*COMMAND, "train", "d.csv", "-t", "y", "-o", "m.numnet", *args,
                               *DP], capture_output=True, text=True, timeout=HANG_TIMEOUT)
        assert done.returncode == 2
        assert done.stderr.startswith("error: --dp-noise-multiplier must be a float in [0.01, ")
        assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


X = np.random.default_rng(1).normal(size=(40, 2))
Y = (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("params, message", [
    ({"dp_noise_multiplier": 1e-300},
     "dp_noise_multiplier of MLPClassifier " + SIGMA_RULE.format("1e-300")),
    ({"dp_noise_multiplier": 1e300},
     "dp_noise_multiplier of MLPClassifier " + SIGMA_RULE.format("1e+300")),
    ({"dp_epsilon": float("inf")}, "dp_epsilon of MLPClassifier must be a finite float in "
     "(0, 100], got inf."),
    ({"dp_epsilon": 1.0, "dp_max_grad_norm": float("inf")}, "dp_max_grad_norm of MLPClassifier "
     "must be a finite float > 0, got inf."),
    ({"dp_epsilon": 1.0, "dp_delta": 0.5}, "dp_delta of MLPClassifier must be below 1/n = 0.025 "
     "for n = 40 training rows, got 0.5"),
], ids=["sigma-tiny", "sigma-huge", "epsilon-inf", "norm-inf", "delta-half"])
def test_estimators_refuse_the_same_privacy_numbers(params, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        nn.MLPClassifier((4,), max_iter=2, **params).fit(X, Y)


def test_the_accountant_refuses_what_it_cannot_compute():
    from numnet.privacy import calibrate_noise_multiplier, compute_epsilon

    with pytest.raises(ValueError, match=re.escape("noise_multiplier must be 0 or a float in "
                                                   "[0.01, 1e+06], got 1e-300.")):
        compute_epsilon(0.1, 1e-300, 100, 1e-5)
    with pytest.raises(ValueError, match=re.escape("noise_multiplier must be 0 or a float in "
                                                   "[0.01, 1e+06], got 1e+300.")):
        compute_epsilon(0.1, 1e300, 100, 1e-5, accountant="pld")
    with pytest.raises(ValueError, match=re.escape("target_epsilon must be a finite float in "
                                                   "(0, 100], got inf.")):
        calibrate_noise_multiplier(float("inf"), 1e-5, 0.1, 100)
    assert compute_epsilon(0.1, 0.0, 100, 1e-5) == np.inf  # no noise: still allowed
    assert compute_epsilon(0.1, 1e6, 100, 1e-5) < 1e-6


def test_train_private_refuses_a_delta_of_one_over_n_or_more():
    from numnet.privacy import train_private

    net = nn.Sequential([nn.Dense(1)]).build(2, random_state=0)
    with pytest.raises(ValueError, match=re.escape("delta must be below 1/n = 0.025 for n = 40 "
                                                   "training rows, got 0.025")):
        train_private(net, nn.BinaryCrossEntropy(), nn.SGD(0.1), X, Y[:, None].astype(float),
                      max_grad_norm=1.0, noise_multiplier=1.0, delta=1 / 40, batch_size=8)


# --- inspect claims a guarantee only for a complete, consistent record --------------------


def test_inspect_prints_a_guarantee_only_for_a_consistent_record(here, capsys):
    assert run(capsys, "train", "d.csv", "-t", "y", "-o", "p.numnet", "--dp-epsilon", "3",
               *DP)[0] == 0
    assert run(capsys, "train", "d.csv", "-t", "y", "-o", "plain.numnet", "--epochs", "2",
               "-q")[0] == 0
    code, out, _ = run(capsys, "inspect", "p.numnet")
    assert code == 0 and "privacy: (3, 1e-05)-differential privacy" in out

    plain = nn.load("plain.numnet")
    plain.estimator.epsilon_ = 0.5          # an epsilon, but no private training at all
    nn.save(plain, "claims.numnet")
    private = nn.load("p.numnet")
    private.estimator.epsilon_ = 0.5        # a smaller epsilon than the run spent
    nn.save(private, "edited.numnet")
    private = nn.load("p.numnet")
    del private.estimator.dp_steps_         # a record with a figure missing
    nn.save(private, "partial.numnet")

    for name, problem in (
            ("claims", "has an epsilon but the model was not trained privately (no dp_epsilon "
                       "or dp_noise_multiplier)"),
            ("edited", "is inconsistent: its epsilon 0.5 is not what the accountant gives for "
                       "its sampling rate, noise and steps (3)"),
            ("partial", "lacks dp_steps_")):
        code, out, _ = run(capsys, "inspect", f"{name}.numnet")
        assert code == 0
        assert f"privacy: no guarantee is claimed: the file's privacy record {problem}." in out
        assert "differential privacy" not in out
        code, out, _ = run(capsys, "inspect", f"{name}.numnet", "--json")
        assert json.loads(out)["privacy"] == {"guarantee": None, "problem": problem}


# --- a model that predicts one class for every row --------------------------------------------


def test_a_model_that_collapses_to_one_class_is_named_in_a_warning(tmp_path, monkeypatch,
                                                                   capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 3))
    y = np.where(X[:, 0] + rng.normal(size=600) > 1.3, "yes", "no")
    pd.DataFrame(X, columns=list("abc")).assign(y=y).to_csv(tmp_path / "unb.csv", index=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "train", "unb.csv", "-t", "y", "-o", "u.numnet", "--dp-epsilon",
                       "0.5", "--dp-categories", "y=yes|no", "--dp-bounds",
                       "a=-5:5,b=-5:5,c=-5:5", "--epochs", "3")
    assert code == 0
    assert ("warning: the model predicts 'no' for all 120 held-out rows, which hold 2 classes: "
            "it has collapsed to one class. Retrain with more --epochs or a higher "
            "--learning-rate; under --dp-epsilon, a larger budget or more rows; for rare "
            "classes, weights (--sample-weight).") in err
    code, _, err = run(capsys, "evaluate", "u.numnet", "unb.csv")
    assert code == 0 and "the model predicts 'no' for all 600 rows, which hold 2" in err
    # a model that learnt both classes is not warned about
    code, _, err = run(capsys, "train", "unb.csv", "-t", "y", "-o", "fine.numnet", "--epochs",
                       "30")
    assert code == 0 and "collapsed" not in err


# --- numnet demo --seed -1 -------------------------------------------------------------------


def test_demo_refuses_a_negative_seed():
    done = subprocess.run([*COMMAND, "demo", "--seed", "-1"], capture_output=True, text=True,
                          timeout=HANG_TIMEOUT)
    assert (done.returncode, done.stderr) == (2, "error: --seed must be an integer >= 0, got "
                                                 "-1.\n")
    from numnet.demo import run as demo

    with pytest.raises(ValueError, match=re.escape("seed must be an integer >= 0, got -1.")):
        demo(echo=lambda *a: None, seed=-1)


# --- forged checkpoints ----------------------------------------------------------------------


def forged(raw, edit_info=None, edit_state=None):
    """The checkpoint file ``raw`` with its info or state edited, checksums redone."""
    from test_io import join_file, split_file

    header, metadata, body = split_file(raw)
    if edit_info is not None:
        edit_info(metadata["object"]["info"])
    if edit_state is not None:
        body = edit_state(header, metadata["object"]["state"], body) or body
    return join_file(header, metadata, body)


CHECKPOINTED = ["-t", "y", "--hidden", "4", "--epochs", "3", "--solver", "adam", "-q",
                "--checkpoint-dir", "run", "-o", "m.numnet"]


@pytest.mark.parametrize("value", ["--epochs 3", ["--epochs", "3"], 7])
def test_a_checkpoint_whose_run_record_is_not_an_object_is_refused(here, capsys, value):
    assert run(capsys, "train", "d.csv", *CHECKPOINTED)[0] == 0
    path = here / "run" / "checkpoint.numnet"
    path.write_bytes(forged(path.read_bytes(), edit_info=lambda info: info.update(run=value)))
    code, _, err = run(capsys, "train", "d.csv", *CHECKPOINTED, "--resume")
    assert (code, err) == (2, f"error: Cannot resume from {str(path.relative_to(here))!r}: its "
                              "record of the run's options must be an object of option values "
                              "and the data's hash a string; the file was altered. Start afresh "
                              "without --resume.\n")


def set_optimizer(field, value):
    def edit(header, state, body):
        state["optimizer"][field] = value
    return edit


def negative_second_moment(header, state, body):
    key = state["optimizer"]["v_sum"]["key"]
    start, end = header[key]["data_offsets"]
    values = np.frombuffer(body[start:end], dtype="<f8").copy()
    values[0] = -1.0
    return body[:start] + values.tobytes() + body[end:]


@pytest.mark.parametrize("edit, detail", [
    (set_optimizer("t", 10**30), "Adam's step count t must be an integer in [0, 2**53], got "
                                 "1000000000000000000000000000000"),
    (negative_second_moment, "Adam's second-moment sum V must be >= 0 (a sum of squares), got "
                             "-1.0"),
    (set_optimizer("t", 0), "Adam's moment sums must both be present after a step and absent "
                            "before it, got t=0 with 2 of them"),
], ids=["huge-step-count", "negative-second-moment", "moments-before-a-step"])
def test_a_forged_adam_state_is_refused_as_altered_not_reported_as_divergence(tmp_path, edit,
                                                                             detail):
    from numnet.exceptions import InvalidStateError

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 3)), rng.normal(size=100)
    net = nn.Sequential([nn.Dense(1)]).build(3, random_state=0)
    nn.train(net, nn.MeanSquaredError(), nn.Adam(0.01), X, y, max_epochs=2,
             checkpoint=nn.Checkpoint(tmp_path / "a"))
    (tmp_path / "b").mkdir()
    path = tmp_path / "b" / "checkpoint.numnet"
    path.write_bytes(forged((tmp_path / "a" / "checkpoint.numnet").read_bytes(),
                            edit_state=edit))
    net = nn.Sequential([nn.Dense(1)]).build(3, random_state=0)
    with pytest.raises(InvalidStateError) as caught:
        nn.train(net, nn.MeanSquaredError(), nn.Adam(0.01), X, y, max_epochs=4,
                 checkpoint=nn.Checkpoint(tmp_path / "b"), resume=True)
    assert str(caught.value) == (f"The checkpoint in {path} holds an optimizer state that no "
                                 f"training run writes: {detail}; the file was altered. Start "
                                 "afresh without resume.")


def test_a_forged_adam_state_on_the_command_line_is_one_line(here, capsys):
    assert run(capsys, "train", "d.csv", *CHECKPOINTED)[0] == 0
    path = here / "run" / "checkpoint.numnet"
    path.write_bytes(forged(path.read_bytes(), edit_state=negative_second_moment))
    code, _, err = run(capsys, "train", "d.csv", *CHECKPOINTED, "--resume")
    assert code == 2
    assert err.startswith("error: The checkpoint in run/checkpoint.numnet holds an optimizer "
                          "state that no training run writes: Adam's second-moment sum V must "
                          "be >= 0")
    assert "diverged" not in err and len(err.splitlines()) == 1
