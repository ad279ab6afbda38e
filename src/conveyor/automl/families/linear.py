"""Linear models: L2-regularised logistic regression and ridge regression on scaled, encoded features."""

from __future__ import annotations

import time
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
ITERATIONS_PER_STEP = 5


class LinearFamily(ModelFamily):
    name = "linear"
    relative_cost = 0.5
    stops_on_time = True

    def balanced(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "class_weight": "balanced"}

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
        patience: int | None = None,
    ) -> dict[str, Any]:
        with warnings.catch_warnings():
            # an unconverged fit after MAX_ITERATIONS is still a usable model; CV scores say how good
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = estimator[-1]
            if stop_at is None or not isinstance(model, LogisticRegression):
                estimator.fit(X, y)
                return {}
            # solver steps in chunks, warm-started, so a fit on many rows and classes stops on time
            encoded = estimator[:-1].fit_transform(X, y)
            done = 0
            model.set_params(warm_start=True, max_iter=ITERATIONS_PER_STEP)
            while True:
                model.fit(encoded, y)
                done += ITERATIONS_PER_STEP
                converged = int(np.max(model.n_iter_)) < ITERATIONS_PER_STEP
                if converged or done >= MAX_ITERATIONS or time.monotonic() >= stop_at:
                    break
            model.set_params(warm_start=False, max_iter=MAX_ITERATIONS)
        return {"iterations": done}
