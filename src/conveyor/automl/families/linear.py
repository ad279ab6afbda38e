"""Linear models: L2-regularised logistic regression and ridge regression on scaled, encoded features."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from optuna.distributions import BaseDistribution, FloatDistribution
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline

from conveyor.automl.families.base import ModelFamily, TabularEncoder, target_type
from conveyor.domain.training import Task

MAX_ITERATIONS = 500


class LinearFamily(ModelFamily):
    name = "linear"
    relative_cost = 0.5

    def search_space(self, task: Task) -> dict[str, BaseDistribution]:
        if task is Task.REGRESSION:
            return {"alpha": FloatDistribution(1e-3, 1e3, log=True)}
        return {"C": FloatDistribution(1e-3, 1e2, log=True)}

    def portfolio(self, task: Task) -> list[dict[str, Any]]:
        if task is Task.REGRESSION:
            return [{"alpha": 1.0}, {"alpha": 30.0}]
        return [{"C": 1.0}, {"C": 0.05}]

    def make_estimator(self, params: dict[str, Any], *, task: Task, seed: int, n_jobs: int) -> BaseEstimator:
        if task is Task.REGRESSION:
            model = Ridge(random_state=seed, **params)
        else:
            model = LogisticRegression(max_iter=MAX_ITERATIONS, random_state=seed, **params)
        return make_pipeline(TabularEncoder(target_type(task), scale=True, seed=seed), model)

    def fit(
        self,
        estimator: BaseEstimator,
        X: pd.DataFrame,
        y: np.ndarray,
        *,
        validation: tuple[pd.DataFrame, np.ndarray] | None = None,
        stop_at: float | None = None,
    ) -> dict[str, Any]:
        with warnings.catch_warnings():
            # an unconverged fit after MAX_ITERATIONS is still a usable model; CV scores say how good
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X, y)
        return {}
