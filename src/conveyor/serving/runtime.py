"""ModelRuntime: one loaded model behind the V2 and MLflow scoring protocols, bytes in and bytes out.

The runtime knows no web framework: the inference app hands it request bodies and writes back what
it returns. Everything static (metadata, column converters) is computed once, at load.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd

from conveyor._version import __version__
from conveyor.domain.models import LoadedModel
from conveyor.errors import InvalidRequest
from conveyor.serving import scoring, v2
from conveyor.serving.batching import MicroBatcher
from conveyor.serving.fastpath import ArrayPredictor, array_predictor
from conveyor.serving.outputs import json_default
from conveyor.serving.signature import InputSignature

__all__ = ["Limits", "ModelRuntime", "RequestTooLarge", "Scored"]

# Exceptions a predictor raises when the data it was given do not suit it (an unseen category, a value
# out of its domain): the client's mistake, reported as InvalidRequest rather than a server error.
_INPUT_ERRORS = (ValueError, TypeError, KeyError, IndexError)
# MLflow reports schema problems with these error codes (duck-typed: the engine does not import MLflow).
_INPUT_ERROR_CODES = frozenset({"INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE"})
_MAX_DETAIL = 300
_DUMPS = orjson.OPT_SERIALIZE_NUMPY


class RequestTooLarge(InvalidRequest):
    """A request over a configured limit (body bytes or rows); answered with HTTP 413."""

    status_code = 413

    def __init__(self, message: str, *, field: str, limit: int) -> None:
        super().__init__(message, field=field, hint=f"The limit is {limit}; split the request.")
        self.limit = limit


@dataclass(frozen=True)
class Limits:
    """Per-request limits and micro-batching settings."""

    max_body_bytes: int = 32 * 1024 * 1024
    max_rows: int = 100_000
    batch_max_rows: int = 512
    batch_max_wait_ms: float = 0.0
    batching: bool = True
    compile_cache: str | None = None  # where compiled LightGBM models are kept (None: do not compile)


@dataclass(slots=True)
class Scored:
    """One answered request: the response body and what the prediction log and metrics need."""

    body: bytes
    rows: int
    model_version: str
    request_id: str | None
    inputs: Any  # a float64 matrix (fast path) or the validated DataFrame
    outputs: Any
    seconds: float


class ModelRuntime:
    """Validate requests against the model's signature, predict, and encode the answer."""

    def __init__(
        self, model: LoadedModel, limits: Limits | None = None, explainer: Callable[[pd.DataFrame], Any] | None = None
    ) -> None:
        self.model = model
        # Per-row contributions for `parameters.explain`: given by the caller, else the predictor's own
        # `explain(frame)` when it has one (duck-typed), else LightGBM's on the fast path.
        self._explainer = explainer or getattr(model.predictor, "explain", None)
        self.limits = limits or Limits()
        self.name = model.name
        self.version = str(model.version)
        self.signature = InputSignature(model.inputs)
        self._predict = _predict_function(model.predictor, validated=self.signature.known)
        # A LightGBM model with an all-numeric signature is scored on float64 arrays, micro-batched.
        self.fast: ArrayPredictor | None = array_predictor(
            model.native, model.flavor, self.signature, self.limits.compile_cache
        )
        self.batcher: MicroBatcher | None = None
        if self.fast is not None and self.limits.batching:
            self.batcher = MicroBatcher(
                self.fast.predict,
                max_rows=self.limits.batch_max_rows,
                max_wait=self.limits.batch_max_wait_ms / 1000,
            )
        self._server_metadata = {"name": "conveyor", "version": __version__, "extensions": []}
        self._model_metadata = {
            "name": self.name,
            "versions": [self.version],
            "platform": "mlflow",
            "inputs": [
                {"name": c.name, "datatype": c.v2_datatype, "shape": [-1]} for c in self.signature.columns or ()
            ],
            "outputs": list(model.metadata.get("outputs", [])),
            "parameters": {
                "fast_path": self.fast is not None,
                "compiled": self.fast is not None and self.fast.compiled is not None,
                "flavor": model.flavor,
            },
        }
        self._v2_head = orjson.dumps({"model_name": self.name, "model_version": self.version})[:-1]

    def ready(self) -> bool:
        """Whether the model can answer now (always, once constructed)."""
        return True

    def server_metadata(self) -> dict[str, Any]:
        """V2 `GET /v2`: server name, version and protocol extensions."""
        return dict(self._server_metadata)

    def model_metadata(self) -> dict[str, Any]:
        """V2 `GET /v2/models/{name}`: name, versions, platform, input and output tensors."""
        return dict(self._model_metadata)

    # ------------------------------------------------------------------ synchronous (no batching)
    def infer_v2(self, body: bytes) -> bytes:
        """A V2 infer request body in, the V2 response JSON out; InvalidRequest for a bad request."""
        request = v2.decode_request(body, self.signature)
        self._check_rows(len(request.frame))
        if _explain_asked(request.parameters):
            return self._explained_v2(request)
        predictions = self.predict(request.frame)
        return v2.encode_response(predictions, model_name=self.name, model_version=self.version, request=request)

    def invocations(self, body: bytes, content_type: str | None) -> bytes:
        """An MLflow scoring request in, `{"predictions": ...}` out, as `mlflow models serve` does."""
        frame = scoring.decode_request(body, content_type, self.signature)
        self._check_rows(len(frame))
        return scoring.encode_response(self.predict(frame))

    def predict(self, frame: pd.DataFrame) -> Any:
        """The predictor's answer for a validated table; failures caused by the input become InvalidRequest."""
        if self.fast is not None:
            return self.fast.predict(self._matrix_of(frame))
        try:
            return self._predict(frame)
        except _INPUT_ERRORS as exc:
            raise _rejected(exc, frame) from exc
        except Exception as exc:
            if getattr(exc, "error_code", None) in _INPUT_ERROR_CODES:
                raise _rejected(exc, frame) from exc
            raise

    def explain(self, frame: pd.DataFrame) -> Any:
        """Per-row contributions, when the model offers them (LightGBM natively, or a predictor's `explain`)."""
        if self.fast is not None and not callable(self._explainer):
            contributions = self.fast.explain(self._matrix_of(frame))
            columns = [*self.signature.names, "bias"]
            if contributions.ndim == 2 and contributions.shape[1] == len(columns):
                return pd.DataFrame(contributions, columns=columns)
            return contributions
        explain = self._explainer
        if not callable(explain):
            raise InvalidRequest(
                "This model offers no explanations.", field="parameters.explain", hint="Leave `explain` out."
            )
        try:
            return explain(frame)
        except _INPUT_ERRORS as exc:
            raise _rejected(exc) from exc

    # ------------------------------------------------------------------ asynchronous (micro-batched)
    async def infer_v2_async(self, body: bytes, request_id: str | None = None) -> Scored:
        """`infer_v2` on the event loop, with concurrent fast-path requests scored together."""
        started = time.perf_counter()
        request = v2.load_json(body)
        if type(request) is not dict:
            raise InvalidRequest("An infer request is a JSON object with an `inputs` list.", field="body")
        parameters = v2.parameters_of(request)
        rid = request.get("id")
        rid = request_id if rid is None else str(rid)
        matrix = None
        if self.fast is not None and not parameters and "outputs" not in request:
            found = v2.positional_data(request, self.fast.width)
            if found is not None:
                matrix = self.fast.matrix(found[0])
        if matrix is not None:
            self._check_rows(len(matrix))
            predictions = await self._submit(matrix)
            out = self._v2_fast_body(predictions, rid)
            return Scored(out, len(matrix), self.version, rid, matrix, predictions, _since(started))
        decoded = v2.decode_request(request, self.signature)
        if decoded.id is None and rid is not None:
            decoded.id = rid
        self._check_rows(len(decoded.frame))
        if _explain_asked(decoded.parameters):
            out = self._explained_v2(decoded)
            return Scored(out, len(decoded.frame), self.version, rid, decoded.frame, None, _since(started))
        predictions = await self._predict_async(decoded.frame)
        out = v2.encode_response(predictions, model_name=self.name, model_version=self.version, request=decoded)
        return Scored(out, len(decoded.frame), self.version, rid, decoded.frame, predictions, _since(started))

    async def invocations_async(self, body: bytes, content_type: str | None, request_id: str | None = None) -> Scored:
        """`invocations` on the event loop, micro-batched like `infer_v2_async`."""
        started = time.perf_counter()
        request: Any = body
        matrix = None
        if scoring.media_type(content_type) == "application/json":
            request = v2.load_json(body)
            if self.fast is not None:
                rows = scoring.positional_rows(request, self.signature.names)
                if rows is not None:
                    matrix = self.fast.matrix(rows)
        if matrix is not None:
            self._check_rows(len(matrix))
            predictions = await self._submit(matrix)
            out = b'{"predictions":' + orjson.dumps(predictions, option=_DUMPS) + b"}"
            return Scored(out, len(matrix), self.version, request_id, matrix, predictions, _since(started))
        frame = scoring.decode_request(request, content_type, self.signature)
        self._check_rows(len(frame))
        predictions = await self._predict_async(frame)
        out = scoring.encode_response(predictions)
        return Scored(out, len(frame), self.version, request_id, frame, predictions, _since(started))

    async def _submit(self, matrix: np.ndarray) -> np.ndarray:
        if self.batcher is not None:
            return await self.batcher.submit(matrix)
        assert self.fast is not None
        return self.fast.predict(matrix)

    async def _predict_async(self, frame: pd.DataFrame) -> Any:
        if self.fast is not None:
            matrix = self._matrix_of(frame)
            return await self._submit(matrix)
        return self.predict(frame)

    def _v2_fast_body(self, predictions: np.ndarray, request_id: str | None) -> bytes:
        parts = [self._v2_head]
        if request_id is not None:
            parts.append(b',"id":' + orjson.dumps(request_id))
        parts.append(b',"outputs":[{"name":"predict","datatype":"FP64","shape":')
        parts.append(orjson.dumps(list(predictions.shape)))
        parts.append(b',"data":')
        parts.append(orjson.dumps(np.ascontiguousarray(predictions.ravel(), dtype=np.float64), option=_DUMPS))
        parts.append(b"}]}")
        return b"".join(parts)

    def _explained_v2(self, request: v2.V2Request) -> bytes:
        predictions = self.predict(request.frame)
        contributions = self.explain(request.frame)
        outputs = v2.v2_outputs(predictions)
        outputs.append(_contributions_tensor(contributions))
        response: dict[str, Any] = {"model_name": self.name, "model_version": self.version}
        if request.id is not None:
            response["id"] = request.id
        response["parameters"] = {"explain": True}
        response["outputs"] = outputs
        return orjson.dumps(response, option=_DUMPS, default=json_default)

    def _matrix_of(self, frame: pd.DataFrame) -> np.ndarray:
        try:
            return frame[self.signature.names].to_numpy(dtype=np.float64)
        except (KeyError, ValueError, TypeError) as exc:
            raise _rejected(exc) from exc

    def _check_rows(self, n: int) -> None:
        if n > self.limits.max_rows:
            raise RequestTooLarge(
                f"The request has {n} rows; this server takes at most {self.limits.max_rows} per request.",
                field="inputs",
                limit=self.limits.max_rows,
            )


