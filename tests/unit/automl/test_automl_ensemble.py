"""Greedy ensemble selection over out-of-fold predictions: never worse than its best member, a usable model."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd

from conveyor.automl import run_automl
from conveyor.automl.metrics import METRICS
from conveyor.automl.model import TemperatureScaled, WeightedEnsemble, apply_temperature

FAST_FAMILIES = ["lightgbm", "linear", "knn"]


def test_ensemble_row_beats_or_equals_its_best_member(breast_cancer: pd.DataFrame) -> None:
    result = run_automl(breast_cancer, "target", max_trials=4, families=FAST_FAMILIES, seed=0)
    ensembles = [t for t in result.leaderboard if t.family == "ensemble"]
    assert len(ensembles) == 1
    ensemble = ensembles[0]
    singles = [t for t in result.leaderboard if t.family != "ensemble" and t.status == "ok"]
    members = [t for t in singles if f"trial-{t.number:03d}-{t.family}" in ensemble.params]
    assert len(members) >= 2
    assert abs(sum(ensemble.params.values()) - 1.0) < 1e-3
    # selection starts from the best model, so the blend is at least as good on the same folds
    assert ensemble.cv_mean >= max(t.cv_mean for t in members) - 1e-9
    if ensemble.cv_mean > max(t.cv_mean for t in singles):
        assert result.best.family == "ensemble"
        assert isinstance(result.model.estimator, WeightedEnsemble)
    restored = pickle.loads(pickle.dumps(result.model))
    predictions = restored.predict_frame(breast_cancer.drop(columns=["target"]).head(20))
    np.testing.assert_allclose(predictions[["0", "1"]].sum(axis=1), 1.0, rtol=1e-6)


def test_regression_ensemble_is_deterministic(diabetes: pd.DataFrame) -> None:
    runs = [run_automl(diabetes, "target", max_trials=3, families=FAST_FAMILIES, seed=1) for _ in range(2)]
    assert [(t.family, t.cv_mean, t.params) for t in runs[0].leaderboard] == [
        (t.family, t.cv_mean, t.params) for t in runs[1].leaderboard
    ]
    rows = diabetes.drop(columns=["target"]).head(10)
    pd.testing.assert_frame_equal(runs[0].model.predict_frame(rows), runs[1].model.predict_frame(rows))


def test_a_single_trial_makes_no_ensemble(breast_cancer: pd.DataFrame) -> None:
    result = run_automl(breast_cancer, "target", max_trials=1, families=["lightgbm"])
    assert [t.family for t in result.leaderboard] == ["lightgbm"]


def test_log_loss_models_are_calibrated_on_out_of_fold_predictions(wine: pd.DataFrame) -> None:
    result = run_automl(wine, "target", max_trials=3, families=FAST_FAMILIES, seed=0)
    model = result.model
    assert isinstance(model.estimator, TemperatureScaled)
    temperature = model.estimator.temperature
    assert model.params["temperature"] == round(temperature, 4)
    uncalibrated = apply_temperature(result.oof_prediction, 1 / temperature)
    log_loss = METRICS["log_loss"].score
    assert log_loss(result.oof_y, result.oof_prediction) < log_loss(result.oof_y, uncalibrated)
    rows = wine.drop(columns=["target"])
    features = model.preprocessor.transform(rows)
    proba = model.predict_frame(rows)[["0", "1", "2"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    inner = model.estimator.estimator.predict_proba(features)
    np.testing.assert_array_equal(proba.argmax(axis=1), inner.argmax(axis=1))


def test_label_metrics_are_not_calibrated(wine: pd.DataFrame) -> None:
    result = run_automl(wine, "target", metric="accuracy", max_trials=3, families=FAST_FAMILIES, seed=0)
    assert not isinstance(result.model.estimator, TemperatureScaled)
