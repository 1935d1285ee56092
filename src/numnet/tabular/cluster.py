"""The summary pass of ``numnet train`` on a Dask cluster: one read of the table, exact merges.

Each partition of the dask DataFrame is summarised on its worker (:func:`summarise`): row
counts, the held-out rows of the split, and per column what the in-memory checks and the fit of
:class:`TabularPreprocessor` need (missing and infinite values with their first rows, exact
sums and squares, minimum and maximum, category counts, the target's labels or sums). The
client merges the summaries in partition order (:func:`merge`); nothing else of the data
comes back. Sums are exact (:mod:`numnet.tabular.statistics`), so the fitted state is the one
:meth:`TabularPreprocessor.fit` gives on the same training rows in memory, bit for bit.

The split is :func:`held_out`: a seeded hash of each row's values, so that it does not depend
on the partitioning. Messages number rows through the partitions, as the files concatenated in
sorted order would.
"""

import hashlib
from collections import Counter

import numpy as np

from .columns import _DATE, MAX_LABEL_CHARS, _number_format, _unusable_type, check_plain
from .reading import SpecError
from .statistics import exact_sums

MAX_COUNTED = 1001
"""Distinct target values counted per partition: beyond MAX_CLASSES, a target is no class."""


def held_out(frame, columns, fraction, seed):
    """Boolean mask of the held-out rows: a seeded 64-bit hash of each row's values.

    Row i is held out when ``hash(row i's values in columns) < fraction * 2**64``, with
    pandas' ``hash_pandas_object`` keyed by the seed. The same rows are held out however the
    table is split into files or partitions; identical rows fall on the same side; the share
    held out is ``fraction`` on average, not exactly.
    """
    import pandas as pd

    if fraction == 0 or len(frame) == 0:
        return np.zeros(len(frame), dtype=bool)
    values = {}
    for name in columns:
        series = frame[name]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
                or pd.api.types.is_datetime64_any_dtype(series)):
            # text: the same hash whether pandas holds it as str, string[pyarrow] or objects
            series = series.astype(object).where(series.notna(), None)
        values[str(name)] = series.reset_index(drop=True)
    key = hashlib.sha256(f"numnet split {seed}".encode()).hexdigest()[:16]
    try:
        hashes = pd.util.hash_pandas_object(pd.DataFrame(values), index=False, hash_key=key)
    except TypeError:
        # a list, struct or map column (arrays in the cells): the one-line refusal of its kind
        from .columns import column_kind

        for name in columns:
            column_kind(frame[name], name)
        raise
    return hashes.to_numpy() < np.uint64(int(fraction * 2.0**64))


def prepare(part, plan):
    """The partition as the in-memory path reads it: rows without a target dropped on request."""
    part = part.reset_index(drop=True)
    dropped = 0
    if plan["drop_missing_target"]:
        keep = part[plan["target"]].notna().to_numpy()
        dropped = int(len(keep) - keep.sum())
        if dropped:
            part = part.loc[keep].reset_index(drop=True)
    return part, dropped


def _first(mask):
    found = np.flatnonzero(mask)
    return int(found[0]) if len(found) else None


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


# ------------------------------------------------------------------------- per partition


def summarise(part, plan):
    """One partition's summary (run on a worker). ``plan`` says what to look at."""
    import pandas as pd

    part, dropped = prepare(part, plan)
    held = held_out(part, plan["used"], plan["fraction"], plan["seed"])
    train = ~held
    summary = {"rows": len(part), "dropped": dropped, "held": int(held.sum()),
               "features": {name: _column(part[name], train, plan["impute"])
                            for name in plan["features"]},
               "target": _target(part[plan["target"]], train, plan)}
    if plan.get("digest"):  # for checkpoints: --resume must see the same data
        hashes = pd.util.hash_pandas_object(part, index=False).to_numpy()
        summary["sha256"] = hashlib.sha256(hashes.tobytes()).hexdigest()
    if plan["weight"] is not None:
        weights = part[plan["weight"]].to_numpy(dtype=np.float64, na_value=np.nan)
        bad = _first(~(np.isfinite(weights) & (weights >= 0)))
        summary["weight"] = None if bad is None else (bad, float(weights[bad]))
    return summary


