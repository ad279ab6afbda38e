"""Conveyor's settings: one typed tree read once from `CONVEYOR_*` variables or `conveyor.toml`.

Settings are read at the edge (CLI, server, SDK) and passed down; nothing below reads the
environment. Every location defaults to a place under `home`, so pointing `CONVEYOR_HOME`
somewhere else moves the whole embedded workspace.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from conveyor.errors import InvalidInput

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Where Conveyor keeps its metadata, artifacts and MLflow store, and how it serves."""

    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", toml_file="conveyor.toml", extra="ignore", frozen=True)

    home: Path = Field(default=Path("~/.conveyor"), description="Root of the embedded workspace.")
    database_url: str = Field(default="", description="SQLAlchemy URL of the metadata database.")
    artifact_root: str = Field(default="", description="Path or s3:// URL of the artifact store.")
    mlflow_tracking_uri: str = Field(default="", description="MLflow tracking and registry URI.")
    mlflow_artifact_root: str = Field(default="", description="Where MLflow stores run artifacts.")
    dask_scheduler: str | None = Field(default=None, description="Address of a Dask cluster for trials.")
    data_memory_limit: str = Field(
        default="", description="DuckDB's memory for data work (e.g. 512MB); it spills beyond. Default: half the RAM."
    )
    server_host: str = "127.0.0.1"
    server_port: int = 8000

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            # A bad value is the user's to fix where they set it, so name that place, not pydantic's model.
            raise _invalid_setting(error, given=values) from None

    @classmethod
    def for_home(cls, home: Path) -> Settings:
        """Settings of a self-contained workspace: every location under `home`, whatever the environment says."""
        return cls(home=home, database_url="", artifact_root="", mlflow_tracking_uri="", mlflow_artifact_root="")

    @model_validator(mode="after")
    def _fill_locations(self) -> Settings:
        home = self.home.expanduser().resolve()
        defaults = {
            "home": home,
            "database_url": self.database_url or f"sqlite:///{home / 'conveyor.db'}",
            "artifact_root": self.artifact_root or str(home / "artifacts"),
            "mlflow_tracking_uri": self.mlflow_tracking_uri or f"sqlite:///{home / 'mlflow.db'}",
            "mlflow_artifact_root": self.mlflow_artifact_root or (home / "mlartifacts").as_uri(),
        }
        for name, value in defaults.items():
            object.__setattr__(self, name, value)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def _invalid_setting(error: ValidationError, *, given: dict[str, Any]) -> InvalidInput:
    problems, places = [], []
    for detail in error.errors():
        field = str(detail["loc"][0]) if detail["loc"] else "settings"
        place = _where_set(field, given)
        problems.append(f"{field} = {detail.get('input')!r} (from {place}): {detail['msg']}")
        places.append(place)
    return InvalidInput(
        "Invalid setting: " + "; ".join(problems) + ".", hint=f"Fix or remove {', '.join(dict.fromkeys(places))}."
    )


def _where_set(field: str, given: dict[str, Any]) -> str:
    if field in given:
        return f"the argument {field}"
    variable = f"CONVEYOR_{field.upper()}"
    if any(name.upper() == variable for name in os.environ):
        return variable
    return f"{field} in conveyor.toml"
