"""Random forests on encoded features, grown in chunks so a fit can stop at the time limit."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.pipeline import Pipeline, make_pipeline

from conveyor.automl.families.base import ModelFamily, TabularEncoder, target_type
from conveyor.domain.training import Task

# trees added per step; the time limit is checked between steps
TREES_PER_STEP = 50


class ForestFamily(ModelFamily):
    """A bagged-trees family; subclasses name their scikit-learn classifier and regressor."""

    classifier: ClassVar[type[BaseEstimator]]
    stops_on_time = True
    regressor: ClassVar[type[BaseEstimator]]

    def balanced(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "class_weight": "balanced"}

    def search_space(self, task: Task) -> dict[str, BaseDistribution]:
        return {
            "n_estimators": IntDistribution(100, 500, step=50),
            "max_features": CategoricalDistribution(["sqrt", "log2", 0.3, 0.5, 0.7, 1.0]),
            "min_samples_leaf": IntDistribution(1, 32, log=True),
        }

    def portfolio(self, task: Task) -> list[dict[str, Any]]:
        default_features = 1.0 if task is Task.REGRESSION else "sqrt"
        return [
            {"n_estimators": 300, "max_features": default_features, "min_samples_leaf": 1},
            {"n_estimators": 300, "max_features": 0.5, "min_samples_leaf": 4},
        ]

    def make_estimator(self, params: dict[str, Any], *, task: Task, seed: int, n_jobs: int) -> BaseEstimator:
        forest = self.regressor if task is Task.REGRESSION else self.classifier
        return make_pipeline(
            TabularEncoder(target_type(task), seed=seed), forest(random_state=seed, n_jobs=n_jobs, **params)
        )

    def fit(
        self,
        estimator: Pipeline,
        X: pd.DataFrame,
        y: np.ndarray,
        *,
        validation: tuple[pd.DataFrame, np.ndarray] | None = None,
        stop_at: float | None = None,
        patience: int | None = None,
    ) -> dict[str, Any]:
        if stop_at is None:
            estimator.fit(X, y)
            return {}
        encoded = estimator[:-1].fit_transform(X, y)
        forest = estimator[-1]
        target = forest.n_estimators
        # warm start draws the same tree seeds as a single fit, so stopping early keeps a prefix of that forest
        forest.set_params(warm_start=True, n_estimators=min(TREES_PER_STEP, target))
        forest.fit(encoded, y)
        while forest.n_estimators < target and time.monotonic() < stop_at:
            forest.set_params(n_estimators=min(forest.n_estimators + TREES_PER_STEP, target))
            forest.fit(encoded, y)
        forest.set_params(warm_start=False)
        return {"trees": len(forest.estimators_)}


class RandomForestFamily(ForestFamily):
    name = "random_forest"
    relative_cost = 3.0
    classifier = RandomForestClassifier
    regressor = RandomForestRegressor
