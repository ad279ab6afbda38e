"""Signature columns: MLflow types mapped to numpy and V2 types, and strict per-column converters.

A converter turns the values a client sent for one column (a JSON list or a numpy slice) into a numpy
array of the column's dtype, or raises `BadValue` with the offending row. The rules, per MLflow type:

- double, float: JSON numbers; `null` becomes NaN. Strings and all-boolean columns are refused.
- long, integer: JSON numbers with an integral value (`3` and `3.0` both pass, `3.5` does not), in
  range for int64 / int32. `null` is refused (an integer column has no missing value).
- boolean: JSON `true` / `false` only.
- string: JSON strings; `null` stays a missing value. Numbers are refused, not stringified: a category
  sent as `1` where the model learnt `"1"` is a client's mistake better reported than guessed.
- datetime: ISO 8601 strings (or `null`, NaT), parsed to datetime64[ns].
- binary: base64 strings, decoded to bytes (as `mlflow models serve` does).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BadValue", "Column", "Converter", "column_for"]

Converter = Callable[[Any], np.ndarray]

_INT_BOUNDS = {np.dtype(np.int64): (-(2**63), 2**63 - 1), np.dtype(np.int32): (-(2**31), 2**31 - 1)}
# Floats at or beyond 2**63 cannot round-trip to int64; compare in float space with a safe bound.
_FLOAT_INT_LIMIT = {np.dtype(np.int64): 2.0**63, np.dtype(np.int32): 2.0**31}


class BadValue(Exception):
    """A value that does not fit its column; `row` is its index within the column."""

    def __init__(self, row: int | None, reason: str) -> None:
        super().__init__(reason)
        self.row = row
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Column:
    """One signature column: its name, MLflow type, numpy dtype, V2 datatype and converter."""

    name: str
    type: str
    required: bool
    dtype: np.dtype
    v2_datatype: str
    convert: Converter


def column_for(name: str, mlflow_type: str, required: bool = True) -> Column:
    """The column spec for an MLflow signature type; an unknown type is served as-is (object).

    `str()` of MLflow's DataType enum gives "DataType.long" on some Python versions: both spellings work.
    """
    mlflow_type = mlflow_type.removeprefix("DataType.")
    make = _TYPES.get(mlflow_type)
    if make is None:
        return Column(name, mlflow_type, required, np.dtype(object), "BYTES", _as_objects)
    dtype, v2, convert = make
    return Column(name, mlflow_type, required, np.dtype(dtype), v2, convert)


def _as_array(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    try:
        arr = np.asarray(values)
    except (ValueError, OverflowError):  # ragged nesting, ints beyond int64: find the row below
        arr = np.empty(len(values), dtype=object)
        arr[:] = list(values)
    if arr.ndim != 1:
        raise BadValue(_first(values, lambda v: isinstance(v, list | dict)), "expected one scalar per row")
    return arr


def _first(values: Sequence[Any], is_bad: Callable[[Any], bool]) -> int | None:
    for i, v in enumerate(values):
        if is_bad(v):
            return i
    return None


def _sent(values: Any, arr: np.ndarray) -> Sequence[Any]:
    """The values as the client sent them (numpy may have coerced a list, e.g. [1, "3"] to strings)."""
    return arr if isinstance(values, np.ndarray) else values


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)


def _describe(v: Any) -> str:
    text = repr(v.item() if isinstance(v, np.generic) else v)
    return text if len(text) <= 40 else text[:37] + "..."


def _floats(dtype: type) -> Converter:
    def convert(values: Any) -> np.ndarray:
        arr = _as_array(values)
        if arr.dtype.kind in "fiu":
            return arr.astype(dtype, copy=False)
        if arr.dtype.kind == "O":  # numbers mixed with null (or with anything else)
            row = _first(arr, lambda v: v is not None and not _is_number(v))
            if row is None:
                return np.array([np.nan if v is None else v for v in arr], dtype=dtype)
            raise BadValue(row, f"expected a number, got {_describe(arr[row])}")
        sent = _sent(values, arr)
        row = _first(sent, lambda v: not _is_number(v)) or 0
        raise BadValue(row, f"expected a number, got {_describe(sent[row])}")

    return convert


def _ints(dtype: type) -> Converter:
    np_dtype = np.dtype(dtype)
    low, high = _INT_BOUNDS[np_dtype]
    limit = _FLOAT_INT_LIMIT[np_dtype]

    def convert(values: Any) -> np.ndarray:
        arr = _as_array(values)
        kind = arr.dtype.kind
        if kind in "iu":
            if arr.dtype.itemsize > np_dtype.itemsize or kind == "u":
                bad = (arr < low) | (arr > high)
                if bad.any():
                    row = int(bad.argmax())
                    raise BadValue(row, f"{_describe(arr[row])} is out of range for {np_dtype}")
            return arr.astype(np_dtype, copy=False)
        if kind == "f":
            # Cheap checks first (this is the hot path for FP64 tensors feeding integer columns).
            if np.isfinite(arr).all() and (np.abs(arr) < limit).all():
                ints = arr.astype(np_dtype)
                if (ints == arr).all():
                    return ints
            with np.errstate(invalid="ignore"):
                bad = ~np.isfinite(arr) | (arr != np.trunc(arr)) | (arr >= limit) | (arr < -limit)
            if not bad.any():  # only the lowest int64, -2**63, gets here
                return arr.astype(np_dtype)
            row = int(bad.argmax())
            raise BadValue(row, f"expected an integer, got {_describe(arr[row])}")
        if kind == "O":
            row = _first(arr, lambda v: not _is_number(v) or not float(v).is_integer() or not low <= int(v) <= high)
            if row is None:
                return np.array([int(v) for v in arr], dtype=np_dtype)
            raise BadValue(row, f"expected an integer, got {_describe(arr[row])}")
        sent = _sent(values, arr)
        row = _first(sent, lambda v: not _is_number(v)) or 0
        raise BadValue(row, f"expected an integer, got {_describe(sent[row])}")

    return convert


def _bools(values: Any) -> np.ndarray:
    arr = _as_array(values)
    if arr.dtype.kind == "b":
        return arr
    sent = _sent(values, arr)
    row = _first(sent, lambda v: not isinstance(v, bool | np.bool_)) or 0
    raise BadValue(row, f"expected true or false, got {_describe(sent[row])}")


def _strings(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "U":
            return values.astype(object)
        if values.dtype.kind != "O":
            raise BadValue(0, f"expected a string, got {_describe(values[0])}")
        items: Sequence[Any] = values
    else:
        items = values
    row = _first(items, lambda v: v is not None and not isinstance(v, str))
    if row is not None:
        raise BadValue(row, f"expected a string, got {_describe(items[row])}")
    out = np.empty(len(items), dtype=object)
    out[:] = list(items)
    return out


def _datetimes(values: Any) -> np.ndarray:
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    row = _first(items, lambda v: v is not None and not isinstance(v, str))
    if row is None:
        try:
            return np.array(["NaT" if v is None else v for v in items], dtype="datetime64[ns]")
        except ValueError:
            row = _first(items, lambda v: not _parses_as_datetime(v))
    raise BadValue(row, f"expected an ISO 8601 date-time, got {_describe(items[row or 0])}")


def _parses_as_datetime(v: Any) -> bool:
    try:
        np.datetime64(v if v is not None else "NaT", "ns")
    except ValueError:
        return False
    return True


def _binaries(values: Any) -> np.ndarray:
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    out = np.empty(len(items), dtype=object)
    for i, v in enumerate(items):
        if v is None or isinstance(v, bytes):
            out[i] = v
            continue
        if not isinstance(v, str):
            raise BadValue(i, f"expected a base64 string, got {_describe(v)}")
        try:
            out[i] = base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError):
            raise BadValue(i, "expected a base64 string") from None
    return out


def _as_objects(values: Any) -> np.ndarray:
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


_TYPES: dict[str, tuple[Any, str, Converter]] = {
    "double": (np.float64, "FP64", _floats(np.float64)),
    "float": (np.float32, "FP32", _floats(np.float32)),
    "long": (np.int64, "INT64", _ints(np.int64)),
    "integer": (np.int32, "INT32", _ints(np.int32)),
    "boolean": (np.bool_, "BOOL", _bools),
    "string": (object, "BYTES", _strings),
    "datetime": ("datetime64[ns]", "BYTES", _datetimes),
    "binary": (object, "BYTES", _binaries),
}
