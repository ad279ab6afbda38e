"""Online serving: a model loaded into a runtime that answers the V2 and MLflow protocols."""

from __future__ import annotations

from typing import TYPE_CHECKING

from conveyor.services.models import ModelService

if TYPE_CHECKING:
    from conveyor.serving import ModelRuntime


class ServingService:
    """Builds serving runtimes from registered models or model directories."""

    def __init__(self, models: ModelService) -> None:
        self._models = models

    def check(self, model: str) -> str:
        """Fail fast on a model that does not exist; returns the name it will be served under."""
        from pathlib import Path

        path = Path(model).expanduser()
        if path.is_dir():
            self._models.load(model)
            return path.resolve().name
        return self._models.resolve(model).name

    def runtime(self, model: str, name: str | None = None) -> ModelRuntime:
        from conveyor.serving import ModelRuntime

        loaded = self._models.load(model)
        if name:
            loaded = loaded.model_copy(update={"name": name})
        return ModelRuntime(loaded)
