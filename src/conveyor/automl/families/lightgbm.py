"""LightGBM gradient-boosted trees: native categoricals and missing values, early stopping on the fold."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from sklearn.base import BaseEstimator, is_classifier

from conveyor.automl.families.base import ModelFamily, use_threads
from conveyor.domain.training import Task

# an upper bound only: early stopping on the validation split picks the real number of rounds
MAX_ROUNDS = 5000
EARLY_STOPPING_ROUNDS = 50
# the final model sees all rows, about a fold more than each CV model, so it may use a few more rounds
REFIT_ROUNDS_FACTOR = 1.1

SEARCH_SPACE: dict[str, BaseDistribution] = {
    "learning_rate": FloatDistribution(0.01, 0.3, log=True),
    "num_leaves": IntDistribution(4, 512, log=True),
    "min_child_samples": IntDistribution(2, 200, log=True),
    "colsample_bytree": FloatDistribution(0.3, 1.0),
    "subsample": FloatDistribution(0.5, 1.0),
    "reg_lambda": FloatDistribution(1e-3, 10.0, log=True),
    "extra_trees": CategoricalDistribution([False, True]),
    "linear_tree": CategoricalDistribution([False, True]),
    # L2 penalty of the leaves' linear models (read only with linear_tree)
    "linear_lambda": FloatDistribution(0.1, 100.0, log=True),
}

# known-good starting points: first LightGBM's own default (quick, so a first model arrives early), then
# AutoGluon's large-leaf and extremely-randomised variants and a heavily regularised one
PORTFOLIO: list[dict[str, Any]] = [
    {
        "learning_rate": 0.1,
        "num_leaves": 31,
        "min_child_samples": 20,
        "colsample_bytree": 0.9,
        "subsample": 1.0,
        "reg_lambda": 1e-3,
        "extra_trees": False,
    },
    {
        "learning_rate": 0.03,
        "num_leaves": 128,
        "min_child_samples": 3,
        "colsample_bytree": 0.9,
        "subsample": 1.0,
        "reg_lambda": 1e-3,
        "extra_trees": False,
    },
    {
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_child_samples": 20,
        "colsample_bytree": 0.9,
        "subsample": 1.0,
        "reg_lambda": 1e-3,
        "extra_trees": True,
    },
    {
        "learning_rate": 0.05,
        "num_leaves": 8,
        "min_child_samples": 50,
        "colsample_bytree": 0.7,
        "subsample": 0.8,
        "reg_lambda": 5.0,
        "extra_trees": False,
    },
]


# Regression targets are often close to a sum of features (a delay is a departure delay plus a flight's
# slack): trees fit such a sum in steps and do not extrapolate it, trees with a linear model in each leaf
# do. Measured on one fold of nyc_flights (arrival delay): test RMSE 7.9 with linear leaves against 14.3
# without, in a third of the time; on california_housing and ames_housing within 1 % either way at the same
# cost. So for regression it is LightGBM's first configuration and the plain default its second. Unpenalised
# leaf models once gave a fold 3x the error of the others when the deadline cut the boosting short; with
# linear_lambda 10 the three folds of nyc_flights scored 7.9-8.0 (7.9-8.7 without), at 1.5x the rounds.
LINEAR_LEAVES: dict[str, Any] = {**PORTFOLIO[0], "linear_tree": True, "linear_lambda": 10.0}


# Softmax boosting diverges when a leaf's hessians sum to almost nothing: each class's tree sees the other
# classes' rows, predicted with near certainty (hessian p(1-p) near 0), so a leaf of such rows and one row of a
# rare class gets a huge value. On kddcup99 (23 classes, some with 2-6 training rows) LightGBM's default
# minimum of 1e-3 gave its best holdout log loss at round 7 (0.55) and 1.95 at round 60; a minimum of 1
# (XGBoost's default) trained steadily to 0.0038 at round 60, 0.1 to 0.0063. hypothyroid with leaves of 5
# rows: 1.83 at round 100 with 1e-3, 0.011 with 1.
MULTICLASS_MIN_CHILD_WEIGHT = 1.0
MULTICLASS_MIN_CHILD_WEIGHT_RANGE = FloatDistribution(0.1, 10.0, log=True)


def _stop_at(deadline: float) -> Any:
    """A LightGBM callback that ends training, keeping the rounds so far, once `deadline` has passed."""
    from lightgbm.callback import EarlyStopException

    def callback(env: Any) -> None:
        if time.monotonic() >= deadline:
            raise EarlyStopException(env.iteration, env.evaluation_result_list or [])

    callback.order = 40  # after early stopping (order 30), which would otherwise miss the final round
    return callback


class LightGBMFamily(ModelFamily):
    name = "lightgbm"
    relative_cost = 1.0
    stops_on_time = True

    def search_space(self, task: Task) -> dict[str, BaseDistribution]:
        if task is Task.MULTICLASS:
            return {**SEARCH_SPACE, "min_child_weight": MULTICLASS_MIN_CHILD_WEIGHT_RANGE}
        return dict(SEARCH_SPACE)

    def portfolio(self, task: Task) -> list[dict[str, Any]]:
        configs = [dict(config) for config in PORTFOLIO]
        if task is Task.MULTICLASS:
            return [{**config, "min_child_weight": MULTICLASS_MIN_CHILD_WEIGHT} for config in configs]
        return [dict(LINEAR_LEAVES), *configs] if task is Task.REGRESSION else configs

    def balanced(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "class_weight": "balanced"}

    def make_estimator(self, params: dict[str, Any], *, task: Task, seed: int, n_jobs: int) -> BaseEstimator:
        import lightgbm

        estimator = lightgbm.LGBMRegressor if task is Task.REGRESSION else lightgbm.LGBMClassifier
        settings = {"n_estimators": MAX_ROUNDS, **params}
        return estimator(
            subsample_freq=1,
            random_state=seed,
            n_jobs=n_jobs,
            deterministic=True,
            force_col_wise=True,
            verbosity=-1,
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
        import lightgbm

        if not use_threads(len(X)):
            estimator.set_params(n_jobs=1)
        callbacks = [] if stop_at is None else [_stop_at(stop_at)]
        if validation is None:
            estimator.fit(X, y, callbacks=callbacks)
        else:
            rounds = patience or EARLY_STOPPING_ROUNDS
            callbacks.append(lightgbm.early_stopping(rounds, first_metric_only=True, verbose=False))
            estimator.fit(X, y, eval_X=(validation[0],), eval_y=(validation[1],), callbacks=callbacks)
        best = estimator.best_iteration_ or estimator.booster_.current_iteration()
        return {"best_iteration": int(best)}

    def predict_rounds(self, estimator: BaseEstimator, X: pd.DataFrame, rounds: int) -> np.ndarray | None:
        kept = min(rounds, estimator.booster_.current_iteration())
        if is_classifier(estimator):
            return estimator.predict_proba(X, num_iteration=kept)
        return estimator.predict(X, num_iteration=kept)

    def refit_params(self, params: dict[str, Any], fit_facts: list[dict[str, Any]]) -> dict[str, Any]:
        rounds = [facts["best_iteration"] for facts in fit_facts if "best_iteration" in facts]
        if not rounds:
            return dict(params)
        return {**params, "n_estimators": max(1, round(float(np.mean(rounds)) * REFIT_ROUNDS_FACTOR))}
