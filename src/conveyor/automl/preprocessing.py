"""Turn raw table rows into model features: typed, cleaned, dates expanded, categories fixed.

The preprocessor is fitted once per training frame and saved inside the model, so prediction takes
the same raw rows a user sends (columns in any order, extra columns, missing values, numbers sent as
strings, unseen categories) and produces exactly the features the models were trained on.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted

from conveyor.errors import InvalidRequest

KINDS = ("boolean", "datetime", "double", "long", "string")

_ID_NAME = re.compile(r"(^|[\W_])(id|uuid|guid|key|identifier)$|^(id|uuid|guid)[\W_]", re.IGNORECASE)
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_DATE_PARTS = ("year", "month", "day", "day_of_week")
# a feature whose single-column accuracy (or |correlation| for regression) reaches this is a leak
_LEAK_THRESHOLD = 0.999
_LEAK_SAMPLE_ROWS = 20_000
_DATE_SAMPLE_ROWS = 200
_DISTINCT_PREFIX_ROWS = 1_000


def kind_of(values: pd.Series) -> str:
    """The column kind a training column had: double, long, string, boolean or datetime."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "long"
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


def _first_bad_row(original: pd.Series, converted: pd.Series) -> int | None:
    bad = np.flatnonzero(original.notna().to_numpy() & converted.isna().to_numpy())
    return int(bad[0]) if bad.size else None


def _raise_unconvertible(name: str, kind: str, original: pd.Series, row: int) -> None:
    raise InvalidRequest(
        f"Column {name!r} row {row}: {original.iloc[row]!r} is not a valid {kind} value.",
        field=name,
        row=row,
        hint=f"Send a {kind} value or leave it empty.",
    )


def _blank_to_missing(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return values
    text = values.astype(object).where(values.notna(), None)
    stripped = text.map(lambda v: v.strip() if isinstance(v, str) else v)
    return stripped.where(stripped != "", None)


def coerce_column(values: pd.Series, name: str, kind: str, date_format: str | None = None) -> pd.Series:
    """`values` converted to `kind`: float for numbers and booleans, datetime64 for dates, object for text.

    A present value that cannot be converted raises InvalidRequest naming the column and the row.
    """
    if kind in ("double", "long"):
        if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
            return values.astype(float)
        cleaned = _blank_to_missing(values)
        converted = pd.to_numeric(cleaned, errors="coerce").astype(float)
        if (row := _first_bad_row(cleaned, converted)) is not None:
            _raise_unconvertible(name, kind, values, row)
        return converted
    if kind == "boolean":
        if pd.api.types.is_bool_dtype(values.dtype):
            return values.astype(float)
        cleaned = _blank_to_missing(values)
        converted = cleaned.map(_parse_boolean).astype(float)
        if (row := _first_bad_row(cleaned, converted)) is not None:
            _raise_unconvertible(name, kind, values, row)
        return converted
    if kind == "datetime":
        return _to_datetime(values, name, date_format, strict=True)
    text = values.astype(object).where(values.notna(), None)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return text  # already text: skip the per-value conversion (seconds on a few hundred thousand rows)
    return text.map(_to_text)


def _parse_boolean(value: Any) -> float:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, bool | np.bool_ | int | np.integer | float | np.floating) and value in (0, 1):
        return float(value)
    text = str(value).strip().lower()
    return 1.0 if text in _TRUE else 0.0 if text in _FALSE else np.nan


def _to_text(value: Any) -> str | None:
    if value is None:
        return None
    # a CSV chunk may type a text column of codes as floats: 3.0 must still match "3"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _to_datetime(values: pd.Series, name: str, date_format: str | None, *, strict: bool) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values
    else:
        cleaned = _blank_to_missing(values)
        parsed = pd.to_datetime(cleaned, format=date_format or "mixed", errors="coerce")
        if strict and (row := _first_bad_row(cleaned, parsed)) is not None:
            _raise_unconvertible(name, "datetime", values, row)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed


def _date_format_of(values: pd.Series) -> str | None:
    """The strftime format of a text column whose values are dates, or None when it holds something else."""
    sample = values.dropna().astype(str).head(_DATE_SAMPLE_ROWS)
    if sample.empty or sample.str.fullmatch(r"[\d.+-]+").any():
        return None
    date_format = guess_datetime_format(sample.iloc[0])
    if date_format is None:
        return None
    parsed = pd.to_datetime(sample, format=date_format, errors="coerce")
    return date_format if parsed.notna().mean() >= 0.95 else None


