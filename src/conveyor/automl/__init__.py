"""Conveyor's AutoML engine: detect the task, search model families within a deadline, return a fitted model.

Computation only: data frames in, a leaderboard and a picklable model out. Names resolve on first
access, so `import conveyor.automl` loads no scikit-learn, Optuna or model library until one is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conveyor.automl.evaluation import score_model
    from conveyor.automl.explain import contributions, write_model_card
    from conveyor.automl.families import FAMILIES
    from conveyor.automl.metrics import METRICS, Metric
    from conveyor.automl.model import TabularModel
    from conveyor.automl.search import AutoMLResult, run_automl
    from conveyor.automl.tasks import default_metric, detect_task

__all__ = [
    "FAMILIES",
    "METRICS",
    "AutoMLResult",
    "Metric",
    "TabularModel",
    "contributions",
    "default_metric",
    "detect_task",
    "run_automl",
    "score_model",
    "write_model_card",
]

_HOMES = {
    "FAMILIES": "conveyor.automl.families",
    "METRICS": "conveyor.automl.metrics",
    "AutoMLResult": "conveyor.automl.search",
    "Metric": "conveyor.automl.metrics",
    "TabularModel": "conveyor.automl.model",
    "contributions": "conveyor.automl.explain",
    "default_metric": "conveyor.automl.tasks",
    "detect_task": "conveyor.automl.tasks",
    "run_automl": "conveyor.automl.search",
    "score_model": "conveyor.automl.evaluation",
    "write_model_card": "conveyor.automl.explain",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
