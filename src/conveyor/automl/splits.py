"""Validation splits sized to the data: 5 folds when small, 3 when medium, one holdout when large."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit

from conveyor.domain.training import Task

SMALL_ROWS = 10_000
LARGE_ROWS = 200_000
HOLDOUT_SHARE = 0.2


def make_splits(y: np.ndarray, task: Task, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, valid) row positions, stratified for classification, shuffled with `seed`."""
    n_rows = len(y)
    classification = task is not Task.REGRESSION
    if n_rows > LARGE_ROWS:
        holdout = StratifiedShuffleSplit if classification else ShuffleSplit
        splitter = holdout(n_splits=1, test_size=HOLDOUT_SHARE, random_state=seed)
    else:
        folds = 5 if n_rows <= SMALL_ROWS else 3
        if classification:
            # every class must appear in every fold's validation part
            folds = max(2, min(folds, int(np.bincount(y).min())))
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        else:
            splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros((n_rows, 1)), y))
