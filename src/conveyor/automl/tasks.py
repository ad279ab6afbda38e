"""Detect the learning task from a target column and pick its default metric."""

from __future__ import annotations

import numpy as np
import pandas as pd

from conveyor.domain.training import Task

# An integer-valued target with at most this many distinct values is read as class labels
# (ratings, grades, codes); more distinct values read as a quantity to regress.
MAX_CLASSES_FOR_INTEGER_TARGET = 20

_DEFAULT_METRICS = {Task.BINARY: "roc_auc", Task.MULTICLASS: "log_loss", Task.REGRESSION: "rmse"}


def detect_task(y: pd.Series) -> Task:
    """The task a target implies: two labels are binary, few labels or text multiclass, many numbers regression."""
    values = y.dropna()
    distinct = values.nunique()
    if distinct <= 2 or pd.api.types.is_bool_dtype(values):
        return Task.BINARY
    if not pd.api.types.is_numeric_dtype(values):
        return Task.MULTICLASS
    numbers = values.to_numpy(dtype=float)
    integer_valued = bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)))
    if integer_valued and distinct <= MAX_CLASSES_FOR_INTEGER_TARGET:
        return Task.MULTICLASS
    return Task.REGRESSION


def default_metric(task: Task) -> str:
    """The metric optimised when the user names none: roc_auc, log_loss or rmse."""
    return _DEFAULT_METRICS[Task(task)]
