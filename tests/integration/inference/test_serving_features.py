"""The fast path over real HTTP: ids, explain, 413 limits, metrics, docs, canary, shadow, prediction log, swaps."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from fsspec.implementations.local import LocalFileSystem

from conveyor.domain.models import InputColumn, LoadedModel
from conveyor.entrypoints.inference.app import create_app
from conveyor.serving import Limits, ModelRuntime
from conveyor.serving.metrics import ServingMetrics
from conveyor.serving.predlog import ParquetWriter, PredictionLog
from conveyor.serving.routing import Router

from .conftest import keep_requesting, serve

COLUMNS = ["age", "education_num", "hours_per_week", "sex"]
NAME = "lgbm"


def _model(adult_rows: pd.DataFrame, path: Path, rounds: int, version: str) -> LoadedModel:
    import lightgbm as lgb
    import mlflow.lightgbm
    import mlflow.pyfunc

    features = adult_rows[COLUMNS].copy()
    features["sex"] = (features["sex"] == "Male").astype("int64")
    target = (adult_rows["income"] == ">50K").astype("int64")
    params = {"objective": "binary", "num_leaves": 7, "verbose": -1, "num_threads": 1, "seed": 0}
    booster = lgb.train(params, lgb.Dataset(features, target), num_boost_round=rounds)
    mlflow.lightgbm.save_model(booster, str(path), pip_requirements=["lightgbm"])
    return LoadedModel(
        name=NAME,
        version=version,
        path=path,
        predictor=mlflow.pyfunc.load_model(str(path)),
        inputs=[InputColumn(name=c, type="long") for c in COLUMNS],
        metadata={},
        flavor="lightgbm",
        native=mlflow.lightgbm.load_model(str(path)),
    )


@pytest.fixture(scope="module")
def models(adult_rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedModel, LoadedModel]:
    root = tmp_path_factory.mktemp("lgbm")
    return _model(adult_rows, root / "v1", 5, "1"), _model(adult_rows, root / "v2", 20, "2")


@pytest.fixture(scope="module")
def matrix(adult_rows: pd.DataFrame) -> np.ndarray:
    features = adult_rows[COLUMNS].iloc[:10].copy()
    features["sex"] = (features["sex"] == "Male").astype("int64")
    return features.to_numpy(dtype=float)


def tensor(rows: np.ndarray, **extra: Any) -> dict[str, Any]:
    return {
        "inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP64", "data": rows.ravel().tolist()}]
    } | extra


@pytest.fixture(scope="module")
def stack(models, tmp_path_factory) -> Iterator[tuple[str, Router, ServingMetrics, Path]]:
    first, second = models
    limits = Limits(max_rows=50, max_body_bytes=20_000)
    router = Router(ModelRuntime(first, limits), canary=ModelRuntime(second, limits), canary_percent=25)
    metrics = ServingMetrics()
    log_dir = tmp_path_factory.mktemp("predictions")
    log = PredictionLog(ParquetWriter(log_dir), columns=COLUMNS, flush_seconds=0.1)
    metrics.prediction_log = log.counters
    app = create_app(router, metrics=metrics, prediction_log=log, max_body_bytes=20_000)
    for base in serve(app):
        yield base, router, metrics, log_dir
    log.close()


def test_ids_parameters_canary_and_metrics(stack, matrix) -> None:
    base, _router, _, log_dir = stack
    infer = f"{base}/v2/models/{NAME}/infer"
    with httpx.Client(timeout=10) as client:
        answer = client.post(infer, json=tensor(matrix, id="mine"))
        assert answer.status_code == 200, answer.text
        assert answer.json()["id"] == "mine"
        assert answer.headers["x-request-id"]
        assert (
            client.post(infer, json=tensor(matrix), headers={"x-request-id": "hdr-1"}).headers["x-request-id"]
            == "hdr-1"
        )
        versions = [client.post(infer, json=tensor(matrix)).json()["model_version"] for _ in range(38)]
        explained = client.post(infer, json=tensor(matrix[:2], parameters={"explain": True})).json()
        names = [o["name"] for o in explained["outputs"]]
        assert names == ["predict", "contributions"]
        assert explained["outputs"][1]["shape"] == [2, len(COLUMNS) + 1]
        metrics = client.get(f"{base}/metrics").text
        metadata = client.get(f"{base}/v2/models/{NAME}").json()
    # 40 scoring requests so far plus the explain: 25 % of them went to the canary, exactly
    assert versions.count("2") + versions.count("1") == 38
    assert 'variant="canary"' in metrics
    assert "conveyor_request_duration_seconds_bucket" in metrics
    assert metadata["parameters"]["variants"] == {"primary": "1", "canary": "2"}
    counts = {}
    for line in metrics.splitlines():
        if line.startswith("conveyor_requests_total{"):
            variant = line.split('variant="')[1].split('"')[0]
            counts[variant] = counts.get(variant, 0) + int(line.rsplit(" ", 1)[1])
    assert counts == {"primary": 31, "canary": 10}  # request n goes to the canary when 25 % of n+1 grows
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not list(log_dir.rglob("*.parquet")):
        time.sleep(0.05)
    logged = pd.read_parquet(log_dir)
    mine = logged[logged["request_id"] == "mine"]
    assert mine["row"].tolist() == list(range(len(matrix)))
    assert mine["inputs"].iloc[0] == dict(zip(COLUMNS, matrix[0], strict=True))


def test_limits_are_413_json(stack, matrix) -> None:
    base = stack[0]
    infer = f"{base}/v2/models/{NAME}/infer"
    with httpx.Client(timeout=10) as client:
        too_many = client.post(infer, json=tensor(np.repeat(matrix, 6, axis=0)))
        assert too_many.status_code == 413
        assert too_many.json()["limit"] == 50
        too_big = client.post(
            f"{base}/invocations", content=b"{" + b" " * 30_000 + b"}", headers={"content-type": "application/json"}
        )
        assert too_big.status_code == 413
        assert too_big.json()["field"] == "body"
        assert client.post(infer, json=tensor(matrix)).status_code == 200


def test_docs_and_openapi(stack) -> None:
    base = stack[0]
    spec = httpx.get(f"{base}/openapi.json").json()
    assert "/v2/models/{name}/infer" in spec["paths"]
    assert "openapi.json" in httpx.get(f"{base}/docs").text


def test_shadow_scores_but_never_answers(models, matrix, tmp_path) -> None:
    first, second = models
    writer_dir = tmp_path / "log"
    log = PredictionLog(ParquetWriter(writer_dir))
    router = Router(ModelRuntime(first), shadow=ModelRuntime(second))
    for base in serve(create_app(router, prediction_log=log)):
        with httpx.Client(timeout=10) as client:
            for _ in range(5):
                assert client.post(f"{base}/invocations", json={"instances": matrix.tolist()}).status_code == 200
            answer = client.post(f"{base}/v2/models/{NAME}/infer", json=tensor(matrix)).json()
            assert answer["model_version"] == "1"
            time.sleep(0.2)
    log.close()
    records = pd.read_parquet(writer_dir).to_dict("records")
    variants = sorted({(r["variant"], r["model_version"]) for r in records})
    assert variants == [("primary", "1"), ("shadow", "2")]
    by_id: dict[str, set[str]] = {}
    for r in records:
        by_id.setdefault(r["request_id"], set()).add(r["variant"])
    assert all(v == {"primary", "shadow"} for v in by_id.values())


def test_swap_under_load_fails_no_request(models, matrix) -> None:
    first, second = models
    router = Router(ModelRuntime(first))
    failures: list[str] = []
    seen: list[str] = []
    stop = threading.Event()
    for base in serve(create_app(router)):

        def send(client: httpx.Client, base: str = base) -> httpx.Response:
            return client.post(f"{base}/v2/models/{NAME}/infer", json=tensor(matrix))

        threads = [threading.Thread(target=keep_requesting, args=(send, stop, failures, seen)) for _ in range(4)]
        for t in threads:
            t.start()
        _wait_for(lambda: "1" in seen)
        router.swap(ModelRuntime(second))
        _wait_for(lambda: "2" in seen)
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert set(seen) == {"1", "2"}


def _wait_for(condition: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_access_log_is_one_json_line_per_request(models, matrix) -> None:
    import io

    import orjson

    stream = io.StringIO()
    for base in serve(create_app(ModelRuntime(models[0]), access_log=True, log_stream=stream)):
        httpx.post(f"{base}/v2/models/{NAME}/infer", json=tensor(matrix), headers={"x-request-id": "acc-1"})
        httpx.post(f"{base}/v2/models/{NAME}/infer", content=b"{", headers={"content-type": "application/json"})
    first, second = (orjson.loads(line) for line in stream.getvalue().splitlines())
    assert (first["status"], first["request_id"], first["rows"], first["model_version"]) == (200, "acc-1", 10, "1")
    assert second["status"] == 400


class _SlowDisk(LocalFileSystem):
    """The local disk, but every file opened for writing first waits `delay` seconds (a stalled volume)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "w" in mode:
            time.sleep(self.delay)
        return super()._open(path, mode, **kwargs)


