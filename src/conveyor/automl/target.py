"""Check and encode the target column: drop rows without a target, refuse tables that cannot be learned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from conveyor.automl.tasks import detect_task
from conveyor.domain.training import Task
from conveyor.errors import InvalidTrainingData

MIN_ROWS = 20
# each class needs two rows at least, so every cross-validation split can train and score it
MIN_ROWS_PER_CLASS = 2


@dataclass(frozen=True)
class PreparedTarget:
    """The feature frame, the encoded target (class indices or floats) and what was learned about it."""

    features: pd.DataFrame
    y: np.ndarray
    task: Task
    classes: list[Any]
    target_dtype: Any
    warnings: list[str]
    # labels too rare to learn, dropped with their rows; predictions still give them a (zero) probability
    dropped_classes: list[Any] = field(default_factory=list)


def prepare_target(frame: pd.DataFrame, target: str, task: Task | None) -> PreparedTarget:
    """Split `frame` into features and an encoded target, raising InvalidTrainingData when it cannot be learned."""
    if target not in frame.columns:
        raise InvalidTrainingData(
            f"Target column {target!r} is not in the table.",
            hint=f"Choose one of: {', '.join(map(str, frame.columns))}.",
        )
    warnings: list[str] = []
    present = frame[target].notna()
    if not present.all():
        dropped = int((~present).sum())
        warnings.append(f"Dropped {dropped} rows whose target {target!r} is missing.")
        frame = frame.loc[present]
    values = frame[target]
    features = frame.drop(columns=[target])
    task = Task(task) if task is not None else detect_task(values)
    if task is Task.REGRESSION:
        y = _numeric_target(values, target)
        if np.unique(y).size < 2:
            raise InvalidTrainingData(
                f"Target {target!r} has a single value; there is nothing to learn.",
                hint="Choose a target that varies.",
            )
        _check_rows(len(y), target)
        return PreparedTarget(features, y, task, [], values.dtype, warnings)

    counts = values.value_counts()
    rare = counts[counts < MIN_ROWS_PER_CLASS]
    dropped_classes: list[Any] = []
    if len(rare) and len(counts) - len(rare) >= 2:
        keep = ~values.isin(rare.index)
        warnings.append(
            f"Dropped {int((~keep).sum())} rows of target classes seen fewer than {MIN_ROWS_PER_CLASS} times: "
            f"{', '.join(map(repr, rare.index.tolist()[:10]))}."
        )
        values, features = values[keep], features[keep]
        counts = counts.drop(rare.index)
        dropped_classes = _sorted_labels(rare.index.tolist())
    if len(counts) < 2:
        raise InvalidTrainingData(
            f"Target {target!r} has a single class ({counts.index.tolist()[0]!r}); a classifier needs two at least.",
            hint="Choose another target, or add rows of the other classes.",
        )
    if task is Task.BINARY and len(counts) > 2:
        raise InvalidTrainingData(
            f"Target {target!r} has {len(counts)} classes, not the two a binary task needs.",
            hint="Use the multiclass task.",
        )
    _check_rows(len(values), target)
    classes = _sorted_labels(counts.index.tolist())
    # each distinct label is looked up once: mapping kddcup99's 395,216 labels one by one took 0.25 s
    codes, labels = pd.factorize(values)
    y = pd.Index(classes).get_indexer(labels)[codes]
    return PreparedTarget(features, y, task, classes, values.dtype, warnings, dropped_classes)


def _sorted_labels(labels: list[Any]) -> list[Any]:
    return sorted(labels, key=lambda label: (str(type(label)), label))


def _numeric_target(values: pd.Series, target: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any():
        bad = values[numbers.isna()].iloc[0]
        raise InvalidTrainingData(
            f"Target {target!r} holds {bad!r}, which is not a number; regression needs a numeric target.",
            hint="Use a classification task, or clean the target column.",
        )
    return numbers.to_numpy(dtype=float)


def _check_rows(n_rows: int, target: str) -> None:
    if n_rows < MIN_ROWS:
        raise InvalidTrainingData(
            f"Only {n_rows} rows have a target {target!r}; training needs {MIN_ROWS} at least.",
            hint="Add rows, or fill in the missing target values.",
        )
