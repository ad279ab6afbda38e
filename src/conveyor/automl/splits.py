"""Validation splits sized to the data: 5 folds when small, 3 when medium, one holdout when large.

On large data the holdout's training part is also capped, so a trial takes seconds, not minutes; the
final model is refitted on every row when time allows.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit

from conveyor.domain.training import Task

SMALL_ROWS = 10_000
LARGE_ROWS = 200_000
HOLDOUT_SHARE = 0.2
# the most rows a trial trains and validates on once the data is large
MAX_TRAIN_ROWS = 100_000
MAX_VALID_ROWS = 40_000
# A multiclass class with fewer rows than this is in every training part and in no validation part: its one
# or two validated rows, predicted from even fewer training rows, would decide a log loss by chance. On
# hypothyroid (3,017 rows, a class of 2) those 2 rows carried a quarter of the out-of-fold log loss.
RARE_CLASS_ROWS = 5


def make_splits(y: np.ndarray, task: Task, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, valid) row positions, stratified for classification, shuffled with `seed`."""
    rare = _rare_class_rows(y) if task is Task.MULTICLASS else np.empty(0, dtype=int)
    is_common = np.ones(len(y), dtype=bool)
    is_common[rare] = False
    common = np.flatnonzero(is_common)
    return [
        (np.sort(np.concatenate([common[train], rare])), common[valid])
        for train, valid in _split(y[common], task, seed)
    ]


def _rare_class_rows(y: np.ndarray) -> np.ndarray:
    """Positions of the rows of classes under RARE_CLASS_ROWS, unless fewer than two classes would be left."""
    counts = np.bincount(y)
    rare_classes = np.flatnonzero((counts > 0) & (counts < RARE_CLASS_ROWS))
    if np.count_nonzero(counts >= RARE_CLASS_ROWS) < 2:
        return np.empty(0, dtype=int)
    return np.flatnonzero(np.isin(y, rare_classes))


def _split(y: np.ndarray, task: Task, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    n_rows = len(y)
    classification = task is not Task.REGRESSION
    if n_rows > LARGE_ROWS:
        holdout = StratifiedShuffleSplit if classification else ShuffleSplit
        test_size = min(MAX_VALID_ROWS, round(HOLDOUT_SHARE * n_rows))
        train_size = min(MAX_TRAIN_ROWS, n_rows - test_size)
        splitter = holdout(n_splits=1, train_size=train_size, test_size=test_size, random_state=seed)
        return list(splitter.split(np.zeros((n_rows, 1)), y))
    folds = 5 if n_rows <= SMALL_ROWS else 3
    if not classification:
        return list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros((n_rows, 1))))
    if task is Task.BINARY:
        # roc_auc needs both classes in every fold's validation part
        folds = max(2, min(folds, int(np.bincount(y).min())))
    # A multiclass class rarer than the folds (when too few classes are common to set the rare ones aside) is
    # missing from some validation parts, which log loss and the per-class metrics handle; every training part
    # still holds it (the target check keeps two rows at least). Fewer folds instead would train every trial
    # on half the rows because of one or two rows.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class in y has only", category=UserWarning)
        return list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros((n_rows, 1)), y))
