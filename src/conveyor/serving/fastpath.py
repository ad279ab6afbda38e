"""The numeric fast path: a LightGBM model scored on float64 arrays, and JSON bodies decoded straight into them.

A model qualifies when its signature is all numeric, its native model is a LightGBM booster (or a
scikit-learn LightGBM estimator) whose features are the signature's columns in the same order, and it
learnt no pandas categories (those need a DataFrame to map the category codes). Everything else takes
the general path through a validated DataFrame and the pyfunc predictor; answers are the same.

A booster can also be compiled to machine code with lleaves (LLVM), about ten times faster per row
than LightGBM's own predictor for the same answers; the compiled library is cached by the hash of the
model text, so only the first start of a model version pays the compile (tens of seconds). Without
lleaves installed, or if compiling fails, the booster predicts.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from conveyor.serving.signature import InputSignature

__all__ = ["ArrayPredictor", "array_predictor", "compile_booster", "matrix_from_rows"]

logger = logging.getLogger("conveyor.serving")

_NUMERIC_TYPES = frozenset({"double", "float", "long", "integer"})
_INT_TYPES = frozenset({"long", "integer"})
_INT_LIMIT = 2.0**63


class ArrayPredictor:
    """Predict (and explain) on a float64 matrix whose columns are the signature's, in order."""

    def __init__(self, native: Any, signature: InputSignature, compiled: Any = None) -> None:
        self.native = native
        self.compiled = compiled
        self._is_booster = type(native).__name__ == "Booster"
        columns = signature.columns or []
        self.width = len(columns)
        self._integral = tuple(c.type in _INT_TYPES for c in columns)
        self._int_columns = np.array(self._integral, dtype=bool)
        self._any_int = bool(self._int_columns.any())
        self._all_int = bool(self._int_columns.all())
        # One OpenMP thread: a request of a few rows pays only thread start-up for more, and the
        # workers would fight over the cores (the booster keeps its training `num_threads`).
        self._kwargs: dict[str, Any] = {"num_threads": 1} if self._is_booster else {}
        self._forest = _CompiledForest(compiled) if compiled is not None else None

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        if self._forest is not None:
            return self._forest.predict(matrix)
        return np.asarray(self.native.predict(matrix, **self._kwargs))

    def explain(self, matrix: np.ndarray) -> np.ndarray:
        """Per-row feature contributions (SHAP values from the trees), the bias term last."""
        return np.asarray(self.native.predict(matrix, pred_contrib=True, **self._kwargs))

    def matrix(self, rows: list[Any]) -> np.ndarray | None:
        """Rows of JSON numbers (nested, or one flat row-major list) as a checked float64 matrix, or None.

        None sends the request down the general path, which names the offending column and row.
        """
        if len(rows) == 1 and type(rows[0]) is list:
            return self.row_matrix(rows[0])
        if len(rows) == self.width and type(rows[0]) is not list:
            return self.row_matrix(rows)
        matrix = matrix_from_rows(rows, self.width)
        return matrix if matrix is not None and self.valid(matrix) else None

    def row_matrix(self, row: list[Any]) -> np.ndarray | None:
        """One row of JSON numbers as a 1 x width matrix, or None when a value does not suit its column.

        The single-row request's check, in plain Python: for a dozen values the three numpy reductions
        of `valid` cost more than the model. It accepts what `matrix_from_rows` and `valid` accept
        together, except integers beyond the int64 range in double columns, left to the strict path.
        """
        if len(row) != self.width:
            return None
        for value, integral in zip(row, self._integral, strict=True):
            kind = type(value)
            if kind is float:
                if integral and not (value.is_integer() and -_INT_LIMIT < value < _INT_LIMIT):
                    return None
            elif kind is not int or not -_INT_LIMIT < float(value) < _INT_LIMIT:
                return None  # strings, nulls and booleans go the strict general path, which decides
        return np.array((row,), dtype=np.float64)

    def valid(self, matrix: np.ndarray) -> bool:
        """Whether every value suits its column (integral where the column is an integer one).

        NaN passes in double columns (a missing value) and fails in integer columns. A `False` sends
        the request down the general path, whose converters name the offending column and row.
        """
        if matrix.ndim != 2 or matrix.shape[1] != self.width or matrix.shape[0] == 0:
            return False
        if not self._any_int:
            return True
        ints = matrix if self._all_int else matrix[:, self._int_columns]
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(ints).all() and (np.abs(ints) < _INT_LIMIT).all()
            return bool(finite and (ints == np.trunc(ints)).all())


