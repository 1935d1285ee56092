"""The preprocessing of ``numnet train``: standardised numbers and dates, one-hot categories."""

import math
import warnings

import numpy as np

from ..functional import robust_scale_statistics, smooth_clip
from .columns import (
    DATE_PARTS,
    FILLED_FIX,
    FIX,
    _check_missing,
    _date_parts,
    _numeric_values,
    column_kind,
)
from .identifiers import warn_identifier
from .problems import listed, problems_of, raise_problems
from .reading import (
    IMPUTE,
    DataError,
    SpecError,
    _check_duplicates,
    _row,
    problem,
    separator_hint,
)
from .statistics import exact_mean, exact_sums, mean_std

SCALINGS = ("standard", "robust")
CLIP = 3.0
"""The bound of the smooth clipping after robust scaling: values end in (-3, 3)."""
MISSING_CATEGORY = "(missing)"
OTHER_CATEGORY = "(other)"


class TabularPreprocessor:
    """Turn raw table columns into a float matrix: standardise numbers, one-hot encode strings.

    For a numeric column x (missing values first filled with ``fill``)::

        x' = (x - mean) / scale          mean, scale = x.mean(), x.std()  (scale = 1 if std == 0)

    For a string column with training categories c_1 < ... < c_k (sorted)::

        x' = [x == c_1, ..., x == c_k]   k columns of 0.0/1.0; an unseen value gives all zeros

    The same as scikit-learn's ``SimpleImputer`` then ``StandardScaler`` on numeric columns and
    ``OneHotEncoder(handle_unknown="ignore")`` on string columns. Everything fitted is plain
    data (lists of floats and strings), stored in the model file as JSON.

    With ``scaling="robust"`` a numeric column is centred on its median, scaled by its spread
    and smoothly clipped (RealMLP's preprocessing, :func:`numnet.functional.robust_scale`)::

        x' = z / sqrt(1 + (z / 3)**2),   z = (x - median) / spread
        spread = q75 - q25, or (max - min) / 2 when the quartiles coincide

    so outliers and skewed columns cannot dominate: x' stays in (-3, 3), and is close to z
    near the centre.

    With ``impute="indicator"`` missing values never stop training or prediction: a numeric
    column that had missing values in training is filled with its median and gets a 0/1
    indicator feature right after it (``"x.missing"``); in a text column, missing is a category
    of its own (``"city=(missing)"``). A value missing at prediction time in a column that had
    none in training is filled (numeric) or all zeros (text), as an unseen category is.

    With ``min_frequency=m``, the values of a text column seen in fewer than m training rows
    share one feature, ``"city=(other)"`` (after the frequent categories), as do values never
    seen in training: a level with a handful of rows would get a one-hot weight learned from
    that handful, and a 4,700-level column (a job title typed by hand) would become 4,700
    inputs. A column none of whose values reaches m rows (a tiny table, or an identifier) keeps
    every value. This is scikit-learn's ``OneHotEncoder(min_frequency=m,
    handle_unknown="infrequent_if_exist")``.

    Parameters
    ----------
    impute : {"mean", "median", "most_frequent", "indicator"} or None, default=None
        How to fill missing values of numeric columns; string columns always use their most
        frequent category (with "indicator": a category of their own). None means missing
        values are an error.
    scaling : {"standard", "robust"}, default="standard"
        How numeric columns are scaled: mean and standard deviation, or median, quartile
        spread and smooth clipping. Dates are always standardised.
    min_frequency : int or None, default=None
        Text values seen in fewer training rows share the ``(other)`` feature; None keeps
        every value.

    Attributes
    ----------
    columns_ : list of dict
        One entry per input column: ``{"name", "kind", "fill", "mean", "scale"}`` for numeric
        columns, ``{"name", "kind", "fill", "categories"}`` for categorical ones.
    feature_names_out_ : list of str
        Names of the output columns (``"city=Paris"`` for one-hot columns).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "city": ["b", "a", "b"]})
    >>> pre = TabularPreprocessor().fit(frame, ["x", "city"])
    >>> pre.feature_names_out_
    ['x', 'city=a', 'city=b']
    >>> pre.transform(frame).round(3).tolist()
    [[-1.225, 0.0, 1.0], [0.0, 1.0, 0.0], [1.225, 0.0, 1.0]]
    """

    def __init__(self, *, impute=None, scaling="standard", min_frequency=None):
        if impute is not None and impute not in IMPUTE:
            raise DataError(
                f"--impute must be one of {{'mean', 'median', 'most_frequent'}}, got {impute!r}."
            )
        if scaling not in SCALINGS:
            raise DataError(f"--scaling must be one of {{'robust', 'standard'}}, got {scaling!r}.")
        if min_frequency is not None and not (
                isinstance(min_frequency, int) and not isinstance(min_frequency, bool)
                and min_frequency >= 1):
            raise DataError(f"min_frequency must be an integer >= 1 or None, got "
                            f"{min_frequency!r}.")
        self.impute = impute
        self.scaling = scaling
        self.min_frequency = min_frequency

    def check(self, frame, columns):
        """Validate the columns on all rows (kinds, missing and infinite values); fit nothing.

        Every column's problems are reported at once (:class:`SpecError`).
        """
        raise_problems(self.problems(frame, columns))

    def problems(self, frame, columns):
        """The problems :meth:`check` reports: a list of :class:`SpecError` problems."""
        found = []
        for name in columns:
            series = frame[name]
            try:
                kind = column_kind(series, name)
            except DataError as error:
                found += problems_of(error)
                continue
            checks = [_check_missing]
            checks += {"numeric": [_numeric_values], "date": [_date_parts]}.get(kind, [])
            for check in checks:
                try:
                    check(series, name, *([self.impute] if check is _check_missing else []))
                except DataError as error:
                    found += problems_of(error)
        return found

    def fit(self, frame, columns):
        """Learn fill values, means, scales and categories from ``frame[columns]``.

        A column with one value in every row is left out (with a warning); an integer column
        that looks like row numbers or keys (:mod:`numnet.tabular.identifiers`), a text column
        whose values are all different (at least 10 rows) and a date column get a warning.
        """
        self.check(frame, columns)
        self.columns_ = []
        dropped = []
        for name in columns:
            series = frame[name]
            kind = column_kind(series, name)
            if len(series) > 1 and series.nunique(dropna=False) == 1:
                dropped.append(name)
                continue
            if kind == "date":
                parts = _date_parts(series, name)
                ordinal = parts[:, 3]
                fill = self._fill_value(ordinal)
                parts = _date_parts(series, name, fill=fill)
                std = parts.std(axis=0)
                self.columns_.append({"name": name, "kind": "date", "fill": fill,
                                      "mean": [float(v) for v in parts.mean(axis=0)],
                                      "scale": [float(v) if v > 0 else 1.0 for v in std]})
                features = [f"{name}.{part}" for part in DATE_PARTS]
                warnings.warn(
                    f"column {name!r} holds dates; it is used as {len(features)} numeric "
                    f"features: {', '.join(features[:-1])} and {features[-1]} (days since "
                    "1970-01-01).", UserWarning, stacklevel=2,
                )
                continue
            if kind == "numeric":
                warn_identifier(series, name)
                values = _numeric_values(series, name)
                had_missing = bool(np.isnan(values).any())
                fill = self._fill_value(values)
                values = np.where(np.isnan(values), fill, values)
                column = {"name": name, "kind": "numeric", "fill": fill,
                          **self._scale_statistics(values, name)}
                if had_missing and self.impute == "indicator":
                    column["indicator"] = True
                self.columns_.append(column)
            else:
                present = series.dropna().astype(str)
                counts = present.value_counts()
                # ties go to the smallest value, as in scikit-learn's SimpleImputer
                top = counts.max()
                fill = min(str(v) for v in counts.index[counts == top])
                categories = sorted(set(present))
                column = {"name": name, "kind": "categorical", "fill": fill,
                          "categories": categories}
                frequent = counts.index[counts >= (self.min_frequency or 1)]
                if 0 < len(frequent) < len(counts):
                    column["categories"] = sorted(str(v) for v in frequent)
                    column["other"] = True
                width = len(column["categories"]) + bool(column.get("other"))
                if len(present) >= 10 and len(categories) == len(present):
                    warnings.warn(
                        f"column {name!r} looks like an identifier (its {len(present)} values "
                        f"are all different text); it is used as {width} one-hot "
                        f"feature{'s' if width > 1 else ''}. If it is an identifier, leave it "
                        f"out with --exclude {name}.", UserWarning, stacklevel=2,
                    )
                elif width > 50 and width > 0.5 * len(present):
                    warnings.warn(
                        f"column {name!r} has {len(categories)} distinct values in "
                        f"{len(present)} rows, so one-hot encoding adds {width} "
                        f"features. If it is an identifier, leave it out with --exclude {name}.",
                        UserWarning, stacklevel=2,
                    )
                if self.impute == "indicator" and len(present) < len(series):
                    column["indicator"] = True
                self.columns_.append(column)
        report_constant_columns(self.columns_, [(name, frame[name].iloc[0]) for name in dropped],
                                stacklevel=2)
        flagged = [c["name"] for c in self.columns_ if c.get("indicator")]
        if flagged:
            shown = ", ".join(repr(name) for name in flagged[:20]) + (
                f" and {len(flagged) - 20} more" if len(flagged) > 20 else "")
            warnings.warn(f"{len(flagged)} column(s) have missing values, filled with a 0/1 "
                          f"indicator (numbers: the median; text: a category of its own): "
                          f"{shown}.", UserWarning, stacklevel=2)
        return self

    def fit_private(self, frame, columns, bounds, categories):
        """Fit from user-given bounds and category lists alone, never from the rows' values.

        For differentially private training (``numnet train --dp-epsilon``): a numeric column
        with bounds ``(lo, hi)`` is standardised with their midpoint and half-range and its
        missing values (with ``impute``) are filled with the midpoint::

            x' = (x - (lo + hi) / 2) / ((hi - lo) / 2)      in [-1, 1] for x in [lo, hi]

        A text column is one-hot encoded over the given categories (sorted), a value outside
        them is all zeros and a missing one is the first given category. Values outside the
        bounds are not clipped: DP-SGD clips each row's gradient, whatever its features. No
        column is dropped and nothing is warned about, since both would depend on the rows;
        dates are refused (their scaling would come from the data). ``frame`` is read only to
        check the columns' kinds, missing and infinite values, as without privacy.

        ``impute="indicator"`` gives no indicator here (which columns had missing values would
        come from the rows): a missing number is the midpoint, a missing text value all zeros
        (missing is not a given category). ``scaling="robust"`` is the bounds' scaling above
        (a median and quartiles would come from the rows), without the smooth clip.
        """
        self.check(frame, columns)
        raise_problems(private_problems(frame, columns, bounds, categories))
        self.columns_ = []
        for name in columns:
            if column_kind(frame[name], name) == "numeric":
                low, high = bounds[name]
                middle = (low + high) / 2
                self.columns_.append({"name": name, "kind": "numeric", "fill": middle,
                                      "mean": middle, "scale": (high - low) / 2})
            else:
                given = categories[name]
                self.columns_.append({"name": name, "kind": "categorical", "fill": given[0],
                                      "categories": sorted(set(given))})
        return self

    def _scale_statistics(self, values, name):
        """``{"mean", "scale"}`` (and ``"clip"`` for robust scaling) of a filled column."""
        if self.scaling == "robust":
            centre, factor = robust_scale_statistics(values[:, None])
            if not (np.isfinite(centre[0]) and np.isfinite(factor[0])):
                raise DataError(
                    f"column {name!r} must have values small enough to scale, got values up to "
                    f"{float(np.max(np.abs(values))):.3g}. Rescale the column (e.g. divide it "
                    "by a power of 10)."
                )
            # factor 0: one value once the missing ones are filled (the indicator carries them)
            scale = float(1 / factor[0]) if factor[0] > 0 else 1.0
            return {"mean": float(centre[0]), "scale": scale, "clip": CLIP}
        try:  # exact sums: the same bits however the rows are partitioned
            mean, std = mean_std(values)
        except OverflowError:
            mean = std = math.inf
        if not (math.isfinite(mean) and math.isfinite(std)):
            raise DataError(
                f"column {name!r} must have values small enough to standardise, got "
                f"values up to {float(np.max(np.abs(values))):.3g}. Rescale the column "
                "(e.g. divide it by a power of 10)."
            )
        return {"mean": mean, "scale": std if std > 0 else 1.0}

    def _fill_value(self, values):
        present = values[~np.isnan(values)]
        if self.impute in ("median", "indicator"):
            return float(np.median(present))
        if self.impute == "most_frequent":
            uniques, counts = np.unique(present, return_counts=True)
            return float(uniques[np.argmax(counts)])  # np.unique sorts: ties -> smallest
        # exact: the same bits however the rows are partitioned (a mean of finite values
        # cannot overflow)
        return exact_mean(len(present), exact_sums(present)[0])

    @property
    def feature_names_out_(self):
        names = []
        for column in self.columns_:
            if column["kind"] == "numeric":
                names.append(column["name"])
                if column.get("indicator"):
                    names.append(f"{column['name']}.missing")
            elif column["kind"] == "date":
                names.extend(f"{column['name']}.{part}" for part in DATE_PARTS)
            else:
                names.extend(f"{column['name']}={c}" for c in column["categories"])
                if column.get("other"):
                    names.append(f"{column['name']}={OTHER_CATEGORY}")
                if column.get("indicator"):
                    names.append(f"{column['name']}={MISSING_CATEGORY}")
        return names

    @property
    def feature_names_in_(self):
        return [column["name"] for column in self.columns_]

    @property
    def feature_groups_(self):
        """``(name, start, stop)`` per input column: its block ``[start, stop)`` of the output.

        A numeric column is one output feature, a date four, a categorical column one per
        category; a missing-value indicator belongs to its column's block (its last feature).
        """
        groups, start = [], 0
        for column in self.columns_:
            width = {"numeric": 1, "date": len(DATE_PARTS)}.get(column["kind"])
            if width is None:
                width = len(column["categories"]) + bool(column.get("other"))
            width += bool(column.get("indicator"))
            groups.append((column["name"], start, start + width))
            start += width
        return groups

    def transform(self, frame, *, dtype=np.float64, warn_unknown=True):
        """The float matrix of shape (n_samples, len(feature_names_out_)) for ``frame``.

        Raises :class:`SpecError` naming every missing column, or else every column's
        problems (missing values without imputation, values that are not numbers or dates, too
        large ones) at once.
        """
        _check_duplicates([str(c) for c in frame.columns], "data")
        missing = [c["name"] for c in self.columns_ if c["name"] not in frame.columns]
        if missing:
            raise SpecError([missing_columns(missing, frame.columns)])
        blocks, found = [], []
        for column in self.columns_:
            try:
                blocks += self._encode(column, frame[column["name"]], dtype, warn_unknown)
            except DataError as error:
                found += problems_of(error)
        raise_problems(found)
        if not blocks:
            return np.empty((len(frame), 0), dtype=dtype)
        return np.hstack(blocks).astype(dtype, copy=False)

    def _encode(self, column, series, dtype, warn_unknown):
        """The blocks of ``column``'s features (and its indicator) for the values ``series``."""
        name = column["name"]
        blocks = []
        missing_rows = series.isna().to_numpy()
        indicator = missing_rows[:, None].astype(float) if column.get("indicator") else None
        if missing_rows.any() and self.impute is None:
            first = int(np.flatnonzero(missing_rows)[0])
            raise DataError(
                f"column {name!r} has {int(missing_rows.sum())} missing value(s), the "
                f"first at row {_row(series, first)}, but the model was trained without "
                "--impute. Fill or drop them, or retrain with --impute."
            )
        if column["kind"] == "numeric":
            values = _numeric_values(series, name, trained=True,
                                     fix=FILLED_FIX if self.impute else FIX)
            values = np.where(np.isnan(values), column["fill"], values)
            with np.errstate(over="ignore", invalid="ignore"):
                scaled = (values - column["mean"]) / column["scale"]
            if "clip" in column:
                scaled = smooth_clip(scaled, column["clip"])
            if not np.all(np.isfinite(scaled)):
                first = int(np.flatnonzero(~np.isfinite(scaled))[0])
                raise DataError(
                    f"column {name!r} must have values small enough to standardise, got "
                    f"{values[first]:.3g} at row {_row(series, first)}."
                )
            limit = np.finfo(dtype).max if np.dtype(dtype).kind == "f" else np.inf
            if np.any(np.abs(scaled) > limit):
                first = int(np.flatnonzero(np.abs(scaled) > limit)[0])
                raise DataError(
                    f"column {name!r} must have values that fit the model's "
                    f"{np.dtype(dtype).name} after standardising, got {values[first]:.3g} "
                    f"at row {_row(series, first)}. Rescale the column, or retrain with "
                    "--dtype float64."
                )
            blocks.append(scaled[:, None])
            if indicator is not None:
                blocks.append(indicator)
        elif column["kind"] == "date":
            parts = _date_parts(series, name, fill=column["fill"])
            blocks.append((parts - np.array(column["mean"])) / np.array(column["scale"]))
        else:
            import pandas as pd

            own = self.impute == "indicator"  # missing: a category of its own, not fill
            values = series.astype(object).where(series.notna(), column["fill"]).astype(str)
            codes = pd.Index(column["categories"]).get_indexer(values)  # -1: unseen
            if own:
                codes[missing_rows] = -1
            other = bool(column.get("other"))
            one_hot = np.zeros((len(values), len(column["categories"]) + other))
            known = np.flatnonzero(codes >= 0)
            one_hot[known, codes[known]] = 1.0
            if other:  # rare in training or never seen: the (other) feature
                one_hot[(codes < 0) & ~(own & missing_rows), -1] = 1.0
            elif warn_unknown and len(known) < len(values) - own * int(missing_rows.sum()):
                unknown = np.flatnonzero((codes < 0) & ~(own & missing_rows))
                warnings.warn(
                    f"column {name!r} has {len(unknown)} value(s) not seen in training "
                    f"(first {values.iloc[unknown[0]]!r} at row {_row(series, unknown[0])}); "
                    "they are encoded as all zeros.", UserWarning, stacklevel=3,
                )
            blocks.append(one_hot)
            if indicator is not None:
                blocks.append(indicator)
        return blocks

    def get_state(self):
        """Plain-data state for model files (``scaling`` only when not the standard one)."""
        state = {"impute": self.impute, "columns": self.columns_}
        if self.scaling != "standard":
            state["scaling"] = self.scaling
        if self.min_frequency is not None:
            state["min_frequency"] = self.min_frequency
        return state

    @classmethod
    def from_state(cls, state):
        """Rebuild from :meth:`get_state`; raises ValueError for malformed state."""
        if not isinstance(state, dict) or not {"impute", "columns"} <= set(state) <= {
                "impute", "columns", "scaling", "min_frequency"}:
            raise ValueError("the preprocessing state must have the fields impute and columns "
                             "(and scaling).")
        if state.get("scaling", "standard") not in SCALINGS or (
                state["impute"] is not None and state["impute"] not in IMPUTE):
            raise ValueError("the preprocessing state has an unknown impute or scaling.")
        frequency = state.get("min_frequency")
        if frequency is not None and not (isinstance(frequency, int) and not isinstance(
                frequency, bool) and frequency >= 1):
            raise ValueError("the preprocessing state has an invalid min_frequency.")
        pre = cls(impute=state["impute"], scaling=state.get("scaling", "standard"),
                  min_frequency=frequency)
        columns = state["columns"]
        if not isinstance(columns, list) or not columns:
            raise ValueError("the preprocessing must list at least one column.")
        for column in columns:
            _check_column_state(column)
        pre.columns_ = columns
        return pre


