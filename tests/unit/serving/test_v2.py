"""KServe V2 infer requests against real MLflow models: every input shape, every bad-request class."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from conveyor.errors import InvalidRequest
from conveyor.serving import ModelRuntime

from .conftest import FEATURES, LONGS, STRINGS


def datatype(series: pd.Series) -> str:
    return {"i": "INT64", "f": "FP64"}.get(series.dtype.kind, "BYTES")


def per_column(rows: pd.DataFrame, *, shape_1: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "inputs": [
            {
                "name": c,
                "shape": [len(rows), 1] if shape_1 else [len(rows)],
                "datatype": datatype(rows[c]),
                "data": rows[c].tolist(),
            }
            for c in rows.columns
        ],
        **extra,
    }


def infer(runtime: ModelRuntime, request: Any) -> dict[str, Any]:
    body = request if isinstance(request, bytes) else orjson.dumps(request)
    return orjson.loads(runtime.infer_v2(body))


def rejected(runtime: ModelRuntime, request: Any) -> InvalidRequest:
    body = request if isinstance(request, bytes) else orjson.dumps(request)
    with pytest.raises(InvalidRequest) as info:
        runtime.infer_v2(body)
    return info.value


@pytest.fixture
def expected(sklearn_model: tuple[Any, Any], rows: pd.DataFrame) -> np.ndarray:
    """What MLflow's own pyfunc (with its schema enforcement) answers for the rows."""
    return sklearn_model[0].predict(rows)


def test_tensor_per_column(runtime: ModelRuntime, rows: pd.DataFrame, expected: np.ndarray) -> None:
    response = infer(runtime, per_column(rows, id="req-1"))
    assert response["model_name"] == "adult"
    assert response["id"] == "req-1"
    (output,) = response["outputs"]
    assert output["name"] == "predict"
    assert output["datatype"] == "FP64"
    assert output["shape"] == [3, 2]
    np.testing.assert_allclose(np.reshape(output["data"], (3, 2)), expected)


@pytest.mark.parametrize("extra", [{"parameters": {"content_type": "pd"}}, {}])
def test_pandas_codec_columns_of_shape_n_1(runtime: ModelRuntime, rows: pd.DataFrame, extra: dict) -> None:
    expected = infer(runtime, per_column(rows))["outputs"]
    assert infer(runtime, per_column(rows, shape_1=True, **extra))["outputs"] == expected


def test_columns_in_any_order(runtime: ModelRuntime, rows: pd.DataFrame) -> None:
    expected = infer(runtime, per_column(rows))["outputs"]
    assert infer(runtime, per_column(rows[FEATURES[::-1]]))["outputs"] == expected


def test_one_2d_tensor_maps_to_signature_columns_by_position(
    runtime: ModelRuntime, rows: pd.DataFrame, expected: np.ndarray
) -> None:
    data = [v for row in rows.itertuples(index=False) for v in row]
    request = {"inputs": [{"name": "input-0", "shape": [3, len(FEATURES)], "datatype": "BYTES", "data": data}]}
    np.testing.assert_allclose(np.reshape(infer(runtime, request)["outputs"][0]["data"], (3, 2)), expected)
    nested = {"inputs": [{**request["inputs"][0], "data": [list(r) for r in rows.itertuples(index=False)]}]}
    assert infer(runtime, nested)["outputs"] == infer(runtime, request)["outputs"]


def test_benchmark_payload_fp64_matrix_for_long_columns(
    lgbm_runtime: ModelRuntime, lgbm_model: tuple[Any, Any], adult: pd.DataFrame
) -> None:
    frame = adult[LONGS + STRINGS].iloc[:5].copy()
    for c in STRINGS:
        frame[c] = frame[c].astype("category").cat.codes.astype("int64")
    data = [float(v) for v in frame.to_numpy(dtype="float64").ravel()]
    request = {"inputs": [{"name": "input-0", "shape": [5, frame.shape[1]], "datatype": "FP64", "data": data}]}
    (output,) = infer(lgbm_runtime, request)["outputs"]
    assert output["shape"] == [5]
    np.testing.assert_allclose(output["data"], lgbm_model[0].predict(frame), rtol=0, atol=1e-12)
    # One value that is not integral: named by column and row.
    data[1 * frame.shape[1] + 2] = 12.5
    error = rejected(lgbm_runtime, {"inputs": [{**request["inputs"][0], "data": data}]})
    assert (error.field, error.row) == (frame.columns[2], 1)


