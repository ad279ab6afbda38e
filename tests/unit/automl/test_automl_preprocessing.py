"""The preprocessor: kinds, dropped columns, dates, categories, and raw prediction input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conveyor.automl.preprocessing import TabularPreprocessor
from conveyor.errors import InvalidRequest


def _frame(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n),
            "uuid": [f"u-{i:05d}" for i in range(n)],
            "age": rng.integers(18, 90, n).astype(float),
            "visits": rng.integers(0, 20, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "active": rng.choice([True, False], n),
            "signed_up": pd.date_range("2021-01-01", periods=n, freq="37h").strftime("%Y-%m-%d %H:%M:%S"),
            "country": "FR",
        }
    ).assign(age=lambda f: f["age"].mask(rng.random(n) < 0.1))


def test_kinds_and_dropped_columns() -> None:
    pre = TabularPreprocessor().fit(_frame())
    assert pre.input_columns_ == [
        ("age", "double"),
        ("visits", "long"),
        ("plan", "string"),
        ("active", "boolean"),
        ("signed_up", "string"),
    ]
    assert set(pre.dropped_) == {"customer_id", "uuid", "country"}
    assert "identifier" in pre.dropped_["customer_id"]
    assert "constant" in pre.dropped_["country"]


def test_dates_in_text_are_expanded_with_hours() -> None:
    pre = TabularPreprocessor().fit(_frame())
    features = pre.transform(_frame())
    date_features = [c for c in features.columns if c.startswith("signed_up")]
    assert date_features == [f"signed_up_{part}" for part in ("year", "month", "day", "dayofweek", "hour")]
    assert features["signed_up_year"].iloc[0] == 2021
    assert features["signed_up_hour"].iloc[1] == 13


def test_datetime_columns_are_expanded_without_hours() -> None:
    frame = pd.DataFrame({"day": pd.date_range("2020-02-01", periods=50, freq="D"), "x": np.arange(50.0)})
    features = TabularPreprocessor().fit(frame).transform(frame)
    assert list(features.columns) == ["day_year", "day_month", "day_day", "day_dayofweek", "x"]


def test_categories_are_fixed_and_unseen_values_are_missing() -> None:
    pre = TabularPreprocessor().fit(_frame())
    rows = _frame(3).assign(plan=["pro", "enterprise", None])
    plan = pre.transform(rows)["plan"]
    assert list(plan.cat.categories) == ["basic", "plus", "pro"]
    assert plan.iloc[0] == "pro"
    assert plan.isna().tolist() == [False, True, True]


def test_raw_rows_with_strings_for_numbers_and_any_column_order() -> None:
    pre = TabularPreprocessor().fit(_frame())
    expected = pre.transform(_frame(5))
    raw = _frame(5).astype(object).map(lambda v: None if pd.isna(v) else str(v))
    raw = raw[list(reversed(raw.columns))].assign(extra="ignored")
    raw["active"] = _frame(5)["active"].map({True: "true", False: "false"})
    pd.testing.assert_frame_equal(pre.transform(raw), expected)


def test_missing_column_and_bad_value_are_invalid_requests() -> None:
    pre = TabularPreprocessor().fit(_frame())
    with pytest.raises(InvalidRequest) as missing:
        pre.transform(_frame(3).drop(columns=["plan"]))
    assert missing.value.field == "plan"
    bad = _frame(3).astype({"age": object})
    bad.loc[2, "age"] = "abc"
    with pytest.raises(InvalidRequest, match="abc") as wrong:
        pre.transform(bad)
    assert (wrong.value.field, wrong.value.row) == ("age", 2)


def test_dropped_columns_are_not_required_at_prediction() -> None:
    pre = TabularPreprocessor().fit(_frame())
    pre.transform(_frame(3).drop(columns=["customer_id", "uuid", "country"]))


def test_leaking_columns_are_dropped() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=300),
            "label_copy": np.where(y == 1, "yes", "no"),
            "score": y * 10 + rng.random(300),
        }
    )
    pre = TabularPreprocessor(task="binary").fit(frame, y)
    assert set(pre.dropped_) == {"label_copy", "score"}
    assert "predicts the target" in pre.dropped_["score"]
    assert [name for name, _ in pre.input_columns_] == ["x"]


def test_feature_names_are_safe_for_lightgbm() -> None:
    frame = pd.DataFrame({"Lot Area": [1.0, 2.0, 3.0], "a,b:[c]": ["x", "y", "x"], "a_b_c": [1, 2, 2]})
    names = TabularPreprocessor().fit(frame).get_feature_names_out()
    assert list(names) == ["Lot_Area", "a_b_c", "a_b_c_2"]


def test_leaking_columns_are_dropped_from_a_sample_of_large_data() -> None:
    rng = np.random.default_rng(4)
    n = 25_000  # above the rows the leak check reads, so it reads a sample
    y = rng.integers(0, 3, n)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "label_copy": np.array(["a", "b", "c"])[y],
            "score": y * 10 + rng.random(n),
        }
    )
    pre = TabularPreprocessor(task="multiclass").fit(frame, y)
    assert set(pre.dropped_) == {"label_copy", "score"}
    assert [name for name, _ in pre.input_columns_] == ["x"]


def test_a_distinct_text_column_with_a_missing_value_is_not_an_identifier() -> None:
    frame = pd.DataFrame({"code": [f"c{i}" for i in range(99)] + [None], "x": np.arange(100) % 7})
    pre = TabularPreprocessor().fit(frame)
    assert "code" not in pre.dropped_


def test_a_column_constant_only_over_its_first_rows_is_kept(adult: pd.DataFrame) -> None:
    # the census rows sorted so that capital gain is 0 over the first 2,000 rows and varies after them
    frame = adult.sort_values("capital_gain", kind="stable").assign(surveyed="yes")
    assert frame["capital_gain"].iloc[:2000].nunique() == 1
    assert frame["capital_gain"].nunique() > 1
    pre = TabularPreprocessor(task="binary").fit(frame.drop(columns=["income"]), frame["income"] == ">50K")
    assert "capital_gain" in pre.kinds_
    assert "constant" in pre.dropped_["surveyed"]
