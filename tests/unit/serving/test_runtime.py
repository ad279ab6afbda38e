"""ModelRuntime with stand-in predictors: how each kind of prediction is encoded, and how model errors surface."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from conveyor.domain.models import InputColumn, LoadedModel
from conveyor.errors import InvalidRequest
from conveyor.serving import ModelRuntime


class Predictor:
    """Answers whatever `answer(frame)` returns, and records the frames it was given."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.frames: list[pd.DataFrame] = []

    def predict(self, frame: pd.DataFrame) -> Any:
        self.frames.append(frame)
        return self.answer(frame)


def runtime_for(answer: Any, inputs: list[InputColumn] | None = None) -> tuple[ModelRuntime, Predictor]:
    predictor = Predictor(answer)
    columns = [InputColumn(name="x", type="double"), InputColumn(name="tag", type="string", required=False)]
    model = LoadedModel(
        name="m",
        version="7",
        path=Path("."),
        predictor=predictor,
        inputs=columns if inputs is None else inputs,
        metadata={},
    )
    return ModelRuntime(model), predictor


REQUEST = orjson.dumps({"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [1.0, 2.0]}]})


def outputs(runtime: ModelRuntime) -> list[dict[str, Any]]:
    return orjson.loads(runtime.infer_v2(REQUEST))["outputs"]


def predictions(runtime: ModelRuntime) -> Any:
    return orjson.loads(runtime.invocations(b'{"inputs": {"x": [1.0, 2.0]}}', "application/json"))["predictions"]


def test_dataframe_answers_one_tensor_per_column() -> None:
    frame = pd.DataFrame({"label": ["no", "yes"], "p": [0.25, 0.75], "n": [1, 2], "ok": [True, False]})
    runtime, _ = runtime_for(lambda f: frame)
    assert outputs(runtime) == [
        {"name": "label", "datatype": "BYTES", "shape": [2], "data": ["no", "yes"]},
        {"name": "p", "datatype": "FP64", "shape": [2], "data": [0.25, 0.75]},
        {"name": "n", "datatype": "INT64", "shape": [2], "data": [1, 2]},
        {"name": "ok", "datatype": "BOOL", "shape": [2], "data": [True, False]},
    ]
    assert predictions(runtime) == frame.to_dict(orient="records")


def test_arrays_series_and_lists() -> None:
    runtime, _ = runtime_for(lambda f: np.array([0.5, 0.25], dtype=np.float32))
    assert outputs(runtime) == [{"name": "predict", "datatype": "FP32", "shape": [2], "data": [0.5, 0.25]}]
    assert predictions(runtime) == [0.5, 0.25]
    runtime, _ = runtime_for(lambda f: pd.Series(["a", "b"], name="label"))
    assert outputs(runtime) == [{"name": "label", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]}]
    assert predictions(runtime) == [{"label": "a"}, {"label": "b"}]
    runtime, _ = runtime_for(lambda f: [1, 0])
    assert outputs(runtime) == [{"name": "predict", "datatype": "INT64", "shape": [2], "data": [1, 0]}]
    assert predictions(runtime) == [1, 0]


def test_optional_columns_may_be_missing_and_frames_are_typed() -> None:
    runtime, predictor = runtime_for(lambda f: np.zeros(len(f)))
    outputs(runtime)
    (frame,) = predictor.frames
    assert list(frame.columns) == ["x"]
    assert frame["x"].dtype == np.float64


def test_errors_caused_by_the_input_become_invalid_requests() -> None:
    def picky(frame: pd.DataFrame) -> Any:
        raise ValueError("Found unknown categories ['Astronaut'] in column 0")

    runtime, _ = runtime_for(picky)
    with pytest.raises(InvalidRequest, match="unknown categories"):
        outputs(runtime)

    class SchemaError(Exception):
        error_code = "INVALID_PARAMETER_VALUE"

    def mlflow_like(frame: pd.DataFrame) -> Any:
        raise SchemaError("bad column")

    runtime, _ = runtime_for(mlflow_like)
    with pytest.raises(InvalidRequest, match="bad column"):
        outputs(runtime)


def test_other_model_failures_stay_server_errors() -> None:
    def broken(frame: pd.DataFrame) -> Any:
        raise RuntimeError("out of memory")

    runtime, _ = runtime_for(broken)
    with pytest.raises(RuntimeError):
        outputs(runtime)


def test_without_a_signature_inputs_pass_through() -> None:
    predictor = Predictor(lambda f: f.sum(axis=1).to_numpy())
    model = LoadedModel(name="m", version="1", path=Path("."), predictor=predictor, inputs=None, metadata={})
    runtime = ModelRuntime(model)
    assert outputs(runtime)[0]["data"] == [1.0, 2.0]
    body = orjson.dumps({"inputs": [{"name": "t", "shape": [2, 2], "datatype": "INT64", "data": [1, 2, 3, 4]}]})
    assert orjson.loads(runtime.infer_v2(body))["outputs"][0]["data"] == [3, 7]
    assert runtime.model_metadata()["inputs"] == []


def test_records_may_leave_out_optional_columns_and_odd_shapes_are_400s() -> None:
    runtime, predictor = runtime_for(lambda f: np.zeros(len(f)))
    body = orjson.dumps({"dataframe_records": [{"x": 1.0}, {"x": 2.0, "tag": "b"}]})
    assert orjson.loads(runtime.invocations(body, "application/json"))["predictions"] == [0.0, 0.0]
    tags = predictor.frames[-1]["tag"]
    assert pd.isna(tags[0])
    assert tags[1] == "b"
    for odd in ({"instances": [[[1.0], 2.0]]}, {"instances": [[1.0, [2.0, 3.0]]]}, {"inputs": {"x": [[1.0], 2.0]}}):
        with pytest.raises(InvalidRequest):
            runtime.invocations(orjson.dumps(odd), "application/json")
    untyped = ModelRuntime(
        LoadedModel(name="m", version="1", path=Path("."), predictor=predictor, inputs=None, metadata={})
    )
    for odd in ({"dataframe_records": [{"a": 1}, {"b": 2}]}, {"inputs": {"a": [[1], 2]}}):
        with pytest.raises(InvalidRequest):
            untyped.invocations(orjson.dumps(odd), "application/json")
