"""Class imbalance: label metrics on a rare minority class weight the classes; probability metrics do not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from conveyor.automl import run_automl
from conveyor.automl.metrics import METRICS
from conveyor.automl.search import needs_balancing
from conveyor.domain.training import Task


def rare_positives(frame: pd.DataFrame) -> pd.DataFrame:
    """Breast cancer with the malignant class (0) cut to about 5% of the rows."""
    minority = frame[frame["target"] == 0].head(18)
    return pd.concat([frame[frame["target"] == 1], minority]).sample(frac=1.0, random_state=0)


def test_needs_balancing_only_for_label_metrics_on_rare_classes() -> None:
    y = np.array([0] * 95 + [1] * 5)
    assert needs_balancing(y, Task.BINARY, METRICS["balanced_accuracy"])
    assert needs_balancing(y, Task.BINARY, METRICS["f1"])
    assert not needs_balancing(y, Task.BINARY, METRICS["roc_auc"])
    assert not needs_balancing(y, Task.BINARY, METRICS["log_loss"])
    assert not needs_balancing(np.array([0] * 60 + [1] * 40), Task.BINARY, METRICS["f1"])


def test_weighted_classes_on_a_rare_minority(breast_cancer: pd.DataFrame) -> None:
    frame = rare_positives(breast_cancer)
    weighted = run_automl(frame, "target", metric="balanced_accuracy", max_trials=1, families=["linear"])
    assert any("weighted" in message for message in weighted.warnings)
    assert weighted.model.estimator[-1].class_weight == "balanced"
    plain = run_automl(frame, "target", metric="roc_auc", max_trials=1, families=["linear"])
    assert plain.model.estimator[-1].class_weight is None
    assert weighted.best.cv_mean > 0.85
