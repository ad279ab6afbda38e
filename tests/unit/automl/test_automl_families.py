"""Every registered family fits and predicts on small real data, through the search, for each task."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from conveyor.automl import FAMILIES, run_automl
from conveyor.automl.families import DEFAULT_FAMILIES
from conveyor.domain.training import Task

NEW_FAMILIES = ["xgboost", "catboost", "hist_gradient_boosting", "knn"]


def test_every_family_is_registered_and_in_the_default_order() -> None:
    assert set(NEW_FAMILIES) <= set(FAMILIES.names())
    assert set(DEFAULT_FAMILIES) >= set(NEW_FAMILIES)
    for name in DEFAULT_FAMILIES:
        family = FAMILIES[name]()
        for task in Task:
            portfolio = family.portfolio(task)
            space = family.search_space(task)
            assert portfolio, name
            assert all(set(config) <= set(space) for config in portfolio), name


@pytest.mark.parametrize("family", NEW_FAMILIES)
def test_family_on_adult_strings_and_missing_values(family: str, adult: pd.DataFrame) -> None:
    frame = adult.head(1500)
    result = run_automl(frame, "income", max_trials=1, families=[family])
    assert result.best.family == family
    assert result.best.status == "ok"
    assert result.best.cv_mean > 0.75
    raw = frame.drop(columns=["income"]).tail(10).copy()
    raw.iloc[0, raw.columns.get_loc("workclass")] = "Never-seen-before"
    raw.iloc[1, raw.columns.get_loc("age")] = None
    restored = pickle.loads(pickle.dumps(result.model))
    predictions = restored.predict_frame(raw)
    np.testing.assert_allclose(predictions[["<=50K", ">50K"]].sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "family",
    # CatBoost's 5-fold fits on these tiny tables take ~15 s on a busy 2-core host
    [pytest.param(name, marks=pytest.mark.slow) if name == "catboost" else name for name in NEW_FAMILIES],
)
def test_family_on_multiclass_and_regression(family: str, wine: pd.DataFrame, diabetes: pd.DataFrame) -> None:
    multiclass = run_automl(wine, "target", max_trials=1, families=[family])
    assert multiclass.task is Task.MULTICLASS
    assert multiclass.best.status == "ok", multiclass.best.error
    assert multiclass.best.cv_mean < 0.5  # log loss; a constant model scores about 1.09
    regression = run_automl(diabetes, "target", max_trials=1, families=[family])
    assert regression.best.status == "ok", regression.best.error
    assert regression.best.cv_mean < 70  # rmse; the target's standard deviation is 77
    predicted = regression.model.predict_frame(diabetes.drop(columns=["target"]).head(5))["prediction"]
    assert predicted.notna().all()


def test_knn_sits_out_on_many_rows() -> None:
    assert FAMILIES["knn"]().max_rows is not None


def test_threads_only_for_large_data_on_a_machine_with_an_idle_core(monkeypatch: pytest.MonkeyPatch) -> None:
    from conveyor.automl.families import base

    monkeypatch.setattr(base.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(base.os, "getloadavg", lambda: (1.0, 1.0, 1.0))
    assert base.use_threads(base.MULTITHREAD_MIN_ROWS)
    assert not base.use_threads(base.MULTITHREAD_MIN_ROWS - 1)
    assert base.use_threads(20_000, min_rows=20_000)
    monkeypatch.setattr(base.os, "getloadavg", lambda: (3.5, 1.0, 1.0))
    assert not base.use_threads(10 * base.MULTITHREAD_MIN_ROWS)


def _rounds_run(family: str, estimator: object) -> int:
    """How many boosting rounds a fit ran, the ones after its best included (read from its evaluation log)."""
    if family == "lightgbm":
        return len(next(iter(estimator.evals_result_["valid_0"].values())))
    if family == "xgboost":
        return len(next(iter(estimator.evals_result()["validation_0"].values())))
    return len(next(iter(estimator.model_.get_evals_result()["validation"].values())))


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "catboost"])
def test_a_boosting_fit_stops_the_given_patience_after_its_best_round(family: str, breast_cancer: pd.DataFrame) -> None:
    chosen = FAMILIES[family]()
    # a high learning rate reaches its best validation loss early, so early stopping ends the fit
    params = {**chosen.portfolio(Task.BINARY)[0], "learning_rate": 0.5}
    X, y = breast_cancer.drop(columns=["target"]), breast_cancer["target"].to_numpy()
    train, valid = slice(0, 400), slice(400, None)
    rounds_after_best = {}
    for patience in (None, 5):
        estimator = chosen.make_estimator(params, task=Task.BINARY, seed=0, n_jobs=1)
        facts = chosen.fit(estimator, X[train], y[train], validation=(X[valid], y[valid]), patience=patience)
        rounds_after_best[patience] = _rounds_run(family, estimator) - facts["best_iteration"]
    assert rounds_after_best[5] == 5
    assert rounds_after_best[None] == 50  # the family's own patience when none is given


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("task", [Task.BINARY, Task.REGRESSION])
def test_a_boosting_fit_predicts_with_a_given_round_count(
    family: str, task: Task, breast_cancer: pd.DataFrame, diabetes: pd.DataFrame
) -> None:
    chosen = FAMILIES[family]()
    frame, target = (breast_cancer, "target") if task is Task.BINARY else (diabetes, "target")
    X, y = frame.drop(columns=[target]), frame[target].to_numpy()
    train, valid = slice(0, 300), slice(300, None)
    estimator = chosen.make_estimator(chosen.portfolio(task)[0], task=task, seed=0, n_jobs=1)
    best = chosen.fit(estimator, X[train], y[train], validation=(X[valid], y[valid]))["best_iteration"]
    own = estimator.predict_proba(X[valid]) if task is Task.BINARY else estimator.predict(X[valid])
    np.testing.assert_allclose(chosen.predict_rounds(estimator, X[valid], best), own, rtol=1e-6)
    assert not np.allclose(chosen.predict_rounds(estimator, X[valid], 1), own)
    # more rounds than the fit kept: all it kept (early stopping ran `patience` rounds past the best)
    np.testing.assert_allclose(
        chosen.predict_rounds(estimator, X[valid], 10**6), chosen.predict_rounds(estimator, X[valid], best + 50)
    )


def test_catboost_keeps_only_its_best_rounds_and_predicts_no_others(breast_cancer: pd.DataFrame) -> None:
    chosen = FAMILIES["catboost"]()
    X, y = breast_cancer.drop(columns=["target"]), breast_cancer["target"].to_numpy()
    estimator = chosen.make_estimator(chosen.portfolio(Task.BINARY)[0], task=Task.BINARY, seed=0, n_jobs=1)
    chosen.fit(estimator, X[:300], y[:300], validation=(X[300:], y[300:]))
    assert chosen.predict_rounds(estimator, X[300:], 5) is None