def test_requested_outputs_and_unknown_output(runtime: ModelRuntime, rows: pd.DataFrame) -> None:
    response = infer(runtime, per_column(rows, outputs=[{"name": "predict"}]))
    assert [o["name"] for o in response["outputs"]] == ["predict"]
    assert rejected(runtime, per_column(rows, outputs=[{"name": "nope"}])).field == "outputs[0].name"


def drop(request: dict, name: str) -> dict:
    return {**request, "inputs": [t for t in request["inputs"] if t["name"] != name]}


def replace(request: dict, name: str, **changes: Any) -> dict:
    return {**request, "inputs": [{**t, **changes} if t["name"] == name else t for t in request["inputs"]]}


@pytest.mark.parametrize(
    ("make", "field", "row"),
    [
        (lambda r: drop(r, "age"), "age", None),
        (lambda r: {**r, "inputs": [*r["inputs"], {**r["inputs"][0], "name": "salary"}]}, "salary", None),
        (lambda r: replace(r, "capital_gain", data=[0.0, "lots", 1.0], datatype="BYTES"), "capital_gain", 1),
        (lambda r: replace(r, "age", data=[30, 40.5, 50]), "age", 1),
        (lambda r: replace(r, "sex", data=["Male", 1, "Female"]), "sex", 1),
        (lambda r: replace(r, "age", data=[30, 40], shape=[2]), "age", None),
        (lambda r: replace(r, "age", data=[30, 40, 50, 60]), "age", None),
        (lambda r: replace(r, "age", datatype="FLOAT"), "age", None),
        (lambda r: replace(r, "age", shape=[1, 3]), "age", None),
        (lambda r: {"inputs": []}, "inputs", None),
        (lambda r: {"id": "x"}, "inputs", None),
        (lambda r: [r], "body", None),
        (lambda r: {"inputs": [{**t, "shape": [0], "data": []} for t in r["inputs"]]}, "inputs", None),
        (
            lambda r: {"inputs": [{"name": "input-0", "shape": [3, 5], "datatype": "FP64", "data": [0.0] * 15}]},
            "input-0",
            None,
        ),
    ],
    ids=[
        "missing-column",
        "extra-column",
        "string-in-double",
        "fraction-in-long",
        "number-in-string",
        "length-mismatch",
        "data-longer-than-shape",
        "unknown-datatype",
        "2d-column",
        "empty-inputs",
        "no-inputs",
        "not-an-object",
        "no-rows",
        "matrix-of-wrong-width",
    ],
)
def test_bad_requests_name_the_field(
    runtime: ModelRuntime, rows: pd.DataFrame, make: Any, field: str, row: Any
) -> None:
    error = rejected(runtime, make(per_column(rows)))
    assert (error.field, error.row) == (field, row)
    assert error.message


def test_malformed_json(runtime: ModelRuntime) -> None:
    error = rejected(runtime, b'{"inputs": [')
    assert error.field == "body"
    assert "not valid JSON" in error.message


def test_model_errors_caused_by_input_are_invalid_requests(runtime: ModelRuntime, rows: pd.DataFrame) -> None:
    request = replace(per_column(rows), "workclass", data=["Private", "Astronaut", "Private"])
    error = rejected(runtime, request)
    assert "could not score" in error.message
    assert (error.field, error.row) == ("workclass", 1)  # the unseen category, located


def test_metadata(runtime: ModelRuntime) -> None:
    metadata = runtime.model_metadata()
    assert metadata["name"] == "adult"
    assert metadata["versions"] == ["1"]
    assert {i["name"]: i["datatype"] for i in metadata["inputs"]} == {
        "age": "INT64",
        "education_num": "INT64",
        "hours_per_week": "INT64",
        "capital_gain": "FP64",
        "workclass": "BYTES",
        "sex": "BYTES",
    }
    assert runtime.server_metadata()["name"] == "conveyor"
