"""Registered models and the references users write to name them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from conveyor.errors import InvalidInput

DEFAULT_ALIAS = "champion"


class ModelRef(BaseModel):
    """`NAME`, `NAME@ALIAS` or `NAME:VERSION`; a bare name means the `champion` alias."""

    model_config = ConfigDict(frozen=True)

    name: str
    alias: str | None = None
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        if "@" in text:
            name, _, alias = text.partition("@")
            if not name or not alias:
                raise InvalidInput(
                    f"{text!r} is not a model reference.", hint="Write NAME, NAME@ALIAS or NAME:VERSION."
                )
            return cls(name=name, alias=alias)
        name, sep, version = text.rpartition(":")
        if sep and version.isdigit() and name:
            return cls(name=name, version=int(version))
        return cls(name=text, alias=DEFAULT_ALIAS)

    def __str__(self) -> str:
        return f"{self.name}@{self.alias}" if self.alias else f"{self.name}:{self.version}"


class ModelVersionInfo(BaseModel):
    """One version of a registered model as the registry knows it."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: int
    aliases: list[str]
    run_id: str | None
    source: str
    tags: dict[str, str]


class InputColumn(BaseModel):
    """A column of a model's input signature (name, MLflow type, may it be missing)."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: str
    required: bool = True


class LoadedModel(BaseModel):
    """A model ready to predict: the pyfunc, its input contract, and where it came from."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    version: str
    path: Path
    predictor: Any
    inputs: list[InputColumn] | None
    metadata: dict[str, Any]
    # The MLflow flavour the model was saved with (e.g. "lightgbm") and that flavour's native model
    # object, when the loader has one: serving may take a faster path through it than through pyfunc.
    flavor: str | None = None
    native: Any = None


class Deployment(BaseModel):
    """A named model server: what it serves, where, and in what state (starting, running, stopped, failed)."""

    model_config = ConfigDict(frozen=True)

    name: str
    model: str
    model_version: str | None
    status: str
    host: str
    port: int
    workers: int
    pid: int | None
    log_path: str
    options: dict[str, Any]
    started_at: datetime
    stopped_at: datetime | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"
