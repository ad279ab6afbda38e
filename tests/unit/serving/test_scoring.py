"""MLflow's scoring protocol (/invocations) against a real MLflow model: every body format and bad request."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from conveyor.errors import InvalidRequest
from conveyor.serving import ModelRuntime

from .conftest import FEATURES


def invoke(runtime: ModelRuntime, body: Any, content_type: str = "application/json") -> Any:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return orjson.loads(runtime.invocations(raw, content_type))["predictions"]


def rejected(runtime: ModelRuntime, body: Any, content_type: str = "application/json") -> InvalidRequest:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    with pytest.raises(InvalidRequest) as info:
        runtime.invocations(raw, content_type)
    return info.value


@pytest.fixture
def expected(sklearn_model: tuple[Any, Any], rows: pd.DataFrame) -> list[list[float]]:
    return sklearn_model[0].predict(rows).tolist()


def records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    return rows.to_dict(orient="records")


def split(rows: pd.DataFrame) -> dict[str, Any]:
    return {"columns": list(rows.columns), "data": rows.to_numpy(dtype=object).tolist()}


@pytest.mark.parametrize(
    "make",
    [
        lambda r: {"dataframe_split": split(r)},
        lambda r: {"dataframe_split": split(r[FEATURES[::-1]])},
        lambda r: {"dataframe_split": {"data": split(r)["data"]}},
        lambda r: {"dataframe_records": records(r)},
        lambda r: {"instances": records(r)},
        lambda r: {"inputs": records(r)},
        lambda r: {"inputs": {c: r[c].tolist() for c in r.columns}},
        lambda r: {"instances": split(r)["data"]},
        lambda r: {"inputs": split(r)["data"], "params": {}},
    ],
    ids=[
        "split",
        "split-reordered",
        "split-without-columns",
        "records",
        "instances-records",
        "inputs-records",
        "inputs-columns",
        "instances-rows",
        "inputs-rows-with-params",
    ],
)
def test_every_json_format_answers_like_mlflow(
    runtime: ModelRuntime, rows: pd.DataFrame, expected: list, make: Any
) -> None:
    np.testing.assert_allclose(invoke(runtime, make(rows)), expected)


def test_csv(runtime: ModelRuntime, rows: pd.DataFrame, expected: list) -> None:
    body = rows.to_csv(index=False).encode()
    np.testing.assert_allclose(invoke(runtime, body, "text/csv; charset=utf-8"), expected)


def test_lightgbm_answers_a_list_of_probabilities(lgbm_runtime: ModelRuntime, lgbm_model: tuple[Any, Any]) -> None:
    frame = pd.DataFrame({name: [1, 2] for name in lgbm_runtime.signature.names})
    predictions = invoke(lgbm_runtime, {"dataframe_split": split(frame)})
    assert isinstance(predictions, list)
    assert all(isinstance(p, float) for p in predictions)
    np.testing.assert_allclose(predictions, lgbm_model[0].predict(frame))


def with_value(rows: pd.DataFrame, column: str, row: int, value: Any) -> list[dict[str, Any]]:
    out = records(rows)
    out[row][column] = value
    return out


@pytest.mark.parametrize(
    ("make", "field", "row"),
    [
        (lambda r: {"dataframe_records": [{k: v for k, v in x.items() if k != "age"} for x in records(r)]}, "age", 0),
        (lambda r: {"dataframe_records": [{**x, "salary": 1} for x in records(r)]}, "salary", 0),
        (lambda r: {"dataframe_records": with_value(r, "capital_gain", 2, "lots")}, "capital_gain", 2),
        (lambda r: {"dataframe_records": with_value(r, "hours_per_week", 1, 40.5)}, "hours_per_week", 1),
        (lambda r: {"dataframe_split": {**split(r), "columns": FEATURES[1:]}}, "dataframe_split.data", 0),
        (lambda r: {"dataframe_split": {**split(r[FEATURES[1:]])}}, "age", None),
        (lambda r: {"dataframe_split": {"columns": FEATURES, "data": []}}, "dataframe_split.data", None),
        (lambda r: {"inputs": {**{c: r[c].tolist() for c in r.columns}, "age": [1]}}, "age", None),
        (lambda r: {"instances": [[1, 2]]}, "instances", 0),
        (lambda r: {"dataframe_records": records(r), "instances": records(r)}, "instances", None),
        (lambda r: {"records": records(r)}, "body", None),
        (lambda r: {"inputs": []}, "inputs", None),
    ],
    ids=[
        "missing-column",
        "extra-column",
        "string-in-double",
        "fraction-in-long",
        "row-length-mismatch",
        "missing-column-split",
        "no-rows",
        "column-length-mismatch",
        "row-too-short",
        "two-formats",
        "no-format",
        "empty-inputs",
    ],
)
def test_bad_requests_name_the_field(
    runtime: ModelRuntime, rows: pd.DataFrame, make: Any, field: str, row: Any
) -> None:
    error = rejected(runtime, make(rows))
    assert (error.field, error.row) == (field, row)


def test_malformed_json_csv_and_content_type(runtime: ModelRuntime, rows: pd.DataFrame) -> None:
    assert rejected(runtime, b"{").field == "body"
    assert rejected(runtime, b'"text"').field == "body"
    csv = rows.assign(age="old").to_csv(index=False)
    error = rejected(runtime, csv.encode(), "text/csv")
    assert (error.field, error.row) == ("age", 0)
    assert rejected(runtime, b"x", "application/xml").field == "content-type"