def test_prediction_log_on_a_slow_disk_never_slows_or_fails_a_request(models, matrix, tmp_path) -> None:
    import duckdb
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    disk = _SlowDisk(delay=3.0)
    metrics = ServingMetrics()
    log = PredictionLog(
        ParquetWriter(tmp_path / "log", filesystem=PyFileSystem(FSSpecHandler(disk))),
        columns=COLUMNS, queue_size=20, flush_rows=1,
    )  # fmt: skip
    metrics.prediction_log = log.counters
    codes = []
    for base in serve(create_app(ModelRuntime(models[0]), metrics=metrics, prediction_log=log)):
        with httpx.Client(timeout=10) as client:
            started = time.perf_counter()
            for i in range(200):
                answer = client.post(f"{base}/v2/models/{NAME}/infer", json=tensor(matrix[:2], id=f"q{i}"))
                codes.append(answer.status_code)
            elapsed = time.perf_counter() - started
            exposition = client.get(f"{base}/metrics").text
    # every request answered while the writer was stuck in its first write
    assert codes == [200] * 200
    assert elapsed < disk.delay
    dropped = int(exposition.split('conveyor_prediction_log_total{outcome="dropped"} ')[1].split()[0])
    assert dropped > 0
    log.close(timeout=30)
    assert log.counters["written"] + log.counters["dropped"] == 200
    # The app's own shutdown gives the writer 5 s: on a busy machine it can be stopped inside its first 3 s write,
    # with nothing written (all counted as dropped above), and DuckDB refuses a pattern that matches no file.
    files = sorted((tmp_path / "log").rglob("*.parquet"))
    logged = (
        duckdb.sql(f"SELECT DISTINCT request_id FROM read_parquet({[str(f) for f in files]!r})").fetchall()
        if files
        else []
    )
    assert len(logged) == log.counters["written"]
