"""The command line on awkward real-world tables (issue 10, sections 4-6): rare classes, numbers
written as text, separators and encodings, early stopping's figures, plots, progress output.

Most run in process (``main([...])``); ``test_*_installed_command`` run the installed ``numnet``
console script, as a user would.
"""

import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import numnet as nn
from installed import COMMAND, HANG_TIMEOUT
from installed import run_cli as run
from numnet.cli import progress as cli_progress
from numnet.cli.app import _show_warning
from numnet.cli.progress import _Progress
from numnet.tabular import plotting
from numnet.training import History

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")




def numnet(*args, cwd):
    return subprocess.run([*COMMAND, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


CARB = [4, 4, 1, 1, 2, 1, 4, 2, 2, 4, 4, 3, 3, 3, 4, 4, 4, 1, 2, 1, 1, 2, 2, 4, 2, 1, 2, 2, 4, 6,
        8, 2]
HP = [110, 110, 93, 110, 175, 105, 245, 62, 95, 123, 123, 180, 180, 180, 205, 215, 230, 66, 52,
      65, 97, 150, 150, 245, 175, 66, 91, 113, 264, 175, 335, 109]
WT = [2.62, 2.875, 2.32, 3.215, 3.44, 3.46, 3.57, 3.19, 3.15, 3.44, 3.44, 4.07, 3.73, 3.78, 5.25,
      5.424, 5.345, 2.2, 1.615, 1.835, 2.465, 3.52, 3.435, 3.84, 3.845, 1.935, 2.14, 1.513, 3.17,
      2.77, 3.57, 2.78]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    # R's mtcars (three columns): carb 6 and 8 have one car each
    pd.DataFrame({"rownames": range(1, 33), "hp": HP, "wt": WT, "carb": CARB}).to_csv(
        folder / "mtcars.csv", index=False)
    rng = np.random.default_rng(0)
    n = 90
    flipper = rng.normal(200, 14, n).round(1)
    mass = (flipper * 50 - 6000 + rng.normal(0, 300, n)).round().astype(int)
    species = np.where(flipper > 205, "Gentoo", np.where(flipper > 190, "Chinstrap", "Adelie"))
    # a European export: ';' separators, decimal commas, thousands in the target, latin-1
    euro = pd.DataFrame({"flipper": [f"{v:.1f}".replace(".", ",") for v in flipper],
                         "island": rng.choice(["Biscoe", "Dréam"], n),
                         "mass, g": [f"{m:,}" for m in mass], "species": species})
    euro.loc[5, "mass, g"] = None
    euro.to_csv(folder / "penguins.csv", sep=";", index=False, encoding="latin-1")
    plain = pd.DataFrame({"flipper": flipper, "island": euro["island"], "mass": mass,
                          "species": species, "sex": rng.choice(["male", "female"], n)})
    plain.loc[[3, 8], "sex"] = None
    plain.to_csv(folder / "plain.csv", index=False)
    return folder


def test_rare_classes_and_text_numbers_through_the_installed_command(tables):
    # --seed 2 and --seed 6 used to put a one-car class only in the held-out rows and crash
    for seed in (2, 6):
        done = numnet("train", "mtcars.csv", "-t", "carb", "--seed", seed, "--epochs", "5",
                      "--hidden", "4", "-o", f"carb{seed}.numnet", cwd=tables)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert ("warning: class 6 of target column 'carb' has only 1 row; it is kept for "
                "training, so the validation metrics cannot cover it.") in done.stderr
        assert ("warning: column 'rownames' looks like a row number (its 25 values are all "
                "different integers from ") in done.stderr
    # sniffed ';', latin-1, a decimal comma in a feature, thousands in the target, a comma in
    # a column name, and a missing target dropped
    done = numnet("train", "penguins.csv", "-t", "mass, g", "--encoding", "latin-1",
                  "--drop-missing-target", "--exclude", "species", "--model", "linear",
                  "-o", "mass.numnet", cwd=tables)
    assert done.returncode == 0, done.stderr
    err = done.stderr.splitlines()
    assert err[0] == "Dropped 1 row(s) with a missing 'mass, g'."
    assert "warning: column 'mass, g' holds numbers written as text with thousands " \
        "separators (e.g. " in done.stderr
    assert "warning: column 'flipper' holds numbers written as text with a decimal comma " \
        "(e.g. " in done.stderr
    assert "Training LinearRegression (regression) on 71 rows, 18 held out" in done.stderr
    r2 = float(done.stdout.splitlines()[1].split()[1])
    assert r2 > 0.5  # grams standardised, then mapped back
    inspect = numnet("inspect", "mass.numnet", cwd=tables)
    assert "training options: --exclude species" in inspect.stdout
    assert "island: categorical, 2 categories (Biscoe, Dréam)" in inspect.stdout
    done = numnet("predict", "mass.numnet", "penguins.csv", "--encoding", "latin-1", cwd=tables)
    assert done.returncode == 0, done.stderr
    predictions = pd.read_csv(io.StringIO(done.stdout))["prediction"]
    assert 2500 < predictions.mean() < 6000  # grams, not standardised units
    usage = numnet("predict", "--help", cwd=tables).stdout
    assert "Usage: numnet predict [OPTIONS] MODEL DATA" in usage


def test_column_lists_name_columns_with_commas(tables, capsys, monkeypatch):
    monkeypatch.chdir(tables)
    code, _, err = run(capsys, "train", "penguins.csv", "-t", "species", "--encoding",
                       "latin-1", "--features", "flipper,mass\\, g", "--impute", "mean",
                       "--epochs", "3", "--hidden", "4", "-o", "sp.numnet", "-q")
    assert (code, err) == (0, "")
    assert nn.load(tables / "sp.numnet").features == ["flipper", "mass, g"]


def test_evaluate_names_the_target_it_was_given(tables, capsys, monkeypatch):
    monkeypatch.chdir(tables)
    code, _, _ = run(capsys, "train", "plain.csv", "-t", "species", "--features",
                     "flipper,island", "--epochs", "3", "--hidden", "4", "-o", "sp2.numnet",
                     "-q")
    assert code == 0
    code, out, err = run(capsys, "evaluate", "sp2.numnet", "plain.csv", "--target", "sex")
    assert (code, out) == (2, "")
    assert err == ("error: target column 'sex' has 2 missing value(s), the first at row 4. "
                   "Drop those rows (--drop-missing-target); targets are never imputed.\n")
    code, out, err = run(capsys, "evaluate", "sp2.numnet", "plain.csv", "--target", "island")
    first = pd.read_csv(tables / "plain.csv")["island"][0]
    assert err == ("error: target column 'island' has labels the model never saw, first "
                   f"{first!r} at row 1. The model knows: 'Adelie', 'Chinstrap', 'Gentoo'.\n")
    gentoo = pd.read_csv(tables / "plain.csv").query("species == 'Gentoo'")
    gentoo.to_csv(tables / "gentoo.csv", index=False)
    code, out, err = run(capsys, "evaluate", "sp2.numnet", "gentoo.csv")
    assert code == 0, err
    f1_line = next(line for line in out.splitlines() if line.strip().startswith("F1"))
    assert f1_line.endswith("(macro over the 1 of 3 classes present: Gentoo)")
    pipeline = nn.load(tables / "sp2.numnet")
    accuracy = next(line for line in out.splitlines() if line.strip().startswith("accuracy"))
    assert f"{pipeline.score(gentoo):.4f}" == accuracy.split()[1]


def test_early_stopping_reports_one_figure_per_name(tables, capsys, monkeypatch):
    monkeypatch.chdir(tables)
    code, out, err = run(capsys, "train", "plain.csv", "-t", "species", "--features",
                         "flipper,island", "--early-stopping", "--patience", "3",
                         "--learning-rate", "0.05", "--epochs", "200", "--hidden", "8",
                         "-o", "es.numnet")
    assert code == 0, err
    pipeline = nn.load(tables / "es.numnet")
    history = pipeline.estimator.history_
    kept, epochs = history.best_epoch, len(history.loss)
    assert kept < epochs
    accuracy = pipeline.info["metrics"]["accuracy"]
    # the curve at the kept epoch is the metrics table's figure
    assert pipeline.info["validation_curve"]["val_metric"][kept - 1] == pytest.approx(accuracy)
    assert out.splitlines()[0] == f"Validation metrics (18 rows, kept epoch {kept} of {epochs}):"
    assert f"accuracy           {accuracy:.4f}" in out
    last = err.strip().splitlines()[-1]
    # the kept model's figures, labelled with its epoch (issue 24)
    assert last.startswith(f"kept epoch {kept} of {epochs}  loss ")
    assert f"val_accuracy {accuracy:.4g}  elapsed " in last and last.endswith("s  done")
    code, out, _ = run(capsys, "inspect", "es.numnet")
    assert f"validation metrics at training time, kept epoch {kept} of {epochs}:" in out
    assert "final_val" not in out and "stopping_split_last_accuracy=" in out
    figure = plotting.plot_model(pipeline, tables / "es.png")
    title = figure.axes[0].get_title().replace("\n", " ")
    assert title == f"Loss curves (validation accuracy {accuracy:.4g} at kept epoch {kept})"


def test_plot_titles_fit_small_images_and_say_r2(tables, capsys, monkeypatch):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401

    monkeypatch.chdir(tables)
    run(capsys, "train", "plain.csv", "-t", "species", "--features", "flipper,mass",
        "--epochs", "3", "--hidden", "4", "-o", "two.numnet", "-q")
    pipeline = nn.load(tables / "two.numnet")
    figure = plotting.plot_model(pipeline, tables / "small.png",
                                    frame=pd.read_csv(tables / "plain.csv"), width=300,
                                    height=150)
    renderer = figure.canvas.get_renderer()
    left, right = (ax.title.get_window_extent(renderer) for ax in figure.axes[:2])
    assert left.x1 <= right.x0  # the two titles do not overlap
    assert 0 <= left.x0 and right.x1 <= 300 and max(left.y1, right.y1) <= 150
    run(capsys, "train", "plain.csv", "-t", "mass", "--features", "flipper", "--epochs", "3",
        "--hidden", "4", "-o", "reg.numnet", "-q")
    figure = plotting.plot_model(nn.load(tables / "reg.numnet"), tables / "reg.png")
    assert "validation R² " in figure.axes[0].get_title()


def test_labels_a_font_cannot_draw_give_a_warning(tables, monkeypatch):
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager.fontManager, "ttflist", [
        f for f in font_manager.fontManager.ttflist if f.name.startswith("DejaVu")])
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "z": [1.0, 0.0, 1.0, 0.0],
                          "y": ["猫", "犬", "猫", "犬"]})
    pipeline, _ = nn.tabular.train_pipeline(frame, target="y", validation_fraction=0,
                                             params={"max_iter": 2, "random_state": 0})
    with pytest.warns(UserWarning, match=re.escape(
            "labels contain characters (e.g. '犬') that no installed font can draw, so they "
            "show as boxes. Install a CJK font, e.g. Noto Sans CJK (package fonts-noto-cjk).")):
        plotting.plot_model(pipeline, tables / "cjk.png", frame=frame)