def missing_columns(missing, columns, *, target=None):
    """The problem of a table without ``missing``, columns that a model was trained on.

    ``target``: the model's target column, when the table lacks it too and the target was not
    named (``numnet evaluate`` without ``--target``).
    """
    which = ""
    if missing:
        which = f"the column{'s' if len(missing) > 1 else ''} {listed(missing)}"
    if target is not None:
        which += (" and " if which else "") + f"the target column {target!r}"
    fix = " Name the column of true values with {target}." if target is not None else ""
    return problem("data must have {which} that the model was trained on, got columns "
                   "{columns}." + fix + separator_hint(columns), which=which,
                   columns=list(columns)[:20])


def private_problems(frame, columns, bounds, categories):
    """The problems of fitting ``columns`` from ``bounds`` and ``categories`` alone.

    One problem per kind, naming every column of that kind: dates (which cannot be scaled
    without the data), numeric columns without bounds, text columns without categories.
    """
    kinds = {"date": [], "numeric": [], "categorical": []}
    for name in columns:
        kind = column_kind(frame[name], name)
        if kind == "date" or name not in (bounds if kind == "numeric" else categories):
            kinds[kind].append(name)
    found = []
    dates, numbers, texts = kinds["date"], kinds["numeric"], kinds["categorical"]
    if dates:
        one = len(dates) == 1
        found.append(problem(
            ("column {names} holds dates, which {dp_epsilon} cannot scale without looking at "
             "the data. Leave it out with {exclude} {bare}, or convert it to a number and give "
             "its {dp_bounds}." if one else
             "columns {names} hold dates, which {dp_epsilon} cannot scale without looking at "
             "the data. Leave them out with {exclude} {bare}, or convert them to numbers and "
             "give their {dp_bounds}."), names=listed(dates), bare=_joined(dates)))
    if numbers:
        one = len(numbers) == 1
        found.append(problem(
            ("numeric column {names} needs bounds under {dp_epsilon}: pass {dp_bounds} "
             "{example} (its scaling must not come from the data), or leave it out with "
             "{exclude} {bare}." if one else
             "numeric columns {names} need bounds under {dp_epsilon}: pass {dp_bounds} "
             "{example} (their scaling must not come from the data), or leave them out with "
             "{exclude} {bare}."), names=listed(numbers), bare=_joined(numbers),
            example=_joined(numbers, "=LO:HI", "COL=LO:HI for each")))
    if texts:
        one = len(texts) == 1
        found.append(problem(
            ("text column {names} needs its categories under {dp_epsilon}: pass "
             "{dp_categories} '{example}' (its category list must not come from the data), or "
             "leave it out with {exclude} {bare}." if one else
             "text columns {names} need their categories under {dp_epsilon}: pass "
             "{dp_categories} '{example}' (their category lists must not come from the data), "
             "or leave them out with {exclude} {bare}."), names=listed(texts),
            bare=_joined(texts), example=_joined(texts, "=A|B|C", "COL=A|B|C for each")))
    return found


