"""k-nearest neighbours on scaled, encoded features: a different inductive bias that helps ensembles."""

from __future__ import annotations

from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution
from sklearn.base import BaseEstimator
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline

from conveyor.automl.families.base import ModelFamily, TabularEncoder, target_type
from conveyor.domain.training import Task


class KNeighborsFamily(ModelFamily):
    name = "knn"
    relative_cost = 1.0
    # every prediction compares with every training row: beyond this the family is left out
    max_rows = 40_000

    def search_space(self, task: Task) -> dict[str, BaseDistribution]:
        return {
            "n_neighbors": IntDistribution(3, 100, log=True),
            "weights": CategoricalDistribution(["uniform", "distance"]),
        }

    def portfolio(self, task: Task) -> list[dict[str, Any]]:
        return [{"n_neighbors": 15, "weights": "distance"}]

    def make_estimator(self, params: dict[str, Any], *, task: Task, seed: int, n_jobs: int) -> BaseEstimator:
        neighbours = KNeighborsRegressor if task is Task.REGRESSION else KNeighborsClassifier
        return make_pipeline(
            TabularEncoder(target_type(task), scale=True, seed=seed), neighbours(n_jobs=n_jobs, **params)
        )
