"""XGBoost gradient-boosted trees: histogram method, native categoricals, early stopping on the fold."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from sklearn.base import BaseEstimator, is_classifier

from conveyor.automl.families.base import ModelFamily, use_threads
from conveyor.domain.training import Task

MAX_ROUNDS = 5000
EARLY_STOPPING_ROUNDS = 50
REFIT_ROUNDS_FACTOR = 1.1

SEARCH_SPACE: dict[str, BaseDistribution] = {
    "learning_rate": FloatDistribution(0.01, 0.3, log=True),
    "max_depth": IntDistribution(3, 10),
    "min_child_weight": FloatDistribution(0.5, 20.0, log=True),
    "subsample": FloatDistribution(0.5, 1.0),
    "colsample_bytree": FloatDistribution(0.3, 1.0),
    "reg_lambda": FloatDistribution(1e-3, 10.0, log=True),
}

# XGBoost's own default with early stopping, then AutoGluon's deeper, slower-learning variant
PORTFOLIO: list[dict[str, Any]] = [
    {
        "learning_rate": 0.1,
        "max_depth": 6,
        "min_child_weight": 1.0,
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "reg_lambda": 1.0,
    },
    {
        "learning_rate": 0.05,
        "max_depth": 8,
        "min_child_weight": 1.0,
        "subsample": 0.8,
        "colsample_bytree": 0.7,
        "reg_lambda": 1.0,
    },
]


def _stop_at(deadline: float) -> Any:
    """An XGBoost callback that ends training, keeping the rounds so far, once `deadline` has passed."""
    import xgboost

    class StopAtDeadline(xgboost.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            return time.monotonic() >= deadline

    return StopAtDeadline()


class XGBoostFamily(ModelFamily):
    name = "xgboost"
    relative_cost = 1.5
    stops_on_time = True
    space = SEARCH_SPACE
    configs = PORTFOLIO

    def make_estimator(self, params: dict[str, Any], *, task: Task, seed: int, n_jobs: int) -> BaseEstimator:
        import xgboost

        estimator = xgboost.XGBRegressor if task is Task.REGRESSION else xgboost.XGBClassifier
        settings = {"n_estimators": MAX_ROUNDS, **params}
        return estimator(
            tree_method="hist",
            enable_categorical=True,
            max_cat_to_onehot=8,
            random_state=seed,
            n_jobs=n_jobs,
            verbosity=0,
            **settings,
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
        if not use_threads(len(X)):
            estimator.set_params(n_jobs=1)
        callbacks = [] if stop_at is None else [_stop_at(stop_at)]
        early = (patience or EARLY_STOPPING_ROUNDS) if validation is not None else None
        estimator.set_params(callbacks=callbacks or None, early_stopping_rounds=early)
        if validation is None:
            estimator.fit(X, y, verbose=False)
        else:
            estimator.fit(X, y, eval_set=[validation], verbose=False)
        # the fitted model is pickled with the final model: no closures over the clock in it
        estimator.set_params(callbacks=None, early_stopping_rounds=None)
        rounds = estimator.get_booster().num_boosted_rounds()
        best = getattr(estimator, "best_iteration", None) if validation is not None else None
        return {"best_iteration": int(best) + 1 if best is not None else int(rounds)}

    def predict_rounds(self, estimator: BaseEstimator, X: pd.DataFrame, rounds: int) -> np.ndarray | None:
        kept = (0, min(rounds, estimator.get_booster().num_boosted_rounds()))
        if is_classifier(estimator):
            return estimator.predict_proba(X, iteration_range=kept)
        return estimator.predict(X, iteration_range=kept)

    def refit_params(self, params: dict[str, Any], fit_facts: list[dict[str, Any]]) -> dict[str, Any]:
        rounds = [facts["best_iteration"] for facts in fit_facts if "best_iteration" in facts]
        if not rounds:
            return dict(params)
        return {**params, "n_estimators": max(1, round(float(np.mean(rounds)) * REFIT_ROUNDS_FACTOR))}
