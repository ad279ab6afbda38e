"""`conveyor serve` as a real process answering real HTTP: V2, MLflow scoring, and bad requests."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import time

import httpx
import pandas as pd
import pytest

from tests_support import CONVEYOR


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, demo_csv, conveyor_process):
    """A workspace with model `income` trained on 2,000 demo rows, and rows to score."""
    root = tmp_path_factory.mktemp("serve")
    home = root / "home"
    data = root / "income.csv"
    with gzip.open(demo_csv, "rt") as source:
        data.write_text("".join(next(source) for _ in range(2001)))
    done = conveyor_process("train", "--data", data, "--target", "income", "--max-trials", "2", home=home)
    assert done.returncode == 0, done.stderr
    return home, pd.read_csv(data).drop(columns=["income"])


@pytest.fixture(scope="module")
def server(trained):
    home, _ = trained
    port = free_port()
    process = subprocess.Popen(
        [CONVEYOR, "serve", "income@champion", "--port", str(port)],
        env={**os.environ, "CONVEYOR_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"conveyor serve exited: {process.stdout.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{base}/v2/health/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("conveyor serve was not ready within 90 s")
    yield base
    process.terminate()
    process.wait(20)
    process.stdout.close()


def v2_request(rows: pd.DataFrame) -> dict:
    inputs = []
    for column in rows.columns:
        values = rows[column]
        if pd.api.types.is_numeric_dtype(values):
            inputs.append({"name": column, "shape": [len(rows)], "datatype": "FP64", "data": values.tolist()})
        else:
            data = [None if pd.isna(v) else str(v) for v in values]
            inputs.append({"name": column, "shape": [len(rows)], "datatype": "BYTES", "data": data})
    return {"inputs": inputs}


def records(rows: pd.DataFrame) -> list[dict]:
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in rows.to_dict("records")]


def test_health_and_metadata(server):
    assert httpx.get(f"{server}/v2/health/live").status_code == 200
    assert httpx.get(f"{server}/v2/health/ready").status_code == 200
    metadata = httpx.get(f"{server}/v2/models/income").json()
    assert metadata["name"] == "income"
    assert "age" in {i["name"] for i in metadata["inputs"]}


def test_v2_infer_returns_class_probabilities(server, trained):
    _, rows = trained
    response = httpx.post(f"{server}/v2/models/income/infer", json=v2_request(rows.head(3)))
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    assert {"<=50K", ">50K", "prediction"} <= set(outputs)
    assert len(outputs[">50K"]["data"]) == 3


def test_invocations_split_and_records_agree(server, trained):
    _, rows = trained
    sample = rows.head(4)
    split = {"dataframe_split": {"columns": list(sample.columns), "data": [list(r.values()) for r in records(sample)]}}
    by_split = httpx.post(f"{server}/invocations", json=split)
    by_records = httpx.post(f"{server}/invocations", json={"dataframe_records": records(sample)})
    assert by_split.status_code == by_records.status_code == 200, by_split.text
    assert by_split.json() == by_records.json()
    assert len(by_split.json()["predictions"]) == 4


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.drop(columns=["age"]), "age"),
        (lambda r: r.assign(shoe_size=42), "shoe_size"),
        (lambda r: r.assign(age="old"), "age"),
    ],
    ids=["missing-column", "extra-column", "wrong-type"],
)
def test_bad_requests_get_4xx_naming_the_field_and_serving_goes_on(server, trained, mutate, field):
    _, rows = trained
    bad = mutate(rows.head(2))
    for response in (
        httpx.post(f"{server}/invocations", json={"dataframe_records": records(bad)}),
        httpx.post(f"{server}/v2/models/income/infer", json=v2_request(bad)),
    ):
        assert 400 <= response.status_code < 500, response.text
        assert field in response.text
    assert httpx.post(f"{server}/invocations", json={"dataframe_records": records(rows.head(1))}).status_code == 200


def test_malformed_json_is_a_400(server):
    response = httpx.post(f"{server}/invocations", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "error" in response.json()


def test_explain_returns_the_automl_contributions(server, trained):
    _, rows = trained
    body = v2_request(rows.head(2)) | {"parameters": {"explain": True}}
    response = httpx.post(f"{server}/v2/models/income/infer", json=body)
    if response.status_code == 400:  # the search picked a family without tree contributions
        assert "contribution" in response.json()["error"].lower()
        return
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    contributions = outputs["contributions"]
    assert contributions["shape"][0] == 2
    assert "contrib_bias" in contributions["parameters"]["columns"]


def test_metrics_and_openapi(server):
    assert "conveyor_requests_total" in httpx.get(f"{server}/metrics").text
    assert "/invocations" in httpx.get(f"{server}/openapi.json").json()["paths"]
