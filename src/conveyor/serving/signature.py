"""The model's input contract: request columns checked against the signature and built into one DataFrame.

Every protocol decoder ends here, with the request's data in one of three shapes: named columns, a
row-major matrix whose columns are the signature's by position, or records (one mapping per row).
Columns are converted once each (see `columns`), put in signature order, and a table whose columns
share one numpy dtype is built as a single 2-D block (about 10x cheaper in pandas than column by column).

Without a signature the request is passed through: names as sent, dtypes as numpy infers them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from conveyor.domain.models import InputColumn
from conveyor.errors import InvalidRequest
from conveyor.serving.columns import BadValue, Column, column_for

__all__ = ["InputSignature"]


class InputSignature:
    """The columns a model takes, with the converters that enforce them."""

    def __init__(self, inputs: Sequence[InputColumn] | None) -> None:
        self.columns: list[Column] | None = (
            None if inputs is None else [column_for(c.name, c.type, c.required) for c in inputs]
        )
        self.names: list[str] = [c.name for c in self.columns or ()]
        self._by_name = {c.name: c for c in self.columns or ()}
        # An object Index, not pandas 3's default string one: predictors that walk the column names
        # (LightGBM checks them on every call) do so several times faster.
        self._index = pd.Index(self.names, dtype=object)
        dtypes = {c.dtype for c in self.columns or ()}
        # One shared numeric dtype: the whole table is one 2-D array (the common tabular case).
        self._block_dtype = dtypes.pop() if len(dtypes) == 1 and next(iter(dtypes)).kind in "biuf" else None

    @property
    def known(self) -> bool:
        return self.columns is not None

    # ------------------------------------------------------------------ named columns
    def from_columns(self, data: Mapping[str, Any], *, where: str = "") -> pd.DataFrame:
        """A table from {column name: values}; every required column present, no unknown ones."""
        if self.columns is None:
            return self._untyped_columns(data, where)
        for name in data:
            if name not in self._by_name:
                raise InvalidRequest(
                    f"Unknown input {name!r}{where}: the model takes {_names(self.names)}.",
                    field=name,
                    hint="Remove it or check its spelling.",
                )
        lengths = [len(v) for v in data.values() if isinstance(v, list | tuple | np.ndarray)]
        n = max(lengths, key=lengths.count) if lengths else 0  # the odd one out is the column to blame
        arrays: list[np.ndarray] = []
        present: list[Column] = []
        for column in self.columns:
            if column.name not in data:
                if column.required:
                    raise InvalidRequest(
                        f"Missing input {column.name!r}{where}: the model requires {_names(self.names)}.",
                        field=column.name,
                    )
                continue
            values = data[column.name]
            if not isinstance(values, list | tuple | np.ndarray):
                raise InvalidRequest(f"Input {column.name!r} must be a list of values, one per row.", field=column.name)
            if len(values) != n:
                raise InvalidRequest(
                    f"Input {column.name!r} has {len(values)} rows where the other inputs have {n}.",
                    field=column.name,
                    hint="Every column needs one value per row.",
                )
            arrays.append(_convert(column, values))
            present.append(column)
        if not n:
            raise InvalidRequest("The request has no rows to predict.", field="inputs")
        if self._block_dtype is not None and len(present) == len(self.columns):
            return pd.DataFrame(np.column_stack(arrays), columns=self._index, copy=False)
        return pd.DataFrame({c.name: a for c, a in zip(present, arrays, strict=True)}, copy=False)

    # ------------------------------------------------------------------ positional matrix
    def from_matrix(self, matrix: np.ndarray | Sequence[Sequence[Any]], *, field: str) -> pd.DataFrame:
        """A table from rows whose values are the signature's columns in order."""
        if self.columns is None:
            return self._untyped_rows(matrix, field)
        k = len(self.columns)
        if not isinstance(matrix, np.ndarray):
            matrix = _rows_to_matrix(matrix, k, field)
            if not isinstance(matrix, np.ndarray):  # mixed types: one tuple of values per column
                return self.from_columns(dict(zip(self.names, matrix, strict=True)))
        if matrix.ndim != 2 or matrix.shape[1] != k:
            raise InvalidRequest(
                f"{field!r} has shape {list(matrix.shape)} but the model takes {k} columns: {_names(self.names)}.",
                field=field,
            )
        if matrix.shape[0] == 0:
            raise InvalidRequest("The request has no rows to predict.", field=field)
        if self._block_dtype is not None and matrix.dtype.kind in "biuf":
            try:
                block = self.columns[0].convert(matrix.reshape(-1)).reshape(matrix.shape)
            except BadValue:
                pass  # convert column by column below to name the column and row
            else:
                return pd.DataFrame(block, columns=self._index, copy=False)
        return self.from_columns({name: matrix[:, j] for j, name in enumerate(self.names)})

    # ------------------------------------------------------------------ records
    def from_records(self, records: Sequence[Any], *, field: str) -> pd.DataFrame:
        """A table from one {column: value} mapping per row."""
        if not records:
            raise InvalidRequest("The request has no rows to predict.", field=field)
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                raise InvalidRequest(f"{field!r} row {i} is not an object of column values.", field=field, row=i)
        names = self.names if self.columns is not None else list(dict.fromkeys(k for r in records for k in r))
        known = set(names)
        required = [c.name for c in self.columns if c.required] if self.columns is not None else names
        complete = True  # every record has every column: the common case, checked cheaply
        for i, record in enumerate(records):
            if len(record) == len(known) and known.issuperset(record):
                continue
            extra = [k for k in record if k not in known]
            if extra:
                raise InvalidRequest(
                    f"Unknown input {extra[0]!r} in row {i}: the model takes {_names(names)}.", field=extra[0], row=i
                )
            missing = [name for name in required if name not in record]
            if missing:
                raise InvalidRequest(f"Row {i} has no value for {missing[0]!r}.", field=missing[0], row=i)
            complete = False
        if complete:
            return self.from_columns({name: [r[name] for r in records] for name in names})
        # Optional columns given in some rows only: the others get a missing value.
        present = [name for name in names if any(name in r for r in records)]
        return self.from_columns({name: [r.get(name) for r in records] for name in present})

    # ------------------------------------------------------------------ no signature
    def _untyped_columns(self, data: Mapping[str, Any], where: str) -> pd.DataFrame:
        if not data:
            raise InvalidRequest(f"The request has no inputs{where}.", field="inputs")
        lengths = {len(v) for v in data.values()}
        if len(lengths) != 1:
            raise InvalidRequest("Inputs have different numbers of rows.", field="inputs")
        if lengths == {0}:
            raise InvalidRequest("The request has no rows to predict.", field="inputs")
        try:
            return pd.DataFrame({name: v if isinstance(v, np.ndarray) else np.asarray(v) for name, v in data.items()})
        except (ValueError, TypeError) as exc:
            raise InvalidRequest(f"The inputs do not form a table: {exc}", field="inputs") from None

    def _untyped_rows(self, matrix: Any, field: str) -> pd.DataFrame:
        try:
            arr = matrix if isinstance(matrix, np.ndarray) else np.asarray(matrix)
        except ValueError:
            raise InvalidRequest(f"{field!r} rows have different lengths.", field=field) from None
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise InvalidRequest(f"{field!r} must be a non-empty table of rows.", field=field)
        return pd.DataFrame(arr)


