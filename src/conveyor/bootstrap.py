"""Builds the services from settings: the one place that names concrete adapters.

Adapters are created on first use, so a command that only lists datasets never imports
MLflow, and `conveyor --help` imports none of them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from conveyor.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from conveyor.adapters.store import SqlMetadataStore
    from conveyor.adapters.store.deployments import SqlDeploymentStore
    from conveyor.adapters.tracking import MlflowTracker
    from conveyor.domain.ports import ArtifactStore
    from conveyor.services.datasets import DatasetService
    from conveyor.services.demo import DemoService
    from conveyor.services.deployments import DeploymentService
    from conveyor.services.models import ModelService
    from conveyor.services.prediction import PredictionService
    from conveyor.services.recipes import RecipeService
    from conveyor.services.serving import ServingService
    from conveyor.services.training import TrainingService


class Services:
    """The service graph of one workspace."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def engine(self) -> Engine:
        """The metadata database, migrated to the newest schema on first use."""
        from conveyor.adapters.store.database import create_database_engine

        return create_database_engine(self.settings.database_url)

    def close(self) -> None:
        """Close the metadata database's connections, if any were opened (SQLite then folds its log into the file)."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    @cached_property
    def store(self) -> SqlMetadataStore:
        from conveyor.adapters.store import SqlMetadataStore

        return SqlMetadataStore(self.engine)

    @cached_property
    def deployment_store(self) -> SqlDeploymentStore:
        from conveyor.adapters.store.deployments import SqlDeploymentStore

        return SqlDeploymentStore(self.engine)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        from conveyor.adapters.artifacts import open_artifact_store

        return open_artifact_store(self.settings.artifact_root, cache_dir=self.settings.home / "cache")

    @cached_property
    def tracker(self) -> MlflowTracker:
        from conveyor.adapters.tracking import MlflowTracker

        return MlflowTracker(self.settings.mlflow_tracking_uri, self.settings.mlflow_artifact_root)

    def _tracker(self) -> MlflowTracker:
        return self.tracker

    @property
    def data_memory_limit(self) -> str | None:
        """DuckDB's memory for every service that reads data through the data engine (None: the engine's default)."""
        return self.settings.data_memory_limit or None

    @cached_property
    def datasets(self) -> DatasetService:
        from conveyor.services.datasets import DatasetService

        # A factory: the store then opens while DuckDB reads the first file (see DatasetService).
        return DatasetService(lambda: self.store, self.artifacts, memory_limit=self.data_memory_limit)

    @cached_property
    def recipes(self) -> RecipeService:
        from conveyor.services.recipes import RecipeService

        return RecipeService(self.datasets, self.store, self.artifacts, memory_limit=self.data_memory_limit)

    @cached_property
    def models(self) -> ModelService:
        from conveyor.services.models import ModelService

        return ModelService(self._tracker)

    @cached_property
    def training(self) -> TrainingService:
        from conveyor.services.training import TrainingService

        return TrainingService(self.datasets, lambda: self.store, self._tracker)

    @cached_property
    def prediction(self) -> PredictionService:
        from conveyor.services.prediction import PredictionService

        return PredictionService(self.models, self.datasets, self.artifacts, memory_limit=self.data_memory_limit)

    @cached_property
    def serving(self) -> ServingService:
        from conveyor.services.serving import ServingService

        return ServingService(self.models)

    @cached_property
    def demo(self) -> DemoService:
        from conveyor.services.demo import DemoService

        return DemoService(self.datasets, self.training)

    @cached_property
    def deployments(self) -> DeploymentService:
        from conveyor.services.deployments import DeploymentService

        return DeploymentService(lambda: self.deployment_store, self.serving, self.settings.home)


def build_services(settings: Settings | None = None) -> Services:
    """Services for `settings`, read from the environment and `conveyor.toml` when not given."""
    return Services(settings or Settings())
