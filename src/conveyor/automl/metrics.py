"""The metrics a search can optimise, by name, with their direction and input kind.

For classification, `y_true` holds class indices (0..k-1, in the model's `classes_` order) and the
prediction is either an (n, k) probability matrix or, for label metrics, predicted indices; a label
metric given probabilities takes the most probable class. For regression both are plain numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from sklearn import metrics as skm

from conveyor.domain.training import Task
from conveyor.errors import InvalidInput


@dataclass(frozen=True)
class Metric:
    """A named score: `higher_is_better` orients the search, `needs_proba` says what `score` expects."""

    name: str
    higher_is_better: bool
    needs_proba: bool
    score: Callable[[np.ndarray, np.ndarray], float]
    tasks: frozenset[Task]

    def is_better(self, candidate: float, incumbent: float) -> bool:
        """Whether `candidate` beats `incumbent` under this metric's direction."""
        return candidate > incumbent if self.higher_is_better else candidate < incumbent


def _labels(prediction: np.ndarray) -> np.ndarray:
    prediction = np.asarray(prediction)
    return prediction.argmax(axis=1) if prediction.ndim == 2 else prediction


def _probabilities(prediction: np.ndarray) -> np.ndarray:
    prediction = np.asarray(prediction, dtype=float)
    # a 1-D prediction is the positive-class probability of a binary task
    return np.column_stack([1.0 - prediction, prediction]) if prediction.ndim == 1 else prediction


def _roc_auc(y_true: np.ndarray, prediction: np.ndarray) -> float:
    proba = _probabilities(prediction)
    if proba.shape[1] == 2:
        return float(skm.roc_auc_score(y_true, proba[:, 1]))
    # folds may miss a rare class: score the classes present, renormalised, one-vs-rest
    present = np.unique(y_true)
    sub = proba[:, present]
    sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-15, None)
    return float(skm.roc_auc_score(y_true, sub, multi_class="ovr", labels=present))


def _log_loss(y_true: np.ndarray, prediction: np.ndarray) -> float:
    # numpy rather than scikit-learn's log_loss, whose input checks took 0.1 s on 40,000 rows of 23 classes:
    # greedy ensemble selection scores hundreds of blends
    proba = np.clip(_probabilities(prediction), 1e-15, 1.0)
    true_class = proba[np.arange(len(proba)), np.asarray(y_true, dtype=int)]
    return float(np.mean(np.log(proba.sum(axis=1)) - np.log(true_class)))


def _accuracy(y_true: np.ndarray, prediction: np.ndarray) -> float:
    return float(skm.accuracy_score(y_true, _labels(prediction)))


def _balanced_accuracy(y_true: np.ndarray, prediction: np.ndarray) -> float:
    return float(skm.balanced_accuracy_score(y_true, _labels(prediction)))


def _f1(y_true: np.ndarray, prediction: np.ndarray) -> float:
    labels = _labels(prediction)
    binary = np.asarray(prediction).ndim == 2 and np.asarray(prediction).shape[1] == 2
    binary = binary or set(np.unique(np.concatenate([y_true, labels]))) <= {0, 1}
    return float(skm.f1_score(y_true, labels, average="binary" if binary else "macro", zero_division=0.0))


def _rmse(y_true: np.ndarray, prediction: np.ndarray) -> float:
    return float(skm.root_mean_squared_error(y_true, prediction))


def _mae(y_true: np.ndarray, prediction: np.ndarray) -> float:
    return float(skm.mean_absolute_error(y_true, prediction))


def _r2(y_true: np.ndarray, prediction: np.ndarray) -> float:
    return float(skm.r2_score(y_true, prediction))


_CLASSIFICATION = frozenset({Task.BINARY, Task.MULTICLASS})
_REGRESSION = frozenset({Task.REGRESSION})

METRICS: Mapping[str, Metric] = MappingProxyType(
    {
        metric.name: metric
        for metric in (
            Metric("accuracy", True, False, _accuracy, _CLASSIFICATION),
            Metric("balanced_accuracy", True, False, _balanced_accuracy, _CLASSIFICATION),
            Metric("f1", True, False, _f1, _CLASSIFICATION),
            Metric("log_loss", False, True, _log_loss, _CLASSIFICATION),
            Metric("mae", False, False, _mae, _REGRESSION),
            Metric("r2", True, False, _r2, _REGRESSION),
            Metric("rmse", False, False, _rmse, _REGRESSION),
            Metric("roc_auc", True, True, _roc_auc, _CLASSIFICATION),
        )
    }
)


def resolve_metric(name: str, task: Task) -> Metric:
    """The metric called `name`, checked against the task; an unknown or mismatched name lists the choices."""
    fitting = sorted(m.name for m in METRICS.values() if task in m.tasks)
    metric = METRICS.get(name)
    if metric is None or task not in metric.tasks:
        raise InvalidInput(
            f"Metric {name!r} does not apply to a {task} task.", hint=f"Choose one of: {', '.join(fitting)}."
        )
    return metric
