"""MLflow's scoring protocol (`POST /invocations`, as `mlflow models serve` speaks it): body to table, predictions out.

JSON bodies carry exactly one of `dataframe_split` (`columns` + rows), `dataframe_records` (one object per
row), `instances` or `inputs` (rows, records, or {column: values}), plus optional `params`; `text/csv`
bodies are a table with a header row. Columns are checked against the model signature like V2 inputs.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import orjson
import pandas as pd

from conveyor.errors import InvalidRequest
from conveyor.serving.outputs import json_default, jsonable_predictions
from conveyor.serving.signature import InputSignature
from conveyor.serving.v2 import load_json

__all__ = ["FORMATS", "MEDIA_TYPES", "decode_request", "encode_response", "media_type", "positional_rows"]

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
MEDIA_TYPES = ("application/json", "text/csv")


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json`; a missing header means JSON."""
    if not content_type:
        return "application/json"
    return content_type.partition(";")[0].strip().lower()


def decode_request(body: bytes | dict[str, Any], content_type: str | None, signature: InputSignature) -> pd.DataFrame:
    """Parse (unless given parsed JSON) and validate an /invocations body against the signature."""
    kind = media_type(content_type)
    if kind == "text/csv" and isinstance(body, bytes):
        return _from_csv(body, signature)
    if kind != "application/json":
        raise InvalidRequest(
            f"Unsupported content type {content_type!r}.",
            field="content-type",
            hint="Send application/json or text/csv.",
        )
    request = body if isinstance(body, dict) else load_json(body)
    if not isinstance(request, dict):
        raise InvalidRequest(f"The body must be a JSON object with one of {', '.join(FORMATS)}.", field="body")
    given = [key for key in FORMATS if key in request]
    if len(given) != 1:
        found = f"found {', '.join(given)}" if given else "found none"
        raise InvalidRequest(
            f"The body must have exactly one of {', '.join(FORMATS)} ({found}).",
            field=given[1] if given else "body",
        )
    key = given[0]
    value = request[key]
    if key == "dataframe_split":
        return _from_split(value, signature)
    if key == "dataframe_records":
        if not isinstance(value, list):
            raise InvalidRequest("dataframe_records must be a list of row objects.", field=key)
        return signature.from_records(value, field=key)
    return _from_instances(value, key, signature)


def positional_rows(request: Any, names: list[str]) -> Any:
    """The rows of a request whose values are the signature's columns in order, else None (fast path test)."""
    if type(request) is not dict:
        return None
    split = request.get("dataframe_split")
    if split is not None:
        if len(request) != 1 and any(k in request for k in FORMATS if k != "dataframe_split"):
            return None
        if type(split) is dict and split.get("columns") == names and type(split.get("data")) is list:
            return split["data"] or None
        return None
    for key in ("instances", "inputs"):
        rows = request.get(key)
        if rows is not None:
            others = [k for k in FORMATS if k in request]
            if len(others) == 1 and type(rows) is list and rows and type(rows[0]) is list:
                return rows
            return None
    return None


def encode_response(predictions: Any) -> bytes:
    """`{"predictions": ...}` as `mlflow models serve` writes it."""
    return orjson.dumps(
        {"predictions": jsonable_predictions(predictions)}, option=orjson.OPT_SERIALIZE_NUMPY, default=json_default
    )


def _from_split(value: Any, signature: InputSignature) -> pd.DataFrame:
    field = "dataframe_split"
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise InvalidRequest(
            "dataframe_split must be an object with `columns` and `data` (a list of rows).", field=field
        )
    rows = value["data"]
    columns = value.get("columns")
    if columns is None or columns == signature.names:
        return signature.from_matrix(rows, field=f"{field}.data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidRequest("dataframe_split.columns must be a list of column names.", field=f"{field}.columns")
    if len(set(columns)) != len(columns):
        duplicate = next(c for c in columns if columns.count(c) > 1)
        raise InvalidRequest(f"Column {duplicate!r} is given twice.", field=duplicate)
    k = len(columns)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != k:
            raise InvalidRequest(
                f"dataframe_split.data row {i} does not have one value per column ({k}).", field=f"{field}.data", row=i
            )
    if not rows:
        raise InvalidRequest("The request has no rows to predict.", field=f"{field}.data")
    return signature.from_columns(dict(zip(columns, zip(*rows, strict=True), strict=True)))


def _from_instances(value: Any, key: str, signature: InputSignature) -> pd.DataFrame:
    if isinstance(value, dict):
        return signature.from_columns(value)
    if not isinstance(value, list) or not value:
        raise InvalidRequest(f"{key} must be a non-empty list of rows or an object of columns.", field=key)
    first = value[0]
    if isinstance(first, dict):
        return signature.from_records(value, field=key)
    if isinstance(first, list):
        return signature.from_matrix(value, field=key)
    if len(signature.names) == 1:  # a list of scalars feeds a one-column model
        return signature.from_columns({signature.names[0]: value})
    return signature.from_matrix(value, field=key)


def _from_csv(body: bytes, signature: InputSignature) -> pd.DataFrame:
    try:
        table = pd.read_csv(io.BytesIO(body), dtype=object, keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The body is not readable as CSV: {exc}", field="body") from None
    if table.empty:
        raise InvalidRequest("The request has no rows to predict.", field="body")
    columns: dict[str, Any] = {}
    for name in table.columns:
        raw = table[name].to_numpy(dtype=object)
        columns[str(name)] = [None if v is None or v is np.nan or (isinstance(v, float) and v != v) else v for v in raw]
    types = {c.name: c.type for c in signature.columns or ()}
    for name, values in columns.items():
        columns[name] = _parse_csv_column(name, values, types.get(name))
    return signature.from_columns(columns)


def _parse_csv_column(name: str, values: list[Any], mlflow_type: str | None) -> list[Any]:
    """CSV cells are text: turn them into the JSON types the column converters expect."""
    if mlflow_type in ("string", "datetime", "binary"):
        return values
    if mlflow_type == "boolean":
        parsed = {"true": True, "false": False, "1": True, "0": False}
        return [parsed.get(v.strip().lower(), v) if isinstance(v, str) else v for v in values]
    out: list[Any] = []
    for v in values:
        if isinstance(v, str):
            try:
                number: Any = int(v)
            except ValueError:
                try:
                    number = float(v)
                except ValueError:
                    number = v  # left as text: the converter reports the row
            out.append(number)
        else:
            out.append(v)
    return out