def test_inspect_escapes_newlines_in_categories(tables, capsys, monkeypatch):
    monkeypatch.chdir(tables)
    frame = pd.DataFrame({"note": ["a\nb", "c", "a\nb", "c"] * 6, "x": range(24),
                          "y": [0.5, 1.5, 2.0, 3.1] * 6})
    frame.to_csv("notes.csv", index=False)
    run(capsys, "train", "notes.csv", "-t", "y", "--epochs", "2", "--hidden", "2", "-o",
        "notes.numnet", "-q")
    code, out, _ = run(capsys, "inspect", "notes.numnet")
    assert "  note: categorical, 2 categories (a\\nb, c)" in out.splitlines()


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_counts_the_first_epoch_and_keeps_warnings_off_the_bar(monkeypatch):
    clock = iter([0.0, 9.0])
    monkeypatch.setattr(cli_progress.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()
    progress = _Progress(20, enabled=True, stream=stream)
    progress.start()  # training starts at 0 s, before epoch 1
    history = History(loss=[1.0])
    progress(1, history)
    history.loss.append(0.5)
    progress(2, history)  # ends at 9 s: both epochs count
    assert stream.getvalue() == "epoch 2/20  loss 0.5  elapsed 9.0s  eta 81.0s\n"

    monkeypatch.setattr(cli_progress.time, "perf_counter", lambda: 1.0)
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    progress = _Progress(4, enabled=True, stream=terminal)
    progress.start()
    progress(1, History(loss=[0.5]))
    _show_warning("stopped early", UserWarning, "x.py", 1)
    before, after = terminal.getvalue().split("warning: stopped early\n")
    assert before.endswith("\r")  # the bar's line was cleared first
    assert "epoch" in after  # and the bar is drawn again below the warning
    progress.close()
    assert _Progress.active is None


def test_an_installed_cjk_font_is_chosen(monkeypatch):
    from matplotlib import font_manager

    fake = font_manager.FontEntry(fname="/nowhere/NotoSansCJK.otf", name="Noto Sans CJK JP")
    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [*font_manager.fontManager.ttflist, fake])
    assert plotting._font_family(["x", "猫"]) == ["Noto Sans CJK JP", "DejaVu Sans"]
    assert plotting._font_family(["x", "y"]) == ["sans-serif"]


