"""numnet.tabular.TrainSpec: the run as one object, from the command line and back.

``tests/data/pipeline-before-spec.numnet`` and ``checkpoint-before-spec.numnet`` were written
by the code before the spec (commit a272b05), from ``tests/data/spec-compat.csv``::

    numnet train spec-compat.csv -t label --hidden 4 --epochs 4 --batch-size 16 \\
        --learning-rate 0.01 -o pipeline-before-spec.numnet
    (the same with --checkpoint-dir ck, interrupted by SIGINT after epoch 2)
"""

import ast
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numnet as nn
from installed import COMMAND, run_cli
from numnet.cli import app
from numnet.tabular import SpecError, TrainSpec
from numnet.tabular.spec_errors import problem

DATA = Path(__file__).parent / "data"
TRAIN = typer.main.get_command(app).commands["train"]
NOT_SPEC = ("output", "quiet", "as_json")


def parsed(args):
    """The spec of ``numnet train ARGS`` as the command line parses it."""
    context = TRAIN.make_context("train", list(args))
    return TrainSpec.from_cli(**{k: v for k, v in context.params.items() if k not in NOT_SPEC})


NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\"),
               min_size=1, max_size=8).map(str.strip).filter(bool)
DP_NAME = NAME.filter(lambda s: not set(s) & set("=|"))
NUMBER = st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 3))


def _bounds(pairs):
    return ",".join(f"{n.replace(',', chr(92) + ',')}={lo}:{lo + width}"
                    for n, lo, width in pairs)


OPTIONS = {
    "--features": st.lists(NAME, min_size=1, max_size=3).map(
        lambda ns: ",".join(n.replace(",", "\\,") for n in ns)),
    "--exclude": st.lists(NAME, min_size=1, max_size=3).map(
        lambda ns: ",".join(n.replace(",", "\\,") for n in ns)),
    "--impute": st.sampled_from(["mean", "median", "most_frequent"]),
    "--sample-weight": NAME, "--sep": st.sampled_from([";", "\t", "|", ","]),
    "--encoding": st.sampled_from(["latin-1", "utf-8"]),
    "--drop-missing-target": st.just(None), "--no-scale-target": st.just(None),
    "--task": st.sampled_from(["classification", "regression"]),
    "--hidden": st.lists(st.integers(1, 99), min_size=1, max_size=3).map(
        lambda v: ",".join(map(str, v))),
    "--activation": st.sampled_from(["relu", "tanh", "identity"]),
    "--alpha": st.floats(0, 10), "--epochs": st.integers(1, 500),
    "--batch-size": st.integers(1, 500), "--learning-rate": st.floats(1e-6, 1),
    "--patience": st.integers(1, 50), "--validation-fraction": st.floats(0, 0.99),
    "--validation-batch-size": st.integers(1, 10_000),
    "--seed": st.integers(0, 2**31), "--dtype": st.sampled_from(["float32", "float64"]),
    "--checkpoint-dir": NAME, "--checkpoint-every": st.integers(1, 9),
    "--resume": st.just(None),
}
PRIVATE = {
    "--dp-epsilon": st.floats(0.1, 50), "--dp-delta": st.floats(1e-9, 1e-3),
    "--dp-max-grad-norm": st.floats(0.1, 10),
    "--dp-bounds": st.lists(st.tuples(DP_NAME, NUMBER, st.floats(0.5, 100)), min_size=1,
                            max_size=3).map(_bounds),
    "--dp-categories": st.lists(st.tuples(DP_NAME, st.lists(DP_NAME, min_size=1, max_size=3)),
                                min_size=1, max_size=3).map(lambda pairs: ",".join(
                                    n.replace(",", "\\,") + "=" + "|".join(
                                        c.replace(",", "\\,") for c in cats)
                                    for n, cats in pairs)),
}


@st.composite
def command_lines(draw):
    args = [draw(NAME.filter(lambda s: s != "-")), "--target", draw(NAME), "-o", "m.numnet"]
    options = dict(OPTIONS)
    if draw(st.booleans()):
        options.update(PRIVATE)
        args += ["--solver", "adam"]
    else:
        options["--early-stopping"] = st.just(None)
        if draw(st.booleans()):
            args += ["--workers", "2"]
            for flag in ("--impute", "--drop-missing-target", "--early-stopping"):
                options.pop(flag, None)
    chosen = draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=10))
    if "--resume" in chosen or "--checkpoint-every" in chosen:
        chosen.append("--checkpoint-dir") if "--checkpoint-dir" not in chosen else None
    if any(flag.startswith("--dp-") for flag in chosen):
        chosen.append("--dp-epsilon") if "--dp-epsilon" not in chosen else None
    for flag in chosen:
        value = draw(options[flag])
        args += [flag] if value is None else [flag, str(value)]
    return args


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_lines())
def test_the_command_of_a_spec_parses_back_to_the_same_spec(args):
    spec = parsed(args)
    again = parsed(_words(spec))
    assert again == spec
    assert TrainSpec.from_dict(spec.to_dict()) == spec


