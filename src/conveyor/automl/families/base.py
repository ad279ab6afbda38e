"""What a model family provides to the search, and the feature encoding shared by scikit-learn families."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from optuna.distributions import BaseDistribution
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder
from sklearn.utils.validation import check_is_fitted

from conveyor.domain.training import Task

# Below this many rows, OpenMP's thread start-up and barriers cost more than a second thread saves
# (measured on adult census on a busy 2-core host: LightGBM 5x slower with 2 threads than with 1 on
# 3,000 rows; HistGradientBoosting 24 s with all threads against under 2 s with one on 1,500 rows).
MULTITHREAD_MIN_ROWS = 50_000


def idle_cores() -> float:
    """How many cores the machine leaves idle: its core count minus the 1-minute load average."""
    return (os.cpu_count() or 1) - os.getloadavg()[0]


def use_threads(n_rows: int, *, min_rows: int = MULTITHREAD_MIN_ROWS) -> bool:
    """Whether a fit on `n_rows` rows should run more than one thread: large data and an idle core.

    On a busy machine a team of threads waits at every barrier for a thread the system has descheduled,
    and a fit can no longer stop on time: LightGBM on kddcup99 (100,000 rows, 23 classes) under load 3.7
    took up to 11 s per boosting round with 2 threads and 0.15-0.2 s with one.
    """
    return n_rows >= min_rows and idle_cores() >= 1


class ModelFamily:
    """A kind of model: its search space, a portfolio of known-good configurations, how to build and fit it.

    The first portfolio entry is the family's strong default. `fit` may use a validation split (early
    stopping) and must stop by the monotonic time `stop_at` when it can; it returns facts learned while
    fitting (e.g. the best iteration), which `refit_params` turns into the parameters of the final fit.
    `patience`, when given, is how many rounds without improvement on `validation` a fit that stops early on
    it waits before stopping, instead of the family's own number; families that do not stop on it ignore it.
    """

    name: ClassVar[str]
    # rough cost of a trial relative to LightGBM's default, used until the family has run once
    relative_cost: ClassVar[float] = 1.0
    # whether `fit` honours `stop_at` itself; the search stops other families between folds instead
    stops_on_time: ClassVar[bool] = False
    # the most training rows the family is tried on (None: any number)
    max_rows: ClassVar[int | None] = None

    # The search space and portfolio, for families whose choices do not depend on the task;
    # the others override `search_space` and `portfolio`.
    space: ClassVar[dict[str, BaseDistribution]]
    configs: ClassVar[list[dict[str, Any]]]

    def search_space(self, task: Task) -> dict[str, BaseDistribution]:
        return dict(self.space)

    def portfolio(self, task: Task) -> list[dict[str, Any]]:
        return [dict(config) for config in self.configs]

    def make_estimator(self, params: dict[str, Any], *, task: Task, seed: int, n_jobs: int) -> BaseEstimator:
        raise NotImplementedError

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
        estimator.fit(X, y)
        return {}

    def refit_params(self, params: dict[str, Any], fit_facts: list[dict[str, Any]]) -> dict[str, Any]:
        return dict(params)

    def predict_rounds(self, estimator: BaseEstimator, X: pd.DataFrame, rounds: int) -> np.ndarray | None:
        """Predictions (probabilities for a classifier) of the fit's first `rounds` boosting rounds, at most the
        rounds it kept; None when the family's fits keep no rounds beyond the one they stopped on."""
        return None

    def balanced(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` with the classes weighted inversely to their frequency (unchanged if the family cannot)."""
        return dict(params)


def target_type(task: Task) -> str:
    """scikit-learn's name for the kind of target a task learns."""
    return "continuous" if task is Task.REGRESSION else task.value


class TabularEncoder(TransformerMixin, BaseEstimator):
    """Feature frame to a numeric matrix for models without native categoricals and missing values.

    Numbers: median imputation plus a missing indicator for columns that had gaps, optionally scaled.
    Categories: one-hot up to `max_onehot` levels (unseen levels ignored), target encoding above it;
    `target_type` is scikit-learn's ("binary", "multiclass", "continuous"), never guessed from the values.
    """

    def __init__(self, target_type: str, scale: bool = False, max_onehot: int = 16, seed: int = 0) -> None:
        self.target_type = target_type
        self.scale = scale
        self.max_onehot = max_onehot
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> TabularEncoder:
        self._fit_transform(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: np.ndarray = None, **fit_params: Any) -> np.ndarray:
        # TargetEncoder's fit_transform cross-fits, so training rows never see their own target
        return self._fit_transform(X, y)

    def _fit_transform(self, X: pd.DataFrame, y: np.ndarray) -> np.ndarray:
        categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        numeric = [c for c in X.columns if c not in categorical]
        few = [c for c in categorical if len(X[c].cat.categories) <= self.max_onehot]
        many = [c for c in categorical if c not in few]
        scaler = [StandardScaler()] if self.scale else []
        # Seeded folds for the cross-fitting, so the same seed gives the same encoding.
        folds = KFold(5, shuffle=True, random_state=self.seed)
        self.transformer_ = ColumnTransformer(
            [
                ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), *scaler), numeric),
                ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32), few),
                (
                    "target",
                    make_pipeline(TargetEncoder(target_type=self.target_type, cv=folds), *scaler),
                    many,
                ),
            ],
            sparse_threshold=0.0,
        )
        self.n_features_in_ = X.shape[1]
        return self.transformer_.fit_transform(X, y)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "transformer_")
        return self.transformer_.transform(X)