# --- review of issue 10 ---------------------------------------------------------------------


def test_inspect_describes_every_column_kind_through_the_installed_command(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"],
                          "d": ["2020-01-01", "2021-02-01", "2022-03-01", "2023-01-01"],
                          "y": [1, 0, 1, 0]})
    frame.to_csv(tmp_path / "kinds.csv", index=False)
    done = numnet("train", "kinds.csv", "-t", "y", "-o", "kinds.numnet", "--epochs", "2",
                  "--validation-fraction", "0", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = numnet("inspect", "kinds.numnet", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    lines = done.stdout.splitlines()
    assert "preprocessing (3 columns -> 7 features, impute=indicator):" in lines
    assert ("  x: numeric, robust: median 2.5, spread 1.5, clipped smoothly to +-3, "
            "fill 2.5") in lines
    assert "  c: categorical, 2 categories (a, b)" in lines
    assert ("  d: date, 4 features (d.year, d.month, d.dayofweek, d.ordinal), "
            "fill 2021-08-16") in lines


def test_parquet_dates_and_decimals_are_dates_and_numbers(tmp_path, capsys, monkeypatch):
    import datetime
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.chdir(tmp_path)
    days = [datetime.date(2020, 1, 1) + datetime.timedelta(days=40 * i) for i in range(12)]
    prices = [decimal.Decimal(f"{10 + 3 * i}.{i:02d}") for i in range(12)]
    pq.write_table(pa.table({
        "day": pa.array(days, pa.date32()),
        "stamp": pa.array([datetime.datetime(2021, 1, 1 + i) for i in range(12)],
                          pa.timestamp("ms")),
        "price": pa.array(prices, pa.decimal128(10, 2)),
        "cost": pa.array([p * 2 for p in prices], pa.decimal128(10, 2)),
    }), "shop.parquet")
    code, _, err = run(capsys, "train", "shop.parquet", "-t", "cost", "--model", "linear",
                       "--validation-fraction", "0", "-o", "shop.numnet", "-q")
    assert (code, err) == (0, "")
    pipeline = nn.load(tmp_path / "shop.numnet")
    assert pipeline.task == "regression"
    assert [(c["name"], c["kind"]) for c in pipeline.preprocessor.columns_] == [
        ("day", "date"), ("stamp", "date"), ("price", "numeric")]
    code, out, err = run(capsys, "predict", "shop.numnet", "shop.parquet")
    assert code == 0, err
    predicted = pd.read_csv(io.StringIO(out))["prediction"].to_numpy()
    np.testing.assert_allclose(predicted, [float(p) * 2 for p in prices], rtol=1e-6)
    # the Python API: decimals in a frame are numbers too
    frame = pd.DataFrame({"price": prices, "cost": [p * 2 for p in prices]})
    api, _ = nn.tabular.train_pipeline(frame, target="cost", model="linear",
                                        validation_fraction=0)
    assert api.task == "regression" and api.preprocessor.columns_[0]["kind"] == "numeric"


def _limited_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (4_000_000_000, 4_000_000_000))


def test_data_files_that_are_not_regular_files_are_refused(tmp_path):
    import os

    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    (tmp_path / "zero.parquet").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.csv")
    for name, kind in (("zero.csv", "a character device"), ("zero.parquet", "a character device"),
                       ("pipe.csv", "a FIFO (named pipe)")):
        done = subprocess.run([*COMMAND, "train", name, "-t", "y", "-o", "b.numnet"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=HANG_TIMEOUT,
                              preexec_fn=_limited_memory)
        assert (done.returncode, done.stdout) == (2, ""), done.stderr[-500:]
        assert done.stderr == (f"error: Cannot read {name!r}: it is {kind}, not a data file. "
                               "Pass the file itself, or - to read CSV from stdin.\n")
    done = subprocess.run([*COMMAND, "train", "-", "-t", "y", "-o", "b.numnet", "--epochs", "2",
                           "--validation-fraction", "0", "-q"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=HANG_TIMEOUT,
                          input="x,y\n1,0\n2,1\n3,0\n4,1\n")
    assert (done.returncode, done.stderr) == (0, "")


def test_dates_and_text_identifiers_get_a_warning_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"model": [f"car {i}" for i in range(12)],
                  "built": [f"20{10 + i}-0{1 + i % 9}-15" for i in range(12)],
                  "hp": [90.0, 110, 95, 150, 175, 60, 245, 62, 123, 180, 66, 97],
                  "y": [0, 1] * 6}).to_csv("cars.csv", index=False)
    code, _, err = run(capsys, "train", "cars.csv", "-t", "y", "--epochs", "2",
                       "--validation-fraction", "0", "-o", "cars.numnet")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning: column")]
    assert warnings == [
        "warning: column 'model' looks like an identifier (its 12 values are all different "
        "text); it is used as 12 one-hot features. If it is an identifier, leave it out with "
        "--exclude model.",
        "warning: column 'built' holds dates; it is used as 4 numeric features: built.year, "
        "built.month, built.dayofweek and built.ordinal (days since 1970-01-01).",
    ]


@pytest.mark.parametrize("edit, detail", [
    (lambda state: state["callbacks"]["1"]["curve"]["val_loss"].extend([0.5] * 4),
     "the validation curve must have one entry per completed epoch (3), got 7 val_loss "
     "entries"),
    (lambda state: state["callbacks"]["0"].update(n_scaled=10**9),
     "n_scaled (the history entries already rescaled) must be at most the completed epochs "
     "(3), got 1000000000"),
], ids=["curve-too-long", "n-scaled"])
def test_checkpoints_with_callback_state_out_of_range_are_refused(tmp_path, capsys, monkeypatch,
                                                                  edit, detail):
    from test_io import forge

    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"x": np.arange(20.0), "y": [0, 1] * 10}).to_csv("d.csv", index=False)
    args = ["train", "d.csv", "-t", "y", "--hidden", "2", "--epochs", "3", "-o", "m.numnet",
            "--checkpoint-dir", "run", "-q"]
    assert run(capsys, *args)[0] == 0
    path = tmp_path / "run" / "checkpoint.numnet"
    path.write_bytes(forge(path.read_bytes(),
                           lambda header, metadata: edit(metadata["object"]["state"])))
    code, out, err = run(capsys, *args, "--resume")
    assert (code, out) == (2, "")
    assert err == (f"error: The checkpoint in {Path('run') / 'checkpoint.numnet'} does not fit "
                   f"this run: the state of callback {0 if 'n_scaled' in detail else 1} does "
                   f"not fit it ({detail}; the file was altered). Resume with the same data and "
                   "settings, or start afresh without resume.\n")


