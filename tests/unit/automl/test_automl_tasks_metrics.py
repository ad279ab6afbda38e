"""Task detection from the target and the metrics against scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from conveyor.automl import METRICS, default_metric, detect_task
from conveyor.automl.metrics import resolve_metric
from conveyor.domain.training import Task
from conveyor.errors import InvalidInput


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([0, 1, 1, 0], Task.BINARY),
        ([0.0, 1.0, np.nan, 1.0], Task.BINARY),
        (["<=50K", ">50K", "<=50K", None], Task.BINARY),
        ([True, False, True, True], Task.BINARY),
        (["a", "b", "c", "a"], Task.MULTICLASS),
        ([1, 2, 3, 2, 1], Task.MULTICLASS),
        ([1.0, 2.0, 3.0, 2.0], Task.MULTICLASS),
        (list(range(100)), Task.REGRESSION),
        ([0.5, 1.25, 3.0, 2.0], Task.REGRESSION),
    ],
)
def test_detect_task(values: list, task: Task) -> None:
    assert detect_task(pd.Series(values)) is task


def test_detect_task_on_real_targets(breast_cancer: pd.DataFrame, wine: pd.DataFrame, diabetes: pd.DataFrame) -> None:
    assert detect_task(breast_cancer["target"]) is Task.BINARY
    assert detect_task(wine["target"]) is Task.MULTICLASS
    assert detect_task(diabetes["target"]) is Task.REGRESSION


def test_default_metrics() -> None:
    assert [default_metric(t) for t in (Task.BINARY, Task.MULTICLASS, Task.REGRESSION)] == [
        "roc_auc",
        "log_loss",
        "rmse",
    ]


def test_metric_names() -> None:
    assert sorted(METRICS) == ["accuracy", "balanced_accuracy", "f1", "log_loss", "mae", "r2", "rmse", "roc_auc"]
    assert {m.name for m in METRICS.values() if m.higher_is_better} == {
        "accuracy",
        "balanced_accuracy",
        "f1",
        "r2",
        "roc_auc",
    }


def test_classification_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    proba = np.clip(y * 0.6 + rng.random(200) * 0.5, 0, 1)
    matrix = np.column_stack([1 - proba, proba])
    labels = matrix.argmax(axis=1)
    assert METRICS["roc_auc"].score(y, matrix) == pytest.approx(skm.roc_auc_score(y, proba))
    assert METRICS["roc_auc"].score(y, proba) == pytest.approx(skm.roc_auc_score(y, proba))
    assert METRICS["log_loss"].score(y, matrix) == pytest.approx(skm.log_loss(y, matrix))
    assert METRICS["accuracy"].score(y, matrix) == pytest.approx(skm.accuracy_score(y, labels))
    assert METRICS["balanced_accuracy"].score(y, labels) == pytest.approx(skm.balanced_accuracy_score(y, labels))
    assert METRICS["f1"].score(y, matrix) == pytest.approx(skm.f1_score(y, labels))


def test_multiclass_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    raw = rng.random((300, 3)) + np.eye(3)[y]
    proba = raw / raw.sum(axis=1, keepdims=True)
    assert METRICS["log_loss"].score(y, proba) == pytest.approx(skm.log_loss(y, proba))
    assert METRICS["roc_auc"].score(y, proba) == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert METRICS["f1"].score(y, proba) == pytest.approx(skm.f1_score(y, proba.argmax(axis=1), average="macro"))


def test_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=100)
    prediction = y + rng.normal(scale=0.3, size=100)
    assert METRICS["rmse"].score(y, prediction) == pytest.approx(skm.root_mean_squared_error(y, prediction))
    assert METRICS["mae"].score(y, prediction) == pytest.approx(skm.mean_absolute_error(y, prediction))
    assert METRICS["r2"].score(y, prediction) == pytest.approx(skm.r2_score(y, prediction))


def test_a_metric_must_fit_the_task() -> None:
    with pytest.raises(InvalidInput, match="rmse"):
        resolve_metric("rmse", Task.BINARY)
    with pytest.raises(InvalidInput, match="Choose one of"):
        resolve_metric("nope", Task.REGRESSION)
