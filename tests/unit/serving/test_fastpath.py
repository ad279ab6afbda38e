"""The numeric fast path answers exactly what the pyfunc path answers, and refuses what it should."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor.domain.models import LoadedModel
from conveyor.errors import InvalidRequest
from conveyor.serving import Limits, ModelRuntime, RequestTooLarge

from .conftest import LONGS, STRINGS
from .test_v2 import per_column


def _codes(adult: pd.DataFrame) -> pd.DataFrame:
    features = adult[LONGS + STRINGS].copy()
    for c in STRINGS:
        features[c] = features[c].astype("category").cat.codes.astype("int64")
    return features


def _v2(matrix: np.ndarray, **extra: Any) -> bytes:
    return orjson.dumps(
        {"inputs": [{"name": "x", "shape": list(matrix.shape), "datatype": "FP64", "data": matrix.ravel().tolist()}]}
        | extra
    )


def test_fast_path_matches_pyfunc(lgbm_model: tuple[Any, LoadedModel], lgbm_fast_model: LoadedModel, adult) -> None:
    pyfunc_model, _ = lgbm_model
    runtime = ModelRuntime(lgbm_fast_model)
    assert runtime.fast is not None
    assert runtime.batcher is not None
    features = _codes(adult).iloc[:50]
    expected = pyfunc_model.predict(features)
    scored = asyncio.run(runtime.infer_v2_async(_v2(features.to_numpy(dtype=float)), "rid-1"))
    body = orjson.loads(scored.body)
    assert body["id"] == "rid-1"
    np.testing.assert_allclose(body["outputs"][0]["data"], expected, rtol=0, atol=1e-12)
    split = {"dataframe_split": {"columns": list(features.columns), "data": features.to_numpy().tolist()}}
    scored = asyncio.run(runtime.invocations_async(orjson.dumps(split), "application/json"))
    np.testing.assert_allclose(orjson.loads(scored.body)["predictions"], expected, rtol=0, atol=1e-12)
    # the synchronous, general path agrees too
    general = orjson.loads(runtime.infer_v2(_v2(features.to_numpy(dtype=float))))
    np.testing.assert_allclose(general["outputs"][0]["data"], expected, rtol=0, atol=1e-12)


def test_fast_path_sends_bad_values_to_the_strict_path(lgbm_fast_model: LoadedModel, adult) -> None:
    runtime = ModelRuntime(lgbm_fast_model)
    matrix = _codes(adult).iloc[:3].to_numpy(dtype=float)
    matrix[1, 2] = 3.5  # an integer column
    with pytest.raises(InvalidRequest) as caught:
        asyncio.run(runtime.infer_v2_async(_v2(matrix)))
    assert (caught.value.field, caught.value.row) == (runtime.signature.names[2], 1)
    rows = _codes(adult).iloc[:2].to_numpy().tolist()
    rows[0][0] = "41"
    body = orjson.dumps({"instances": rows})
    with pytest.raises(InvalidRequest) as caught:
        asyncio.run(runtime.invocations_async(body, "application/json"))
    assert (caught.value.field, caught.value.row) == ("age", 0)


def test_row_limit_is_a_413(lgbm_fast_model: LoadedModel, adult) -> None:
    runtime = ModelRuntime(lgbm_fast_model, Limits(max_rows=5))
    with pytest.raises(RequestTooLarge) as caught:
        asyncio.run(runtime.infer_v2_async(_v2(_codes(adult).iloc[:6].to_numpy(dtype=float))))
    assert caught.value.status_code == 413
    assert caught.value.limit == 5


def test_explain_returns_contributions_that_sum_to_the_margin(lgbm_fast_model: LoadedModel, adult) -> None:
    runtime = ModelRuntime(lgbm_fast_model)
    matrix = _codes(adult).iloc[:4].to_numpy(dtype=float)
    scored = asyncio.run(runtime.infer_v2_async(_v2(matrix, parameters={"explain": True})))
    outputs = {o["name"]: o for o in orjson.loads(scored.body)["outputs"]}
    contributions = outputs["contributions"]
    assert contributions["shape"] == [4, len(runtime.signature.names) + 1]
    assert contributions["parameters"]["columns"][-1] == "bias"
    margin = np.asarray(contributions["data"]).reshape(4, -1).sum(axis=1)
    np.testing.assert_allclose(1 / (1 + np.exp(-margin)), outputs["predict"]["data"], atol=1e-9)


def test_explain_uses_a_predictors_explain_method(sklearn_model, rows) -> None:
    class Explaining:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def predict(self, frame: pd.DataFrame) -> Any:
            return self.inner.predict(frame)

        def explain(self, frame: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({"age": np.ones(len(frame)), "bias": np.zeros(len(frame))})

    loaded = sklearn_model[1].model_copy(update={"predictor": Explaining(sklearn_model[1].predictor)})
    request = orjson.dumps(per_column(rows, parameters={"explain": True}))
    body = orjson.loads(ModelRuntime(loaded).infer_v2(request))
    names = [o["name"] for o in body["outputs"]]
    assert names[-1] == "contributions"
    with pytest.raises(InvalidRequest, match="no explanations"):
        ModelRuntime(sklearn_model[1]).infer_v2(request)


def test_compiled_model_answers_like_lightgbm(lgbm_fast_model: LoadedModel, adult, tmp_path) -> None:
    pytest.importorskip("lleaves", reason="lleaves (LLVM compiler for LightGBM) is not installed")
    runtime = ModelRuntime(lgbm_fast_model, Limits(compile_cache=str(tmp_path)))
    assert runtime.fast is not None
    assert runtime.fast.compiled is not None
    matrix = _codes(adult).iloc[:200].to_numpy(dtype=float)
    # the compiled trees are called with the arrays' addresses: one row, many, and a strided view (copied)
    for rows in (matrix[:1], matrix, np.asfortranarray(matrix), matrix[::2]):
        np.testing.assert_allclose(runtime.fast.predict(rows), lgbm_fast_model.native.predict(rows), atol=1e-12)


def test_unseen_category_names_the_field_and_row(runtime: ModelRuntime, rows: pd.DataFrame) -> None:
    rows = rows.copy()
    rows.loc[2, "workclass"] = "Astronaut"
    with pytest.raises(InvalidRequest) as caught:
        runtime.infer_v2(orjson.dumps(per_column(rows)))
    assert (caught.value.field, caught.value.row) == ("workclass", 2)
    assert "Astronaut" in caught.value.message


_WELL_FORMED = st.one_of(st.integers(min_value=-5, max_value=60), st.integers(min_value=-5, max_value=60).map(float))
_ANY_JSON = st.one_of(
    _WELL_FORMED,
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([True, False, None, "3", 2.0**63, -(2.0**63), 2**63 - 1, 2.5]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_fast_path_answers_any_row_as_the_strict_path_does(lgbm_fast_model: LoadedModel, data) -> None:
    """Whatever the values (integral or not, out of range, booleans, nulls, strings), one row or three, the
    fast path's answer or error is the general path's; `age` is a double column here, the others long. Rows of
    integral numbers take the fast path."""
    inputs = [c.model_copy(update={"type": "double"}) if c.name == "age" else c for c in lgbm_fast_model.inputs]
    runtime = ModelRuntime(lgbm_fast_model.model_copy(update={"inputs": inputs}))
    width = len(inputs)
    well_formed = data.draw(st.booleans())
    values = _WELL_FORMED if well_formed else _ANY_JSON
    rows = data.draw(st.lists(st.lists(values, min_size=width, max_size=width), min_size=1, max_size=3))
    flat = [value for row in rows for value in row]
    tensor = {"name": "x", "shape": [len(rows), width], "datatype": "FP64", "data": flat}
    requests = [
        (lambda body: asyncio.run(runtime.infer_v2_async(body)), runtime.infer_v2, orjson.dumps({"inputs": [tensor]})),
        (
            lambda body: asyncio.run(runtime.invocations_async(body, "application/json")),
            lambda body: runtime.invocations(body, "application/json"),
            orjson.dumps({"dataframe_split": {"columns": runtime.signature.names, "data": rows}}),
        ),
    ]
    for fast, strict, body in requests:
        expected = _outcome(strict, body)
        answer = _outcome(fast, body)
        assert answer[:2] == expected[:2]
        assert isinstance(answer[2], np.ndarray) or not well_formed  # the fast path keeps the matrix


def _outcome(call: Any, body: bytes) -> tuple[Any, ...]:
    """("answer", response without its id, the inputs kept) or ("refused", (field, row), None)."""
    try:
        scored = call(body)
    except InvalidRequest as refused:
        return ("refused", (refused.field, refused.row), None)
    answer = orjson.loads(scored if isinstance(scored, bytes) else scored.body)
    answer.pop("id", None)
    return ("answer", answer, None if isinstance(scored, bytes) else scored.inputs)
