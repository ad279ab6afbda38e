"""Training jobs, tasks, trials and leaderboards."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Task(StrEnum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not Task.REGRESSION


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class TrialResult(BaseModel):
    """One configuration of one model family, scored by cross-validation."""

    model_config = ConfigDict(frozen=True)

    number: int
    family: str
    params: dict[str, Any]
    metric: str
    cv_mean: float
    cv_std: float
    fit_seconds: float
    predict_seconds_per_1k: float | None = None
    folds: int
    higher_is_better: bool
    status: str = "ok"
    error: str | None = None


class TrainingJob(BaseModel):
    """A record of one `train` call: what it trained on, what it produced."""

    model_config = ConfigDict(frozen=True)

    id: int
    dataset: str
    dataset_version: int
    target: str
    task: Task
    metric: str
    model_name: str
    status: JobStatus
    started_at: datetime
    finished_at: datetime | None = None
    mlflow_run_id: str | None = None
    model_version: int | None = None
    best_score: float | None = None
    error: str | None = None
    leaderboard: list[TrialResult] = Field(default_factory=list)