def test_an_output_that_is_the_checkpoint_file_is_refused_before_training(tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"x": np.arange(20.0), "y": [0, 1] * 10}).to_csv("d.csv", index=False)
    (tmp_path / "ckx").mkdir()
    for output in ("ckx/checkpoint.numnet", "./ckx/../ckx/checkpoint.numnet"):
        code, out, err = run(capsys, "train", "d.csv", "-t", "y", "-o", output,
                             "--checkpoint-dir", "ckx")
        assert (code, out) == (2, "")
        assert err == (f"error: Cannot write {output!r}: it is the checkpoint file of "
                       "--checkpoint-dir 'ckx', which training writes. Choose another output "
                       "path.\n")
    assert list((tmp_path / "ckx").iterdir()) == []


def test_an_output_folder_gets_a_hint_that_fits_the_command(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"x": np.arange(20.0), "y": [0, 1] * 10}).to_csv("d.csv", index=False)
    assert run(capsys, "train", "d.csv", "-t", "y", "--epochs", "2", "-o", "m.numnet", "-q")[0] == 0
    (tmp_path / "q.png").mkdir()
    (tmp_path / "out.csv").mkdir()
    for args, example in ((["plot", "m.numnet", "-o", "q.png"], "q.png/plot.png"),
                          (["predict", "m.numnet", "d.csv", "-o", "out.csv"],
                           "out.csv/predictions.csv"),
                          (["explain", "m.numnet", "d.csv", "-o", "out.csv"],
                           "out.csv/explanations.csv"),
                          (["train", "d.csv", "-t", "y", "-o", "q.png"], "q.png/model.numnet")):
        code, out, err = run(capsys, *args)
        assert (code, out) == (2, "")
        assert err == (f"error: Cannot write {args[-1]!r}: it is a folder. Name a file to "
                       f"write, e.g. {example!r}.\n")


def test_a_list_target_gets_advice_for_a_target(tmp_path, capsys, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.chdir(tmp_path)
    pq.write_table(pa.table({"x": [1.0, 2.0] * 5, "tags": pa.array([["a"], ["b"]] * 5)}),
                   "tags.parquet")
    code, out, err = run(capsys, "train", "tags.parquet", "-t", "tags", "-o", "m.numnet")
    assert (code, out) == (2, "")
    assert err == ("error: target column 'tags' must hold numbers or strings, got list values "
                   "(e.g. array(['a'], dtype=object)). Choose another --target, or flatten it "
                   "into a plain column of labels or numbers.\n")


def test_the_progress_bar_clock_starts_with_training(monkeypatch):
    from tqdm import std

    now = [100.0]
    monkeypatch.setattr(std, "time", lambda: now[0])  # tqdm's clock
    terminal = FakeTerminal()
    progress = _Progress(4, enabled=True, stream=terminal)
    progress.start()  # training starts at 100 s
    now[0] = 109.0  # epoch 1 took 9 s
    progress(1, History(loss=[0.5]))
    assert progress.bar.start_t == 100.0
    assert progress.bar.format_dict["elapsed"] == 9.0
    progress.close()