class _CompiledForest:
    """A booster compiled by lleaves, called through its entry point with the arrays' addresses.

    lleaves' own `predict` converts its input, casts two ctypes pointers and zero-fills the output on
    every call: about 10 µs, three times the compiled trees' own work on one row. The entry point
    (`forest_root(data, out, start, end)`, float64, C order) is the one lleaves calls, and it releases
    the GIL as lleaves' call does.
    """

    _ENTRY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32)

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled  # it owns the machine code the entry point runs: kept alive with it
        self._entry = self._ENTRY(ctypes.cast(compiled._c_entry_func, ctypes.c_void_p).value)
        self._classes = compiled.num_model_per_iteration()

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        rows = len(matrix)
        out = np.empty(rows if self._classes == 1 else (rows, self._classes))
        self._entry(matrix.ctypes.data, out.ctypes.data, 0, rows)
        return out


def array_predictor(
    native: Any, flavor: str | None, signature: InputSignature, compile_cache: str | None = None
) -> ArrayPredictor | None:
    """The fast predictor for a loaded model, or None when the model does not qualify."""
    if flavor != "lightgbm" or native is None or not signature.known:
        return None
    columns = signature.columns or []
    if not columns or any(c.type not in _NUMERIC_TYPES for c in columns):
        return None
    booster = native if type(native).__name__ == "Booster" else getattr(native, "booster_", None)
    if booster is None or getattr(booster, "pandas_categorical", None):
        return None
    try:
        names = list(booster.feature_name())
    except Exception:  # an unusual booster simply takes the general path
        return None
    if names != signature.names:
        return None
    compiled = compile_booster(native, Path(compile_cache)) if compile_cache and booster is native else None
    return ArrayPredictor(native, signature, compiled)


def compile_booster(booster: Any, cache_dir: Path) -> Any:
    """The booster compiled by lleaves (cached under `cache_dir`), or None when that is not possible."""
    try:
        import lleaves
    except ImportError:
        return None
    try:
        text = booster.model_to_string()
        key = hashlib.sha256(text.encode()).hexdigest()[:32]
        cache_dir.mkdir(parents=True, exist_ok=True)
        model_file = cache_dir / f"{key}.txt"
        library = cache_dir / f"{key}.so"
        # One worker compiles, the others wait for its library instead of compiling it again.
        with open(cache_dir / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not model_file.exists():
                scratch = model_file.with_suffix(f".{os.getpid()}.tmp")
                scratch.write_text(text)
                scratch.replace(model_file)
            compiled = lleaves.Model(model_file=str(model_file))
            compiled.compile(cache=str(library))
        return compiled
    except Exception:  # a model lleaves cannot compile is served by LightGBM itself
        logger.exception("Could not compile the LightGBM model; serving it with LightGBM")
        return None


def matrix_from_rows(rows: Any, width: int) -> np.ndarray | None:
    """Rows of numbers (or a flat row-major list) as a float64 matrix; None when they are anything else."""
    try:
        matrix = np.array(rows)
    except (ValueError, TypeError, OverflowError):
        return None
    # Numbers only: strings ("1.5"), nulls and booleans go the strict general path, which decides.
    if matrix.dtype.kind not in "iuf":
        return None
    matrix = matrix.astype(np.float64, copy=False)
    if matrix.ndim == 1 and width and matrix.size % width == 0:
        matrix = matrix.reshape(-1, width)
    return matrix if matrix.ndim == 2 else None
