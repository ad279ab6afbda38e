"""The inference app over real HTTP (uvicorn + httptools + uvloop): health, metadata, infer, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from conveyor.entrypoints.inference.app import create_app

from .conftest import FEATURES, MODEL_NAME, serve

INFER = f"/v2/models/{MODEL_NAME}/infer"


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=10) as client:
        yield client


@pytest.fixture
def rows(adult_rows: pd.DataFrame) -> pd.DataFrame:
    return adult_rows[list(FEATURES)].iloc[:4].reset_index(drop=True)


def v2(rows: pd.DataFrame) -> dict[str, Any]:
    kinds = {"long": "INT64", "double": "FP64", "string": "BYTES"}
    return {
        "id": "r-1",
        "inputs": [
            {"name": c, "shape": [len(rows)], "datatype": kinds[FEATURES[c]], "data": rows[c].tolist()} for c in rows
        ],
    }


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"]
    if field is not None:
        assert body["field"] == field
    return body


def test_health_metadata_and_mlflow_routes(client: httpx.Client) -> None:
    for path in ("/v2/health/live", "/v2/health/ready", f"/v2/models/{MODEL_NAME}/ready", "/ping", "/health"):
        assert client.get(path).status_code == 200, path
    assert client.get("/v2").json()["name"] == "conveyor"
    metadata = client.get(f"/v2/models/{MODEL_NAME}").json()
    assert metadata["versions"] == ["3"]
    assert [i["name"] for i in metadata["inputs"]] == list(FEATURES)
    assert client.get("/version").text


def test_v2_infer(client: httpx.Client, rows: pd.DataFrame, pyfunc_model: Any) -> None:
    for path in (INFER, f"/v2/models/{MODEL_NAME}/versions/3/infer"):
        response = client.post(path, json=v2(rows))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert (body["model_name"], body["model_version"], body["id"]) == (MODEL_NAME, "3", "r-1")
        (output,) = body["outputs"]
        assert output["shape"] == [4, 2]
        np.testing.assert_allclose(np.reshape(output["data"], (4, 2)), pyfunc_model.predict(rows))


def test_invocations(client: httpx.Client, rows: pd.DataFrame, pyfunc_model: Any) -> None:
    expected = pyfunc_model.predict(rows)
    split = {"dataframe_split": {"columns": list(rows), "data": rows.to_numpy(dtype=object).tolist()}}
    response = client.post("/invocations", json=split)
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(response.json()["predictions"], expected)
    csv = client.post("/invocations", content=rows.to_csv(index=False), headers={"content-type": "text/csv"})
    np.testing.assert_allclose(csv.json()["predictions"], expected)


@pytest.mark.parametrize(
    ("path", "make", "field", "row"),
    [
        (INFER, lambda b: {"inputs": b["inputs"][1:]}, "age", None),
        (INFER, lambda b: {"inputs": [*b["inputs"], {**b["inputs"][0], "name": "shoe_size"}]}, "shoe_size", None),
        (INFER, lambda b: {"inputs": [{**b["inputs"][0], "data": [30, "old", 40, 50]}, *b["inputs"][1:]]}, "age", 1),
        (INFER, lambda b: {"inputs": []}, "inputs", None),
        ("/invocations", lambda b: {"dataframe_records": [{"age": 30, "hours_per_week": 40, "sex": "Male"}]}, None, 0),
        (
            "/invocations",
            lambda b: {"inputs": {"age": [1.5], "hours_per_week": [1], "capital_gain": [0], "sex": ["M"]}},
            "age",
            0,
        ),
        ("/invocations", lambda b: {"rows": []}, "body", None),
    ],
    ids=["missing", "extra", "wrong-type", "empty", "missing-in-record", "fraction-in-long", "no-format"],
)
def test_bad_requests_are_400s_naming_the_field_and_serving_goes_on(
    client: httpx.Client, rows: pd.DataFrame, path: str, make: Any, field: str | None, row: int | None
) -> None:
    body = assert_error(client.post(path, json=make(v2(rows))), 400)
    expected_field = field if field is not None else "capital_gain"
    assert (body["field"], body["row"]) == (expected_field, row)
    assert client.post(INFER, json=v2(rows)).status_code == 200


def test_malformed_json_unknown_model_method_and_media_type(client: httpx.Client, rows: pd.DataFrame) -> None:
    json_header = {"content-type": "application/json"}
    assert_error(client.post(INFER, content=b'{"inputs": [', headers=json_header), 400, "body")
    assert_error(client.post("/invocations", content=b"{", headers=json_header), 400, "body")
    assert "'adult'" in assert_error(client.post("/v2/models/other/infer", json=v2(rows)), 404)["error"]
    assert_error(client.post(f"/v2/models/{MODEL_NAME}/versions/9/infer", json=v2(rows)), 404)
    assert_error(client.get(f"/v2/models/{MODEL_NAME}/infer"), 405)
    assert_error(client.post("/invocations", content=b"<x/>", headers={"content-type": "application/xml"}), 415)
    assert_error(client.post(INFER, content=b"a,b", headers={"content-type": "text/csv"}), 415)
    assert_error(client.get("/nowhere"), 404)
    assert client.post(INFER, json=v2(rows)).status_code == 200


class _Exploding:
    """A runtime whose model fails in a way that is not the client's fault."""

    name = "boom"
    version = "1"

    def ready(self) -> bool:
        return True

    async def infer_v2_async(self, body: bytes, request_id: str | None = None) -> Any:
        if b"explode" in body:
            raise RuntimeError("secret internal detail")
        return _Answer(b'{"outputs":[]}')


class _Answer:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.rows = 0
        self.model_version = "1"
        self.request_id = None
        self.inputs = self.outputs = None
        self.seconds = 0.0


def test_unexpected_errors_are_500_json_without_traceback_and_serving_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for base in serve(create_app(_Exploding())):  # type: ignore[arg-type]
        with httpx.Client(base_url=base) as client:
            response = client.post("/v2/models/boom/infer", content=b'{"explode": 1}')
            body = assert_error(response, 500)
            assert "secret" not in body["error"]
            assert "Traceback" not in response.text
            assert client.post("/v2/models/boom/infer", content=b"{}").status_code == 200
    assert "secret internal detail" in caplog.text  # the server log keeps the detail