def _words(spec):
    import shlex

    words = shlex.split(spec.to_args("m.numnet"))
    assert words[:2] == ["numnet", "train"]
    return words[2:]


def test_every_problem_is_reported_at_once_and_one_is_todays_message(capsys):
    code, _, err = run_cli(capsys, "train", "d.csv", "-t", "y", "-o", "m.numnet",
                           "--alpha", "-1", "--epochs", "0", "--hidden", "4,x")
    assert code == 2
    assert err == ("error: 3 problems: (1) --hidden must be comma-separated integers >= 1 "
                   "such as 64,32, got '4,x'. (2) --alpha must be a float >= 0, got -1.0. "
                   "(3) --epochs must be an integer >= 1, got 0.\n")
    code, _, err = run_cli(capsys, "train", "d.csv", "-t", "y", "-o", "m.numnet",
                           "--alpha", "-1")
    assert err == "error: --alpha must be a float >= 0, got -1.0.\n"
    with pytest.raises(SpecError, match=r"^alpha must be a float >= 0, got -1.0.$"):
        TrainSpec(data="d.csv", target="y", alpha=-1.0)


def test_a_spec_error_pickles_with_its_fields():
    import pickle

    error = SpecError([problem("{target} must name columns of {source!r}.", source="{a}.csv")])
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is SpecError and str(back) == "target must name columns of '{a}.csv'."
    assert back.render(TrainSpec.flag) == "--target must name columns of '{a}.csv'."


def test_from_dict_refuses_unknown_keys_types_and_ranges():
    good = TrainSpec(data="d.csv", target="y").to_dict()
    for change, message in [({"colour": 1}, "a training specification has no field 'colour'."),
                            ({"epochs": "5"}, "epochs must be int, got '5'."),
                            ({"hidden": [0]}, "hidden must be comma-separated integers >= 1 "
                                              "such as 64,32, got '0'."),
                            ({"seed": -1}, "seed must be an integer >= 0, got -1.")]:
        with pytest.raises(SpecError) as error:
            TrainSpec.from_dict({**good, **change})
        assert str(error.value) == message


HOSTILE = ["x'); import os; os.system('echo pwned') #", 'a"b\nc', "|rm -rf /", "{alpha}",
           "\\x00\u202e"]


