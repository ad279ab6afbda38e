"""scikit-learn's histogram gradient boosting: native categoricals and missing values, internal early stopping."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

from conveyor.automl.families.base import ModelFamily, use_threads
from conveyor.domain.training import Task

MAX_ITERATIONS = 1000
ITERATIONS_PER_STEP = 50
# the most levels scikit-learn's native categorical splits take; columns with more become their codes
MAX_NATIVE_LEVELS = 250

SEARCH_SPACE: dict[str, BaseDistribution] = {
    "learning_rate": FloatDistribution(0.01, 0.3, log=True),
    "max_leaf_nodes": IntDistribution(8, 256, log=True),
    "min_samples_leaf": IntDistribution(2, 100, log=True),
    "l2_regularization": FloatDistribution(1e-3, 10.0, log=True),
}

PORTFOLIO: list[dict[str, Any]] = [
    {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20, "l2_regularization": 1e-3},
    {"learning_rate": 0.05, "max_leaf_nodes": 64, "min_samples_leaf": 10, "l2_regularization": 1.0},
]


def codes_for_many_levels(X: pd.DataFrame) -> pd.DataFrame:
    """Category columns with more levels than native splits take, as their codes (missing stays missing)."""
    many = [
        c
        for c in X.columns
        if isinstance(X[c].dtype, pd.CategoricalDtype) and len(X[c].cat.categories) > MAX_NATIVE_LEVELS
    ]
    if not many:
        return X
    X = X.copy()
    for column in many:
        codes = X[column].cat.codes.astype(float)
        X[column] = codes.where(codes >= 0, np.nan)
    return X


class HistGradientBoostingFamily(ModelFamily):
    name = "hist_gradient_boosting"
    relative_cost = 1.5
    stops_on_time = True
    space = SEARCH_SPACE
    configs = PORTFOLIO

    def balanced(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "class_weight": "balanced"}

    def make_estimator(self, params: dict[str, Any], *, task: Task, seed: int, n_jobs: int) -> BaseEstimator:
        boosting = HistGradientBoostingRegressor if task is Task.REGRESSION else HistGradientBoostingClassifier
        return make_pipeline(
            FunctionTransformer(codes_for_many_levels),
            boosting(
                max_iter=MAX_ITERATIONS,
                early_stopping=True,
                n_iter_no_change=20,
                validation_fraction=0.1,
                categorical_features="from_dtype",
                random_state=seed,
                **params,
            ),
        )

    def fit(
        self,
        estimator: BaseEstimator,
        X: pd.DataFrame,
        y: np.ndarray,
        *,
        validation: tuple[pd.DataFrame, np.ndarray] | None = None,
        stop_at: float | None = None,
        patience: int | None = None,
    ) -> dict[str, Any]:
        threads = None if use_threads(len(X)) else 1
        with threadpool_limits(limits=threads, user_api="openmp"):
            if stop_at is None:
                estimator.fit(X, y)
                return {"iterations": int(estimator[-1].n_iter_)}
            # boosting rounds in chunks, warm-started, so a fit stops on time; early stopping still ends it
            encoded = estimator[:-1].fit_transform(X, y)
            boosting = estimator[-1]
            boosting.set_params(warm_start=True, max_iter=ITERATIONS_PER_STEP)
            while True:
                boosting.fit(encoded, y)
                stopped_early = boosting.n_iter_ < boosting.max_iter
                if stopped_early or boosting.max_iter >= MAX_ITERATIONS or time.monotonic() >= stop_at:
                    break
                boosting.set_params(max_iter=boosting.max_iter + ITERATIONS_PER_STEP)
            boosting.set_params(warm_start=False)
        return {"iterations": int(boosting.n_iter_)}
