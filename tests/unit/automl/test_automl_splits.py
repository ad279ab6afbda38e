"""Validation splits: rare multiclass classes are trained on in every split and validated in none."""

from __future__ import annotations

import numpy as np
import pandas as pd

from conveyor.automl import run_automl
from conveyor.automl.splits import make_splits
from conveyor.domain.training import Task


def test_rows_of_a_rare_class_are_in_every_training_part_and_no_validation_part(wine: pd.DataFrame) -> None:
    y = wine["target"].to_numpy().copy()
    y[[5, 80]] = 3
    splits = make_splits(y, Task.MULTICLASS, seed=0)
    assert len(splits) == 5
    for train, valid in splits:
        assert {5, 80} <= set(train)
        assert not {5, 80} & set(valid)
        assert set(y[valid]) == {0, 1, 2}
    validated = np.sort(np.concatenate([valid for _, valid in splits]))
    np.testing.assert_array_equal(validated, np.setdiff1d(np.arange(len(y)), [5, 80]))


def test_rare_classes_stay_in_validation_when_fewer_than_two_classes_would_be_left() -> None:
    y = np.repeat(np.arange(12), 4)
    y[:8] = 12
    splits = make_splits(y, Task.MULTICLASS, seed=0)
    validated = np.concatenate([valid for _, valid in splits])
    assert sorted(validated) == list(range(len(y)))


def test_the_model_still_predicts_a_rare_class_it_never_validated(wine: pd.DataFrame) -> None:
    frame = wine.copy()
    frame.loc[frame.index[[5, 80]], "target"] = 9
    result = run_automl(frame, "target", max_trials=1, families=["lightgbm"])
    assert set(np.unique(result.oof_y)) == {0, 1, 2}
    predicted = result.model.predict_frame(frame.drop(columns=["target"]).iloc[[5, 80]])
    assert (predicted["9"] > 0).all()
