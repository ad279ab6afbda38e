"""The fold ensemble (used when no time is left to refit) behaves like a classifier and a regressor."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conveyor.automl.model import FoldEnsemble, class_probabilities


def test_classification_ensemble_averages_probabilities_over_every_class(wine: pd.DataFrame) -> None:
    X, y = wine.drop(columns=["target"]), wine["target"].to_numpy()
    first = make_pipeline(StandardScaler(), LogisticRegression()).fit(X.iloc[::2], y[::2])
    second = make_pipeline(StandardScaler(), LogisticRegression()).fit(X.iloc[1::2], y[1::2])
    ensemble = FoldEnsemble([first, second], n_classes=3)
    proba = class_probabilities(ensemble, X, 3)
    expected = (first.predict_proba(X) + second.predict_proba(X)) / 2
    np.testing.assert_allclose(proba, expected)
    assert list(ensemble.classes_) == [0, 1, 2]
    np.testing.assert_array_equal(ensemble.predict(X), expected.argmax(axis=1))


def test_regression_ensemble_averages_predictions(diabetes: pd.DataFrame) -> None:
    X, y = diabetes.drop(columns=["target"]), diabetes["target"].to_numpy()
    members = [LinearRegression().fit(X.iloc[i::3], y[i::3]) for i in range(3)]
    ensemble = FoldEnsemble(members, n_classes=None)
    np.testing.assert_allclose(ensemble.predict(X), np.mean([m.predict(X) for m in members], axis=0))
