"""The numeric fast path: a LightGBM model scored on float64 arrays, and JSON bodies decoded straight into them.

A model qualifies when its signature is all numeric, its native model is a LightGBM booster (or a
scikit-learn LightGBM estimator) whose features are the signature's columns in the same order, and it
learnt no pandas categories (those need a DataFrame to map the category codes). Everything else takes
the general path through a validated DataFrame and the pyfunc predictor; answers are the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conveyor.serving.signature import InputSignature

__all__ = ["ArrayPredictor", "array_predictor", "matrix_from_rows"]

_NUMERIC_TYPES = frozenset({"double", "float", "long", "integer"})
_INT_TYPES = frozenset({"long", "integer"})
_INT_LIMIT = 2.0**63


class ArrayPredictor:
    """Predict (and explain) on a float64 matrix whose columns are the signature's, in order."""

    def __init__(self, native: Any, signature: InputSignature) -> None:
        self.native = native
        self._is_booster = type(native).__name__ == "Booster"
        columns = signature.columns or []
        self.width = len(columns)
        self._int_columns = np.array([c.type in _INT_TYPES for c in columns], dtype=bool)
        self._any_int = bool(self._int_columns.any())
        self._all_int = bool(self._int_columns.all())
        # One OpenMP thread: a request of a few rows pays only thread start-up for more, and the
        # workers would fight over the cores (the booster keeps its training `num_threads`).
        self._kwargs: dict[str, Any] = {"num_threads": 1} if self._is_booster else {}

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        return np.asarray(self.native.predict(matrix, **self._kwargs))

    def explain(self, matrix: np.ndarray) -> np.ndarray:
        """Per-row feature contributions (SHAP values from the trees), the bias term last."""
        return np.asarray(self.native.predict(matrix, pred_contrib=True, **self._kwargs))

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


def array_predictor(native: Any, flavor: str | None, signature: InputSignature) -> ArrayPredictor | None:
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
    return ArrayPredictor(native, signature)


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
