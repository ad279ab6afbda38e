"""Conveyor's settings: one typed tree read once from `CONVEYOR_*` variables or `conveyor.toml`.

Settings are read at the edge (CLI, server, SDK) and passed down; nothing below reads the
environment. Every location defaults to a place under `home`, so pointing `CONVEYOR_HOME`
somewhere else moves the whole embedded workspace.

Values given to the constructor win over `CONVEYOR_<FIELD>` variables (names in any case), which win over
`conveyor.toml` in the working directory; pydantic then validates the merged values. The environment and the file
are read here, in a few lines, rather than through pydantic-settings, whose import cost every command about 0.1 s
of CPU.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Settings"]

_ENV_PREFIX = "conveyor_"
_TOML_FILE = Path("conveyor.toml")


class Settings(BaseModel):
    """Where Conveyor keeps its metadata, artifacts and MLflow store, and how it serves."""

    model_config = ConfigDict(extra="ignore", frozen=True, validate_default=True)

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
        super().__init__(**(_from_toml_file() | _from_environment() | values))

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


def _from_environment() -> dict[str, str]:
    variables = {name.lower(): value for name, value in os.environ.items()}
    names = {field: _ENV_PREFIX + field for field in Settings.model_fields}
    return {field: variables[name] for field, name in names.items() if name in variables}


def _from_toml_file() -> dict[str, Any]:
    if not _TOML_FILE.is_file():
        return {}
    with _TOML_FILE.open("rb") as file:
        return tomllib.load(file)