def _rows_to_matrix(rows: Sequence[Any], k: int, field: str) -> np.ndarray | list[tuple[Any, ...]]:
    """A 2-D array from JSON rows, or one tuple per column when the rows mix types."""
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != k:
            got = f"{len(row)} values" if isinstance(row, list) else "not a list"
            raise InvalidRequest(f"{field!r} row {i} has {got}; the model takes {k} columns.", field=field, row=i)
    if not rows:
        raise InvalidRequest("The request has no rows to predict.", field=field)
    arr = None
    if all(not isinstance(v, str) for v in rows[0]):
        try:
            arr = np.asarray(rows)
        except (ValueError, OverflowError):  # nested or huge values: the column converters name the row
            arr = None
    if arr is not None and arr.dtype.kind in "biuf":
        return arr
    return list(zip(*rows, strict=True))


def _convert(column: Column, values: Any) -> np.ndarray:
    try:
        return column.convert(values)
    except BadValue as bad:
        where = f" row {bad.row}" if bad.row is not None else ""
        raise InvalidRequest(
            f"Input {column.name!r}{where}: {bad.reason} (column type {column.type}).",
            field=column.name,
            row=bad.row,
        ) from None


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:20])
    return shown + (f" and {len(names) - 20} more" if len(names) > 20 else "")
