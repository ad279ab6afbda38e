"""CatBoost ordered boosting: native categoricals (ordered target statistics), early stopping on the fold."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from sklearn.base import BaseEstimator

from conveyor.automl.families.base import ModelFamily, use_threads
from conveyor.domain.training import Task

MAX_ROUNDS = 5000
EARLY_STOPPING_ROUNDS = 50
REFIT_ROUNDS_FACTOR = 1.1
MULTITHREAD_MIN_ROWS = 20_000
MISSING_CATEGORY = "__missing__"

SEARCH_SPACE: dict[str, BaseDistribution] = {
    "learning_rate": FloatDistribution(0.01, 0.3, log=True),
    "depth": IntDistribution(4, 10),
    "l2_leaf_reg": FloatDistribution(0.5, 20.0, log=True),
    "random_strength": FloatDistribution(0.1, 10.0, log=True),
}

# CatBoost's default depth and regularisation at a learning rate its early stopping can afford in a
# short budget, then AutoGluon's deeper variant
PORTFOLIO: list[dict[str, Any]] = [
    {"learning_rate": 0.08, "depth": 6, "l2_leaf_reg": 3.0, "random_strength": 1.0},
    {"learning_rate": 0.05, "depth": 8, "l2_leaf_reg": 5.0, "random_strength": 1.0},
]


class _StopAt:
    """A CatBoost callback that ends training once `deadline` has passed (kept out of the fitted model)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def after_iteration(self, info: Any) -> bool:
        return time.monotonic() < self.deadline


class CatBoostModel(BaseEstimator):
    """CatBoost behind the scikit-learn contract, fed category columns as text (missing as its own level)."""

    def __init__(self, task: str = "binary", params: dict[str, Any] | None = None, seed: int = 0, n_jobs: int = 1):
        self.task = task
        self.params = params
        self.seed = seed
        self.n_jobs = n_jobs

    @staticmethod
    def _frame(X: pd.DataFrame) -> pd.DataFrame:
        categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        if not categorical:
            return X
        X = X.copy()
        for column in categorical:
            X[column] = X[column].astype(object).where(X[column].notna(), MISSING_CATEGORY).astype(str)
        return X

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        *,
        validation: tuple[pd.DataFrame, np.ndarray] | None = None,
        stop_at: float | None = None,
        patience: int | None = None,
    ) -> CatBoostModel:
        import catboost

        model_class = catboost.CatBoostRegressor if self.task == Task.REGRESSION.value else catboost.CatBoostClassifier
        settings = {"iterations": MAX_ROUNDS, **(self.params or {})}
        loss = {"binary": "Logloss", "multiclass": "MultiClass", "regression": "RMSE"}[self.task]
        categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        self.model_ = model_class(
            loss_function=loss,
            random_seed=self.seed,
            thread_count=self.n_jobs if use_threads(len(X), min_rows=MULTITHREAD_MIN_ROWS) else 1,
            verbose=False,
            allow_writing_files=False,
            cat_features=categorical,
            **settings,
        )
        extra: dict[str, Any] = {}
        if validation is not None:
            extra = {
                "eval_set": (self._frame(validation[0]), validation[1]),
                "early_stopping_rounds": patience or EARLY_STOPPING_ROUNDS,
                "use_best_model": True,
            }
        callbacks = None if stop_at is None else [_StopAt(stop_at)]
        self.model_.fit(self._frame(X), y, callbacks=callbacks, **extra)
        if self.task != Task.REGRESSION.value:
            self.classes_ = np.asarray(self.model_.classes_, dtype=int)
        self.rounds_ = int(self.model_.tree_count_)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        prediction = self.model_.predict(self._frame(X))
        return np.asarray(prediction, dtype=float if self.task == Task.REGRESSION.value else int).ravel()

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(self._frame(X)), dtype=float)


class CatBoostFamily(ModelFamily):
    name = "catboost"
    relative_cost = 4.0
    stops_on_time = True
    space = SEARCH_SPACE
    configs = PORTFOLIO

    def balanced(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "auto_class_weights": "Balanced"}

    def make_estimator(self, params: dict[str, Any], *, task: Task, seed: int, n_jobs: int) -> BaseEstimator:
        return CatBoostModel(task=task.value, params=dict(params), seed=seed, n_jobs=n_jobs)

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
        estimator.fit(X, y, validation=validation, stop_at=stop_at, patience=patience)
        return {"best_iteration": estimator.rounds_}

    def refit_params(self, params: dict[str, Any], fit_facts: list[dict[str, Any]]) -> dict[str, Any]:
        rounds = [facts["best_iteration"] for facts in fit_facts if "best_iteration" in facts]
        if not rounds:
            return dict(params)
        return {**params, "iterations": max(1, round(float(np.mean(rounds)) * REFIT_ROUNDS_FACTOR))}
