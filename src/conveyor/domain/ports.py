"""Ports: the small interfaces services use to reach persistence and outside systems.

Adapters in `conveyor.adapters` implement them; tests may implement them with fakes.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from conveyor.domain.datasets import ColumnProfile, ColumnSchema, DatasetSummary, DatasetVersion, ValidationResult
from conveyor.domain.models import Deployment, LoadedModel, ModelRef, ModelVersionInfo
from conveyor.domain.training import JobStatus, Task, TrainingJob, TrialResult


class ArtifactStore(Protocol):
    """Immutable blobs (dataset Parquet, reports) under keys; writes are atomic."""

    def staging_dir(self) -> AbstractContextManager[Path]:
        """A private local directory to write into before `put`; removed on exit."""

    def put(self, local_path: Path, key: str) -> str:
        """Move or upload a finished local file to `key` atomically; returns its URI."""

    def local_path(self, uri: str) -> Path:
        """A local file holding the artifact at `uri` (downloaded to a cache when remote)."""

    def delete(self, uri: str) -> None:
        """Remove the artifact at `uri`, if present."""


class MetadataStore(Protocol):
    """Datasets, their versions and training jobs (SQLAlchemy in production)."""

    def find_version_by_hash(self, dataset: str, content_hash: str) -> DatasetVersion | None: ...

    def get_version(self, dataset: str, version: int | None = None) -> DatasetVersion: ...

    def list_datasets(self) -> list[DatasetSummary]: ...

    def list_versions(self, dataset: str) -> list[DatasetVersion]: ...

    def create_job(
        self, *, dataset: str, dataset_version: int, target: str, task: Task, metric: str, model_name: str
    ) -> TrainingJob: ...

    def finish_job(
        self,
        job_id: int,
        *,
        status: JobStatus,
        finished_at: datetime,
        mlflow_run_id: str | None = None,
        model_version: int | None = None,
        best_score: float | None = None,
        leaderboard: list[TrialResult] | None = None,
        error: str | None = None,
    ) -> TrainingJob: ...

    def jobs_for_version(self, dataset: str, version: int) -> list[TrainingJob]: ...

    # Data management (issue 4): lineage, stored reports and validation, per-dataset settings, recipes.

    def add_version(
        self,
        *,
        dataset: str,
        content_hash: str,
        uri: str,
        rows: int,
        columns: list[ColumnSchema],
        profile: list[ColumnProfile],
        source: str,
        warnings: list[str],
        parents: list[str] | None = None,
        recipe: dict[str, Any] | None = None,
        validation: ValidationResult | None = None,
        report: dict[str, Any] | None = None,
    ) -> DatasetVersion:
        """Record a complete version: its file, schema, profile, lineage (parents, recipe) and validation."""
        ...

    def set_validation(self, dataset: str, version: int, result: ValidationResult) -> DatasetVersion: ...

    def get_report(self, dataset: str, version: int) -> dict[str, Any] | None:
        """The stored profile report (JSON) of a version, or None for versions made before reports existed."""
        ...

    def set_report(self, dataset: str, version: int, report: dict[str, Any]) -> None: ...

    def get_semantic_overrides(self, dataset: str) -> dict[str, str]: ...

    def set_semantic_overrides(self, dataset: str, overrides: dict[str, str]) -> None: ...

    def get_expectations(self, dataset: str) -> list[dict[str, Any]]: ...

    def set_expectations(self, dataset: str, expectations: list[dict[str, Any]]) -> None: ...

    def save_recipe(self, name: str, output: str, spec: dict[str, Any]) -> None: ...

    def get_recipe(self, name: str) -> dict[str, Any]: ...

    def list_recipes(self) -> list[dict[str, Any]]: ...


class Tracker(Protocol):
    """Experiment tracking and the model registry (MLflow)."""

    def start_job_run(self, experiment: str, *, run_name: str, tags: dict[str, str], params: dict[str, Any]) -> str:
        """Open the parent run of a training job; returns its run id."""

    def log_trial(self, parent_run_id: str, experiment: str, trial: TrialResult) -> None:
        """Record one trial as a finished child run of the job's run."""

    def log_model(
        self,
        run_id: str,
        model: Any,
        *,
        input_example: Any,
        metrics: dict[str, float],
        artifacts: dict[str, Path] | None = None,
    ) -> str:
        """Store `model` as an MLflow pyfunc model in the run; returns its source URI."""

    def end_run(self, run_id: str, *, succeeded: bool) -> None: ...

    def register_model(self, name: str, *, source: str, run_id: str, tags: dict[str, str]) -> ModelVersionInfo: ...

    def resolve(self, ref: ModelRef) -> ModelVersionInfo:
        """The registered version that `ref` names (an alias, a version, or the champion)."""

    def set_alias(self, name: str, alias: str, version: int) -> None: ...

    def list_models(self) -> list[ModelVersionInfo]:
        """The newest version of every registered model."""

    def list_versions(self, name: str) -> list[ModelVersionInfo]: ...

    def load(self, ref: ModelRef) -> LoadedModel: ...

    def load_dir(self, path: Path) -> LoadedModel:
        """Load any MLflow pyfunc model directory."""


class DeploymentStore(Protocol):
    """Deployments as recorded in the metadata database."""

    def save(self, deployment: Deployment) -> Deployment:
        """Insert or replace the deployment with this name."""
        ...

    def get(self, name: str) -> Deployment | None: ...

    def list(self) -> list[Deployment]: ...
