"""Targets that cannot be learned are refused; rows without a target are dropped with a warning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conveyor.automl import run_automl
from conveyor.errors import InvalidTrainingData


def test_missing_target_column_lists_the_columns(breast_cancer: pd.DataFrame) -> None:
    with pytest.raises(InvalidTrainingData, match="churn") as error:
        run_automl(breast_cancer, "churn", max_trials=1)
    assert "mean radius" in error.value.hint


def test_constant_targets_are_refused(breast_cancer: pd.DataFrame, diabetes: pd.DataFrame) -> None:
    with pytest.raises(InvalidTrainingData, match="single class"):
        run_automl(breast_cancer.assign(target=1), "target", max_trials=1)
    with pytest.raises(InvalidTrainingData, match="single value"):
        run_automl(diabetes.assign(target=3.5), "target", task="regression", max_trials=1)


def test_mostly_missing_target_leaves_too_few_rows(breast_cancer: pd.DataFrame) -> None:
    frame = breast_cancer.astype({"target": float})
    frame.loc[frame.index.difference(frame.index[::60]), "target"] = np.nan
    with pytest.raises(InvalidTrainingData, match="Only 10 rows"):
        run_automl(frame, "target", max_trials=1)


def test_rows_without_target_are_dropped_with_a_warning(breast_cancer: pd.DataFrame) -> None:
    frame = breast_cancer.astype({"target": float})
    frame.loc[frame.index[:133], "target"] = np.nan
    result = run_automl(frame, "target", max_trials=1, families=["linear"])
    assert "Dropped 133 rows whose target 'target' is missing." in result.warnings
    assert result.model.classes_ == [0.0, 1.0]


def test_a_leaking_feature_is_dropped_with_a_warning(breast_cancer: pd.DataFrame) -> None:
    frame = breast_cancer.assign(diagnosis_code=breast_cancer["target"].map({0: "M", 1: "B"}))
    result = run_automl(frame, "target", max_trials=1, families=["linear"])
    assert any("'diagnosis_code'" in warning and "predicts the target" in warning for warning in result.warnings)
    assert "diagnosis_code" not in dict(result.model.input_columns)


def test_a_class_too_rare_to_learn_still_gets_a_zero_probability_column(wine: pd.DataFrame) -> None:
    frame = wine.copy()
    frame.loc[frame.index[0], "target"] = 7
    result = run_automl(frame, "target", max_trials=1, families=["linear"])
    assert any("seen fewer than 2 times: 7" in warning for warning in result.warnings)
    predicted = result.model.predict_frame(frame.drop(columns=["target"]))
    assert {"0", "1", "2", "7"} <= set(predicted.columns)
    assert (predicted["7"] == 0.0).all()
    assert np.allclose(predicted[["0", "1", "2", "7"]].sum(axis=1), 1.0)


def test_a_class_rarer_than_the_folds_keeps_five_folds(wine: pd.DataFrame) -> None:
    frame = wine.copy()
    frame.loc[frame.index[:2], "target"] = 9
    result = run_automl(frame, "target", max_trials=1, families=["linear"])
    assert result.leaderboard[0].folds == 5
    assert "9" in result.model.predict_frame(frame.drop(columns=["target"])).columns


def test_a_model_pickled_before_dropped_classes_existed_still_predicts(wine: pd.DataFrame) -> None:
    import pickle

    model = run_automl(wine, "target", max_trials=1, families=["linear"]).model
    older = pickle.loads(pickle.dumps(model))
    del older.__dict__["dropped_classes"]
    reloaded = pickle.loads(pickle.dumps(older))
    rows = wine.drop(columns=["target"])
    pd.testing.assert_frame_equal(reloaded.predict_frame(rows), model.predict_frame(rows))