def _since(started: float) -> float:
    return time.perf_counter() - started


def _explain_asked(parameters: dict[str, Any]) -> bool:
    value = parameters.get("explain")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _contributions_tensor(contributions: Any) -> dict[str, Any]:
    if isinstance(contributions, pd.DataFrame):
        names = [str(c) for c in contributions.columns]
        data = contributions.to_numpy(dtype=np.float64)
    else:
        data = np.asarray(contributions, dtype=np.float64)
        names = None
    tensor: dict[str, Any] = {
        "name": "contributions",
        "datatype": "FP64",
        "shape": list(data.shape),
        "data": np.ascontiguousarray(data.ravel()),
    }
    if names is not None:
        tensor["parameters"] = {"columns": names}
    return tensor


def _rejected(exc: BaseException, frame: pd.DataFrame | None = None) -> InvalidRequest:
    detail = str(getattr(exc, "message", None) or exc).strip() or type(exc).__name__
    if len(detail) > _MAX_DETAIL:
        detail = detail[: _MAX_DETAIL - 3] + "..."
    field, row = _locate(detail, frame)
    return InvalidRequest(f"The model could not score this input: {detail}", field=field or "inputs", row=row)


def _locate(detail: str, frame: pd.DataFrame | None) -> tuple[str | None, int | None]:
    """The column and row holding a value the model's message quotes (e.g. an unseen category).

    Predictors report "Found unknown categories ['Mars'] in column 3" or "... NaN ..." in their own
    words; the value they quote is found in the request's text columns, so the client learns where.
    """
    if frame is None or frame.empty:
        return None, None
    quoted = [a or b for a, b in re.findall(r"'([^']{1,200})'|\"([^\"]{1,200})\"", detail)]
    for value in quoted:
        for name in frame.columns:
            column = frame[name]
            if column.dtype.kind != "O":
                continue
            hits = np.flatnonzero(column.to_numpy() == value)
            if hits.size:
                return str(name), int(hits[0])
    if "nan" in detail.lower() or "missing" in detail.lower():
        for name in frame.columns:
            missing = frame[name].isna().to_numpy()
            if missing.any():
                return str(name), int(missing.argmax())
    return None, None


def _predict_function(predictor: Any, *, validated: bool) -> Callable[[pd.DataFrame], Any]:
    """The cheapest correct way to call the predictor on a table this runtime has already validated.

    MLflow's `PyFuncModel.predict` enforces the signature again on every call: 1.5-2 ms for a single
    row, four times the model's own work. When the runtime has enforced the same signature already
    (column-based, not one inferred from type hints), it calls the flavour's predict function directly.
    """
    predict = predictor.predict
    direct = getattr(predictor, "_predict_fn", None)
    metadata = getattr(predictor, "metadata", None)
    if not validated or not callable(direct) or metadata is None:
        return predict
    try:
        from_type_hints = metadata._is_signature_from_type_hint() or metadata._is_type_hint_from_example()
    except AttributeError:
        return predict
    return predict if from_type_hints else direct