def _column(series, train, impute):
    import pandas as pd

    missing = series.isna().to_numpy()
    out = {"missing": int(missing.sum()), "first_missing": _first(missing),
           "n_train": int(train.sum()), "train_missing": int(missing[train].sum())}
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = _first(np.isinf(values))
        out["first_inf"] = None if bad is None else (bad, float(values[bad]))
        kept = series[train].dropna()
        present = values[train]
        present = present[np.isfinite(present)]
        out["sums"] = exact_sums(present)
        out["n_present"] = len(present)
        out["min"] = _plain(kept.min()) if len(kept) else None
        out["max"] = _plain(kept.max()) if len(kept) else None
        if impute == "most_frequent":
            out["counts"] = Counter({float(k): int(v) for k, v in
                                     pd.Series(present).value_counts().items()})
        return out
    if pd.api.types.is_datetime64_any_dtype(series):
        out["dates"] = True
        return out
    present = series.dropna()
    try:
        check_plain(series, series.name)
        out["unusable"] = None
    except SpecError as error:  # its problems: the driver names the fields (flags on the CLI)
        out["unusable"] = error.problems
    out["n_present"] = len(present)
    strings = all(isinstance(v, str) for v in present)
    text = present.astype(str)
    out["n_date"] = int(text.str.fullmatch(_DATE).sum()) if strings and len(present) else 0
    out["n_numeric"] = int(pd.to_numeric(text, errors="coerce").notna().sum())
    parsed = pd.to_numeric(series.astype(object), errors="coerce")
    bad = _first(parsed.isna().to_numpy() & ~missing)
    out["first_text"] = None if bad is None else (bad, series.iloc[bad])
    formats = None
    if strings and len(present):
        formats = {_number_format(v) for v in text.unique()}
        formats = None if None in formats else formats
    out["formats"], out["example"] = formats, (present.iloc[0] if len(present) else None)
    out["counts"] = Counter(series[train].dropna().astype(str).value_counts().to_dict())
    return out


def _target(series, train, plan):
    import pandas as pd

    missing = series.isna().to_numpy()
    out = {"missing": int(missing.sum()), "first_missing": _first(missing),
           "unusable": _unusable_type(series) is not None}
    if out["unusable"]:
        try:
            check_plain(series, plan["target"], "target column")
        except SpecError as error:
            out["unusable"] = error.problems
    if plan["labels"]:
        for key, rows in (("counts", slice(None)), ("train_counts", train)):
            counts = series[rows].dropna().value_counts()
            out[key] = None if len(counts) > MAX_COUNTED else Counter(
                {_plain(k): int(v) for k, v in counts.items()})
        long = None
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            lengths = series.astype(str).str.len().to_numpy()
            long = _first((lengths > MAX_LABEL_CHARS) & ~missing)
            long = None if long is None else (long, int(lengths[long]))
        out["long"] = long
    if plan["numbers"]:
        if pd.api.types.is_bool_dtype(series):
            values = np.full(len(series), np.nan)
        elif pd.api.types.is_numeric_dtype(series):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = pd.to_numeric(series.astype(object), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan)
        bad = _first(np.isnan(values) & ~missing)
        out["first_text"] = None if bad is None else (bad, _plain(series.iloc[bad]))
        bad = _first(np.isinf(values))
        out["first_inf"] = None if bad is None else (bad, float(values[bad]))
        present = values[train]
        out["sums"] = exact_sums(present[np.isfinite(present)])
    return out


# -------------------------------------------------------------------------------- merging


class Merged:
    """The partitions' summaries, merged in order: global row numbers and column totals."""

    def __init__(self, summaries):
        self.parts = summaries
        rows = np.array([s["rows"] for s in summaries], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.int64)
        self.n_rows = int(rows.sum())
        self.dropped = sum(s["dropped"] for s in summaries)
        self.n_held = sum(s["held"] for s in summaries)
        self.n_train = self.n_rows - self.n_held

    def data_sha256(self, frame):
        """SHA-256 of the table: its columns, dtypes and the partitions' row hashes, in order."""
        import json

        digest = hashlib.sha256(json.dumps([list(frame.columns),
                                            [str(t) for t in frame.dtypes]]).encode())
        for summary in self.parts:
            digest.update(summary["sha256"].encode())
        return digest.hexdigest()

    def first(self, get):
        """(global 1-based row, rest) of the first partition where ``get(summary)`` is set."""
        for offset, summary in zip(self.offsets, self.parts, strict=True):
            found = get(summary)
            if found is not None:
                if isinstance(found, tuple):
                    return (int(offset) + found[0] + 1, *found[1:])
                return (int(offset) + found + 1,)
        return None

    def total(self, get):
        return sum(get(s) for s in self.parts)

    def counts(self, get):
        """Merged Counter, or None when a partition had too many distinct values."""
        merged = Counter()
        for summary in self.parts:
            part = get(summary)
            if part is None:
                return None
            merged.update(part)
        return merged

    def sums(self, get):
        total = squares = 0
        for summary in self.parts:
            s1, s2 = get(summary)
            total, squares = total + s1, squares + s2
        return total, squares

    def feature(self, name, key):
        return [s["features"][name][key] for s in self.parts]

    def any_feature(self, name, key):
        return any(self.feature(name, key))
