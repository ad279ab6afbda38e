"""Predictions as the two protocols return them: V2 output tensors and MLflow's `predictions`.

Numeric numpy arrays go to orjson as they are (`OPT_SERIALIZE_NUMPY`), never through Python lists.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_OUTPUT", "json_default", "jsonable_predictions", "v2_datatype", "v2_outputs"]

DEFAULT_OUTPUT = "predict"

_V2_BY_KIND = {"f": "FP", "i": "INT", "u": "UINT"}
# orjson serialises these numpy dtypes natively; anything else goes through tolist().
_NATIVE = frozenset(
    np.dtype(t) for t in (np.float64, np.float32, np.int64, np.int32, np.int16, np.int8, np.uint64, np.bool_)
) | frozenset(np.dtype(t) for t in (np.uint32, np.uint16, np.uint8))


def v2_datatype(dtype: np.dtype) -> str:
    """The V2 datatype of a numpy dtype (strings, objects and dates are BYTES)."""
    if dtype.kind == "b":
        return "BOOL"
    if dtype.kind in _V2_BY_KIND:
        return f"{_V2_BY_KIND[dtype.kind]}{dtype.itemsize * 8}"
    return "BYTES"


def _json_array(arr: np.ndarray) -> Any:
    """A flat array orjson can write: the array itself when native, else a list of plain values."""
    if arr.dtype in _NATIVE:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind == "M":
        return np.datetime_as_string(arr).tolist()
    return arr.tolist()  # strings, objects: `json_default` handles what orjson does not know


def _tensor(name: str, arr: np.ndarray) -> dict[str, Any]:
    return {
        "name": name,
        "datatype": v2_datatype(arr.dtype),
        "shape": list(arr.shape),
        "data": _json_array(arr.ravel()),
    }


def v2_outputs(predictions: Any) -> list[dict[str, Any]]:
    """One V2 output tensor per DataFrame column, else one named `predict` (or the Series' name)."""
    if isinstance(predictions, pd.DataFrame):
        return [_tensor(str(name), predictions[name].to_numpy()) for name in predictions.columns]
    if isinstance(predictions, pd.Series):
        name = DEFAULT_OUTPUT if predictions.name is None else str(predictions.name)
        return [_tensor(name, predictions.to_numpy())]
    if isinstance(predictions, dict):
        return [_tensor(str(k), np.asarray(v)) for k, v in predictions.items()]
    return [_tensor(DEFAULT_OUTPUT, np.asarray(predictions))]


def jsonable_predictions(predictions: Any) -> Any:
    """What `mlflow models serve` puts under `predictions`: records for tables, lists for arrays."""
    if isinstance(predictions, pd.Series):
        predictions = predictions.to_frame()
    if isinstance(predictions, pd.DataFrame):
        return predictions.to_dict(orient="records")
    if isinstance(predictions, np.ndarray):
        return np.ascontiguousarray(predictions) if predictions.dtype in _NATIVE else predictions.tolist()
    return predictions


def json_default(value: Any) -> Any:
    """orjson's fallback for values a model may return inside object arrays or records."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)
