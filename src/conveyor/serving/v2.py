"""The KServe V2 (Open Inference Protocol) REST codec: an infer request to a table, predictions to a response.

Inputs are read in one of two shapes, both checked against the model signature:

- one tensor per column, matched by name, of shape `[n]` or `[n, 1]` (MLServer's pandas codec, with or
  without `parameters.content_type: "pd"`);
- a single 2-D tensor `[n, k]` whose `k` equals the signature's column count, mapped to the signature's
  columns by position whatever its name (MLServer's numpy codec, e.g. one FP64 `input-0`).

`data` may be flat (row-major, as the spec says) or nested; BYTES data are read as strings. The tensor's
declared datatype is checked to be a V2 type, but values are judged by the signature's column types, so
an FP64 tensor feeding integer columns is fine as long as its values are integral.
"""

from __future__ import annotations

import math
from itertools import chain
from typing import Any

import numpy as np
import orjson
import pandas as pd

from conveyor.errors import InvalidRequest
from conveyor.serving.outputs import json_default, v2_outputs
from conveyor.serving.signature import InputSignature

__all__ = ["V2Request", "decode_request", "encode_response", "load_json", "parameters_of", "positional_data"]

DATATYPES = frozenset(
    {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"}
    | {"FP16", "FP32", "FP64", "BYTES"}
)
_NUMERIC = DATATYPES - {"BYTES", "BOOL"}
_DUMPS_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


class V2Request:
    """A decoded infer request: the input table, the request id, and the outputs asked for."""

    __slots__ = ("frame", "id", "outputs", "parameters")

    def __init__(self, frame: pd.DataFrame, id: str | None, outputs: list[str] | None, parameters: dict) -> None:
        self.frame = frame
        self.id = id
        self.outputs = outputs
        self.parameters = parameters


def load_json(body: bytes) -> Any:
    """The parsed body, or InvalidRequest naming where the JSON breaks."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}.", field="body") from None


def decode_request(body: bytes | dict[str, Any], signature: InputSignature) -> V2Request:
    """Parse (unless given parsed) and validate an infer request body against the signature."""
    request = body if isinstance(body, dict) else load_json(body)
    if not isinstance(request, dict):
        raise InvalidRequest("An infer request is a JSON object with an `inputs` list.", field="body")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidRequest("An infer request needs a non-empty `inputs` list of tensors.", field="inputs")
    tensors = [_tensor(i, t) for i, t in enumerate(inputs)]
    frame = _frame(tensors, signature)
    request_id = None if request.get("id") is None else str(request["id"])
    return V2Request(frame, request_id, _requested(request), parameters_of(request))


def parameters_of(request: dict[str, Any]) -> dict[str, Any]:
    """The request's `parameters` object ({} when absent)."""
    parameters = request.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidRequest("`parameters` must be an object.", field="parameters")
    return parameters


def positional_data(request: dict[str, Any], width: int) -> tuple[list[Any], int] | None:
    """The data and row count of a request made of one numeric [n, width] tensor, else None.

    The fast path's shape test: anything else (named columns, BYTES, nested data) is decoded by
    `decode_request`, which also reports what is wrong with a bad request.
    """
    inputs = request.get("inputs")
    if type(inputs) is not list or len(inputs) != 1:
        return None
    tensor = inputs[0]
    if type(tensor) is not dict:
        return None
    shape = tensor.get("shape")
    data = tensor.get("data")
    if (
        type(shape) is not list
        or len(shape) != 2
        or shape[1] != width
        or type(shape[0]) is not int
        or tensor.get("datatype") not in _NUMERIC
        or type(data) is not list
        or len(data) != shape[0] * width
        or not data
        or type(data[0]) is list
    ):
        return None
    return data, shape[0]


def encode_response(predictions: Any, *, model_name: str, model_version: str, request: V2Request) -> bytes:
    """The infer response: one output tensor per prediction column."""
    outputs = v2_outputs(predictions)
    if request.outputs is not None:
        by_name = {o["name"]: o for o in outputs}
        for i, name in enumerate(request.outputs):
            if name not in by_name:
                raise InvalidRequest(
                    f"Unknown output {name!r}: the model returns {', '.join(map(repr, by_name))}.",
                    field=f"outputs[{i}].name",
                )
        outputs = [by_name[name] for name in request.outputs]
    response: dict[str, Any] = {"model_name": model_name, "model_version": model_version}
    if request.id is not None:
        response["id"] = request.id
    response["outputs"] = outputs
    return orjson.dumps(response, option=_DUMPS_OPTIONS, default=json_default)


class _Tensor:
    __slots__ = ("data", "datatype", "field", "name", "shape")

    def __init__(self, name: str, shape: list[int], datatype: str, data: list[Any], field: str) -> None:
        self.name = name
        self.shape = shape
        self.datatype = datatype
        self.data = data
        self.field = field


def _tensor(i: int, raw: Any) -> _Tensor:
    field = f"inputs[{i}]"
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{field} must be a tensor object with name, shape, datatype and data.", field=field)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest(f"{field}.name must be a non-empty string.", field=f"{field}.name")
    shape = raw.get("shape")
    if not isinstance(shape, list) or not shape or not all(type(d) is int and d >= 0 for d in shape):
        raise InvalidRequest(f"Input {name!r}: shape must be a list of sizes, e.g. [3, 1].", field=name)
    datatype = raw.get("datatype")
    if datatype not in DATATYPES:
        raise InvalidRequest(
            f"Input {name!r}: datatype {datatype!r} is not a V2 datatype.",
            field=name,
            hint=f"Use one of {', '.join(sorted(DATATYPES))}.",
        )
    data = raw.get("data")
    if not isinstance(data, list):
        raise InvalidRequest(f"Input {name!r}: data must be a list of values.", field=name)
    if data and isinstance(data[0], list):
        data = _flatten(data, name)
    expected = math.prod(shape)
    if len(data) != expected:
        raise InvalidRequest(
            f"Input {name!r} has {len(data)} values but its shape {shape} needs {expected}.",
            field=name,
            hint="`data` holds the tensor's values in row-major order; make it match `shape`.",
        )
    return _Tensor(name, shape, datatype, data, field)


def _flatten(data: list[Any], name: str) -> list[Any]:
    while data and isinstance(data[0], list):
        if not all(isinstance(row, list) for row in data):
            raise InvalidRequest(f"Input {name!r}: nested data must nest evenly.", field=name)
        data = list(chain.from_iterable(data))
    return data


def _frame(tensors: list[_Tensor], signature: InputSignature) -> pd.DataFrame:
    first = tensors[0]
    k = len(signature.names)
    positional = (
        len(tensors) == 1
        and len(first.shape) == 2
        and (first.shape[1] == k if signature.known else first.shape[1] > 1)
        and (k > 1 or first.name not in signature.names)
    )
    if positional:
        return signature.from_matrix(_matrix(first), field=first.name)
    columns: dict[str, Any] = {}
    for t in tensors:
        if len(t.shape) > 2 or (len(t.shape) == 2 and t.shape[1] != 1):
            raise InvalidRequest(
                f"Input {t.name!r} has shape {t.shape}; a column is [n] or [n, 1]"
                + (f", and a table is one [n, {k}] tensor." if signature.known else "."),
                field=t.name,
            )
        if t.name in columns:
            raise InvalidRequest(f"Input {t.name!r} is given twice.", field=t.name)
        columns[t.name] = t.data
    return signature.from_columns(columns)


def _matrix(t: _Tensor) -> np.ndarray | list[list[Any]]:
    """The tensor as a 2-D array when numeric, else as rows of the values sent (kept as JSON types)."""
    n, k = t.shape
    if t.datatype != "BYTES":
        try:
            arr = np.asarray(t.data)
        except (ValueError, OverflowError):
            arr = None
        if arr is not None and arr.dtype.kind in "biuf":
            return arr.reshape(n, k)
    return [t.data[r * k : (r + 1) * k] for r in range(n)]


def _requested(request: dict[str, Any]) -> list[str] | None:
    outputs = request.get("outputs")
    if outputs is None:
        return None
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise InvalidRequest("`outputs` must be a list of objects with a `name`.", field="outputs")
    return [o["name"] for o in outputs] or None