@pytest.mark.parametrize("name", HOSTILE)
def test_to_python_of_hostile_names_holds_only_the_expected_calls(name):
    spec = TrainSpec(data=name + ".csv", target=name, features=(name, "b"), exclude=(name,),
                     sample_weight="w", dp_epsilon=1.0, solver="adam",
                     dp_bounds=((name, 0.0, 1.0),), dp_categories=((name, (name, "z")),))
    code = spec.to_python(output=name)
    tree = ast.parse(code)
    calls = [ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)]
    assert calls == ["TrainSpec", "fit", "numnet.save", "print"]
    spec_call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call)
                     and ast.unparse(n.func) == "TrainSpec")
    values = {k.arg: ast.literal_eval(k.value) for k in spec_call.keywords}
    assert TrainSpec(**values) == spec
    imports = [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert imports == ["import numnet", "from numnet.tabular import TrainSpec, fit"]


def test_the_playground_script_and_to_python_write_values_with_one_function():
    from numnet.playground import export
    from numnet.tabular import spec_render

    assert export.literal is spec_render.literal
    values = [None, True, np.int64(3), np.float64(0.5), np.float32(0.25), "a'b\n", (1,),
              ("a", 2.0), [1, (2, 3)], {"k": [np.int32(1)]}]
    for value in values:
        text = spec_render.literal(value)
        assert "np." not in text and ast.literal_eval(text) == value
    for bad, message in [(float("nan"), "a value in the code must be a finite number, got nan."),
                         (np.float64("inf"), "a value in the code must be a finite number, "
                                             "got inf."),
                         (object(), "a value in the code must be a plain literal, got object.")]:
        with pytest.raises(ValueError) as error:
            spec_render.literal(bad)
        assert str(error.value) == message


def numnet(*args, cwd):
    return subprocess.run([*COMMAND, *args], cwd=cwd, capture_output=True, text=True,
                          encoding="utf-8", timeout=300)


def weights(path):
    return nn.load(path).estimator.network_.params.tobytes()


@pytest.mark.parametrize("private", [False, True])
def test_the_inspected_command_retrains_the_same_model_in_a_shell(tmp_path, private):
    rng = np.random.default_rng(1)
    names = ["size 'm²'", 'say "hi"', "a|b"]
    frame = pd.DataFrame({names[0]: rng.normal(size=80).round(3),
                          names[1]: rng.choice(["café", "thé"], 80),
                          names[2]: rng.normal(size=80).round(3)})
    frame["y|label"] = np.where(frame[names[0]] + frame[names[2]] > 0, "yes", "no")
    frame.to_csv(tmp_path / "my data.csv", sep=";", index=False, encoding="latin-1")
    args = ["my data.csv", "-t", "y|label", "--sep", ";", "--encoding", "latin-1",
            "--hidden", "5", "--epochs", "3", "--exclude", "a|b", "--seed", "7", "-q"]
    if private:
        args += ["--dp-epsilon", "2", "--dp-bounds", "size 'm²'=-4:4", "--dp-categories",
                 'say "hi"=café|thé,y|label=no|yes', "--dp-max-grad-norm", "0.5"]
    else:
        args += ["--impute", "median", "--validation-fraction", "0.25"]
    done = numnet("train", *args, "-o", "first.numnet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    inspected = numnet("inspect", "first.numnet", cwd=tmp_path)
    line = next(x for x in inspected.stdout.splitlines() if x.startswith("command: "))
    command = line.removeprefix("command: ").replace("first.numnet", "again.numnet")
    assert command.startswith("numnet train ")
    shell = f"{' '.join(map(str, COMMAND))} {command.removeprefix('numnet ')}"
    done = subprocess.run(["bash", "-c", shell], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert weights(tmp_path / "again.numnet") == weights(tmp_path / "first.numnet")
    assert nn.load(tmp_path / "again.numnet").info["spec"] == \
        nn.load(tmp_path / "first.numnet").info["spec"]


def test_a_model_file_from_before_the_spec_loads_predicts_and_is_inspected(capsys):
    model = nn.load(DATA / "pipeline-before-spec.numnet")
    frame = pd.read_csv(DATA / "spec-compat.csv")
    expected = [0.6414377510028177, 0.6414377510028177, 0.7201355214424681]
    np.testing.assert_array_equal(model.predict_proba(frame.head(3))[:, 1], expected)
    code, out, _ = run_cli(capsys, "inspect", DATA / "pipeline-before-spec.numnet")
    assert code == 0
    assert "training options: --hidden 4 --epochs 4 --batch-size 16 --learning-rate 0.01" \
        in out and "command:" not in out


def test_a_checkpoint_from_before_the_spec_resumes_to_the_uninterrupted_run(tmp_path, capsys,
                                                                          monkeypatch):
    shutil.copy(DATA / "spec-compat.csv", tmp_path)
    (tmp_path / "ck").mkdir()
    shutil.copy(DATA / "checkpoint-before-spec.numnet", tmp_path / "ck" / "checkpoint.numnet")
    args = ["train", "spec-compat.csv", "-t", "label", "--hidden", "4", "--epochs", "4",
            "--batch-size", "16", "--learning-rate", "0.01", "-q"]
    monkeypatch.chdir(tmp_path)
    assert run_cli(capsys, *args, "--checkpoint-dir", "ck", "--resume", "-o", "r.numnet")[0] == 0
    # written before the presets: its run goes on as the classic model it started as
    assert nn.load("r.numnet").info["spec"]["preset"] == "classic"
    assert run_cli(capsys, *args, "--preset", "classic", "-o", "u.numnet")[0] == 0
    assert weights("r.numnet") == weights("u.numnet")
    assert weights("u.numnet") == weights(DATA / "pipeline-before-spec.numnet")
    # another option than the old run's is refused, named as before
    shutil.copy(DATA / "checkpoint-before-spec.numnet", tmp_path / "ck" / "checkpoint.numnet")
    code, _, err = run_cli(capsys, *args, "--epochs", "5", "--checkpoint-dir", "ck",
                           "--resume", "-o", "r.numnet")
    assert (code, err) == (2, "error: --resume needs the options of the interrupted run, but "
                              "--epochs was 4 there and is 5 here.\n")


def test_the_spec_knows_the_private_samplers():
    from numnet.privacy.sampling import SAMPLERS
    from numnet.tabular.spec_checks import DP_SAMPLERS

    assert DP_SAMPLERS == SAMPLERS