def _feature_name(name: str, taken: set[str]) -> str:
    # LightGBM rejects JSON punctuation in feature names and rewrites whitespace with a warning
    base = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_") or "feature"
    candidate, suffix = base, 1
    while candidate in taken:
        suffix += 1
        candidate = f"{base}_{suffix}"
    taken.add(candidate)
    return candidate


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """Raw frame in, feature frame out: float columns and pandas categoricals with fixed categories.

    Fitting decides, per column, its kind and role: identifier-like and constant columns are dropped,
    and so is a column that predicts the target on its own (a leak) when `task` and `y` are given;
    dates (real or written as text) become year/month/day/dayofweek (+hour); text becomes a category
    over at most `max_categories` most frequent values, rarer and unseen values counting as missing.
    """

    def __init__(self, task: str | None = None, max_categories: int = 1000, seed: int = 0) -> None:
        self.task = task
        self.max_categories = max_categories
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: Any = None) -> TabularPreprocessor:
        self.kinds_: dict[str, str] = {}
        self.dropped_: dict[str, str] = {}
        self.date_formats_: dict[str, str | None] = {}
        self.date_parts_: dict[str, tuple[str, ...]] = {}
        self.categories_: dict[str, pd.CategoricalDtype] = {}
        typed: dict[str, pd.Series] = {}
        for name in X.columns:
            name = str(name)
            kind = kind_of(X[name])
            values = coerce_column(X[name], name, kind)
            date_format = _date_format_of(values) if kind == "string" else None
            is_date = kind == "datetime" or date_format is not None
            if (reason := self._drop_reason(name, kind, values, is_date=is_date)) is not None:
                self.dropped_[name] = reason
                continue
            self.kinds_[name] = kind
            if is_date:
                self.date_formats_[name] = date_format
                dates = _to_datetime(values, name, date_format, strict=False)
                has_time = bool((dates.dropna() != dates.dropna().dt.normalize()).any())
                self.date_parts_[name] = (*_DATE_PARTS, "hour") if has_time else _DATE_PARTS
            elif kind == "string":
                counts = values.value_counts(sort=False)
                ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: self.max_categories]
                self.categories_[name] = pd.CategoricalDtype(sorted(value for value, _ in ranked))
            typed[name] = values
        if self.task is not None and y is not None:
            self._drop_leaks(typed, np.asarray(y))
        taken: set[str] = set()
        self.feature_names_: dict[str, list[str]] = {
            name: [_feature_name(f"{name}_{part.replace('_', '')}", taken) for part in self.date_parts_[name]]
            if name in self.date_parts_
            else [_feature_name(name, taken)]
            for name in self.kinds_
        }
        self.n_features_in_ = X.shape[1]
        return self

    def _drop_reason(self, name: str, kind: str, values: pd.Series, *, is_date: bool) -> str | None:
        may_be_identifier = not is_date and (kind == "string" or (kind == "long" and bool(_ID_NAME.search(name))))
        # two distinct values among the first rows settle that a column is not constant without counting every
        # row (counting took 0.18 s of kddcup99's 0.69 s fit); only a possible identifier needs the full count
        if not may_be_identifier and values.iloc[:_DISTINCT_PREFIX_ROWS].nunique(dropna=False) > 1:
            return None
        distinct = values.nunique(dropna=False)
        if distinct <= 1:
            return "it is constant"
        # with no missing value, the distinct values counted with missing ones are the distinct values
        all_distinct = distinct == len(values) and values.notna().all()
        if is_date or not all_distinct:
            return None
        if kind == "string" or (kind == "long" and _ID_NAME.search(name)):
            return "it looks like an identifier (every value is distinct)"
        return None

    def _drop_leaks(self, typed: dict[str, pd.Series], y: np.ndarray) -> None:
        # each column is sampled on its own: a frame of every row and column only to sample it took 0.3 s of
        # kddcup99's 1.1 s fit (395,216 rows)
        rows: slice | np.ndarray = slice(None)
        if len(y) > _LEAK_SAMPLE_ROWS:
            rows = np.sort(np.random.default_rng(self.seed).choice(len(y), _LEAK_SAMPLE_ROWS, replace=False))
        for name, values in typed.items():
            if name in self.date_parts_:
                continue
            score = self._single_column_score(values.iloc[rows], y[rows], categorical=name in self.categories_)
            if score is not None and score >= _LEAK_THRESHOLD:
                measure = "correlation" if self.task == "regression" else "accuracy"
                self.dropped_[name] = f"it predicts the target almost perfectly on its own ({measure} {score:.4f})"
                del self.kinds_[name]
                self.categories_.pop(name, None)

    def _single_column_score(self, values: pd.Series, y: np.ndarray, *, categorical: bool) -> float | None:
        """Accuracy (classification) or |correlation| (regression) of the best rule using this column alone."""
        few_values = values.nunique(dropna=False) <= len(values) // 2
        if self.task == "regression":
            if categorical:
                if not few_values:
                    return None
                group_means = (
                    pd.Series(y).groupby(values.astype("string").fillna("<missing>").to_numpy()).transform("mean")
                )
                residual = float(np.sum((y - group_means.to_numpy()) ** 2))
                total = float(np.sum((y - y.mean()) ** 2))
                return 1.0 - residual / total if total > 0 else None
            present = values.notna().to_numpy()
            if present.mean() < 0.9 or np.std(values[present]) == 0:
                return None
            return float(abs(np.corrcoef(values.to_numpy()[present], y[present])[0, 1]))
        majority = np.bincount(y.astype(int)).max() / len(y)
        if majority >= _LEAK_THRESHOLD:
            return None
        if categorical or few_values:
            if not few_values:
                return None
            # rows per (value, class), missing values as one more value: the best rule predicts each value's
            # commonest class (numpy rather than a pandas crosstab, which took 1.4 s over kddcup99's columns)
            codes, levels = pd.factorize(values, use_na_sentinel=False)
            n_classes = int(y.max()) + 1
            table = np.bincount(codes * n_classes + y.astype(int), minlength=len(levels) * n_classes)
            return float(table.reshape(len(levels), n_classes).max(axis=1).sum() / len(y))
        n_classes = len(np.unique(y))
        stump = DecisionTreeClassifier(max_leaf_nodes=max(2, n_classes), random_state=self.seed)
        column = values.to_numpy().reshape(-1, 1)
        return float(stump.fit(column, y).score(column, y))

    @property
    def input_columns_(self) -> list[tuple[str, str]]:
        """The raw columns the model reads, with the kind each had in training."""
        check_is_fitted(self, "kinds_")
        return list(self.kinds_.items())

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_")
        return np.array([feature for names in self.feature_names_.values() for feature in names], dtype=object)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "kinds_")
        missing = [name for name in self.kinds_ if name not in X.columns]
        if missing:
            raise InvalidRequest(
                f"Input is missing column {missing[0]!r}"
                + (
                    f" (and {len(missing) - 1} more: {', '.join(map(repr, missing[1:]))})." if len(missing) > 1 else "."
                ),
                field=missing[0],
                hint=f"The model reads: {', '.join(self.kinds_)}.",
            )
        features: dict[str, pd.Series] = {}
        for name, kind in self.kinds_.items():
            names = self.feature_names_[name]
            if name in self.date_parts_:
                dates = _to_datetime(
                    coerce_column(X[name], name, kind) if kind != "string" else X[name],
                    name,
                    self.date_formats_[name],
                    strict=False,
                )
                for feature, part in zip(names, self.date_parts_[name], strict=True):
                    features[feature] = getattr(dates.dt, part).astype(float)
            elif name in self.categories_:
                dtype = self.categories_[name]
                text = coerce_column(X[name], name, kind)
                # unseen and rare values count as missing, as the models learned missing values
                known = text.where(text.isin(dtype.categories), None)
                features[names[0]] = pd.Series(pd.Categorical(known, dtype=dtype), index=X.index, name=names[0])
            else:
                features[names[0]] = coerce_column(X[name], name, kind)
        # the new columns are taken as they are, not copied into 2-D blocks of one dtype: that copy took 0.45 s
        # of kddcup99's 0.68 s transform (395,216 rows), and row selection and LightGBM read the columns no slower
        return pd.DataFrame(features, index=X.index, copy=False)