def _joined(names, suffix="", many=None):
    """``a,b,c`` (each name with ``suffix``): one option value; ``many`` for more than ten."""
    if many is not None and len(names) > 10:
        return many
    return ",".join(f"{name}{suffix}" for name in names)


def report_constant_columns(kept, dropped, *, stacklevel):
    """Warn about each (name, value) left out as constant; DataError if nothing is ``kept``.

    ``stacklevel`` is what the caller would pass to ``warnings.warn`` itself.
    """
    for name, value in dropped:
        warnings.warn(
            f"column {name!r} has the same value ({_plain_value(value)!r}) in every training "
            "row, so it cannot help; it is left out.", UserWarning, stacklevel=stacklevel + 1,
        )
    if not kept:
        raise DataError(
            f"data must have at least one feature column that varies, got only constant ones: "
            f"{', '.join(repr(name) for name, _ in dropped)}."
        )


def _plain_value(value):
    return value.item() if isinstance(value, np.generic) else value


def _finite_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value)


def _check_column_state(column):
    numeric = {"name": str, "kind": str, "fill": float, "mean": float, "scale": float}
    categorical = {"name": str, "kind": str, "fill": str, "categories": list}
    if not isinstance(column, dict):
        raise ValueError("each preprocessed column must be an object.")
    if column.get("kind") == "date":
        ok = (set(column) == {"name", "kind", "fill", "mean", "scale"}
              and isinstance(column["name"], str) and _finite_number(column["fill"])
              and all(isinstance(column[key], list) and len(column[key]) == len(DATE_PARTS)
                      and all(_finite_number(v) for v in column[key])
                      for key in ("mean", "scale"))
              and all(v > 0 for v in column["scale"]))
        if not ok:
            raise ValueError(f"invalid preprocessed column {column!r:.200}.")
        return
    fields = numeric if column.get("kind") == "numeric" else categorical
    optional = {"indicator"} | ({"clip"} if column.get("kind") == "numeric" else {"other"})
    if column.get("kind") not in ("numeric", "categorical") or not (
            set(fields) <= set(column) <= set(fields) | optional):
        raise ValueError(f"invalid preprocessed column {column!r:.200}.")
    if column.get("indicator", True) is not True or column.get("other", True) is not True or (
            "clip" in column and column["clip"] != CLIP):
        raise ValueError(f"invalid preprocessed column {column!r:.200}.")
    for key, kind in fields.items():
        value = column[key]
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
                value)
            if key == "scale":
                ok = ok and value > 0
        elif kind is list:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value) and value
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ValueError(f"invalid {key!r} in preprocessed column {column!r:.200}.")


