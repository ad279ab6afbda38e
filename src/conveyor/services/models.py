"""Registered-model use cases: list, show, and load a model for prediction or serving."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conveyor.domain.models import LoadedModel, ModelRef, ModelVersionInfo
from conveyor.domain.ports import Tracker


class ModelService:
    """Reads the model registry; the tracker is built on first use (importing MLflow takes seconds)."""

    def __init__(self, tracker: Callable[[], Tracker]) -> None:
        self._tracker = tracker

    def list(self) -> list[ModelVersionInfo]:
        """The newest version of every registered model."""
        return self._tracker().list_models()

    def versions(self, name: str) -> list[ModelVersionInfo]:
        return self._tracker().list_versions(ModelRef.parse(name).name)

    def resolve(self, spec: str) -> ModelVersionInfo:
        return self._tracker().resolve(ModelRef.parse(spec))

    def promote(self, spec: str, alias: str) -> ModelVersionInfo:
        """Move `alias` onto the version `spec` names (NAME:VERSION, or NAME@OTHER_ALIAS)."""
        tracker = self._tracker()
        target = tracker.resolve(ModelRef.parse(spec))
        tracker.set_alias(target.name, alias, target.version)
        return tracker.resolve(ModelRef(name=target.name, version=target.version))

    def load(self, spec: str) -> LoadedModel:
        """`NAME[@ALIAS|:VERSION]` from the registry, or an MLflow model directory on disk."""
        path = Path(spec).expanduser()
        if path.is_dir():
            return self._tracker().load_dir(path)
        return self._tracker().load(ModelRef.parse(spec))
