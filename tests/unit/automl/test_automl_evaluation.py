"""Scoring a fitted model on held-out rows agrees with scikit-learn's metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_squared_error, roc_auc_score

from conveyor.automl import run_automl, score_model
from conveyor.errors import InvalidTrainingData


def test_binary_holdout_auc_matches_sklearn(adult: pd.DataFrame) -> None:
    train, held = adult.iloc[:2400], adult.iloc[2400:]
    result = run_automl(train, "income", max_trials=1, families=["lightgbm"])
    proba = result.model.predict_frame(held.drop(columns=["income"]))[">50K"]
    expected = roc_auc_score(held["income"] == ">50K", proba)
    assert score_model(result.model, held, "income", "roc_auc") == pytest.approx(expected)


def test_regression_holdout_rmse_matches_sklearn(diabetes: pd.DataFrame) -> None:
    train, held = diabetes.iloc[:350], diabetes.iloc[350:]
    result = run_automl(train, "target", max_trials=1, families=["linear"])
    predicted = result.model.predict_frame(held.drop(columns=["target"]))["prediction"]
    expected = np.sqrt(mean_squared_error(held["target"], predicted))
    assert score_model(result.model, held, "target", "rmse") == pytest.approx(expected)


def test_holdout_without_known_targets_is_refused(adult: pd.DataFrame) -> None:
    result = run_automl(adult.iloc[:1000], "income", max_trials=1, families=["lightgbm"])
    unlabelled = adult.iloc[1000:1010].assign(income=None)
    with pytest.raises(InvalidTrainingData, match="nothing to score"):
        score_model(result.model, unlabelled, "income", "roc_auc")
