"""A real MLflow model served by the inference app under real uvicorn, on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

with warnings.catch_warnings():
    # mlflow 3.17.2 warns while importing its own chat-agent types (mlflow/types/responses.py); nothing of ours.
    warnings.filterwarnings("ignore", message=".*Any type hint is inferred as AnyType", category=UserWarning)
    import mlflow.pyfunc
    import mlflow.sklearn

from conveyor.domain.models import InputColumn, LoadedModel
from conveyor.entrypoints.inference.app import create_app
from conveyor.serving import ModelRuntime
from tests_support import DEMO_CSV

ADULT = DEMO_CSV
FEATURES = {"age": "long", "hours_per_week": "long", "capital_gain": "double", "sex": "string"}
MODEL_NAME = "adult"


@pytest.fixture(scope="session")
def adult_rows() -> pd.DataFrame:
    frame = pd.read_csv(ADULT, nrows=1000)
    return frame.astype({"capital_gain": "float64"})


@pytest.fixture(scope="session")
def pyfunc_model(adult_rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c, t in FEATURES.items() if t != "string"]
    pipeline = make_pipeline(
        ColumnTransformer([("sex", OneHotEncoder(), ["sex"]), ("num", StandardScaler(), numeric)]),
        LogisticRegression(),
    )
    pipeline.fit(adult_rows[list(FEATURES)], adult_rows["income"])
    path = tmp_path_factory.mktemp("models") / MODEL_NAME
    signature = ModelSignature(inputs=Schema([ColSpec(t, c) for c, t in FEATURES.items()]))
    mlflow.sklearn.save_model(
        pipeline,
        str(path),
        signature=signature,
        pip_requirements=["scikit-learn"],
        serialization_format="cloudpickle",
        pyfunc_predict_fn="predict_proba",
    )
    return mlflow.pyfunc.load_model(str(path))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def keep_requesting(
    send: Callable[[httpx.Client], httpx.Response], stop: threading.Event, failures: list[str], versions: list[str]
) -> None:
    """Send requests until `stop` is set: each answer's model version goes to `versions`, each non-200 to `failures`."""
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            answer = send(client)
            if answer.status_code != 200:
                failures.append(answer.text)
            else:
                versions.append(answer.json()["model_version"])


def serve(app: Any) -> Iterator[str]:
    """Run `app` under uvicorn (httptools, uvloop) in a thread until the fixture ends; yields the base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http="httptools", loop="uvloop", access_log=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def runtime(pyfunc_model: Any) -> ModelRuntime:
    schema = pyfunc_model.metadata.get_input_schema()
    inputs = [InputColumn(name=c.name, type=c.type.name, required=c.required) for c in schema.inputs]
    path = Path(pyfunc_model.metadata.artifact_path or ".")
    model = LoadedModel(name=MODEL_NAME, version="3", path=path, predictor=pyfunc_model, inputs=inputs, metadata={})
    return ModelRuntime(model)


@pytest.fixture(scope="session")
def server(runtime: ModelRuntime) -> Iterator[str]:
    yield from serve(create_app(runtime))
