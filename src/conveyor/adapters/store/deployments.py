"""Deployments in the metadata database (table `deployments`, migration 0003), behind `DeploymentStore`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Engine, Integer, MetaData, String, Table, Text, select

from conveyor.domain.models import Deployment

metadata = MetaData()

deployments = Table(
    "deployments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("model", String(500), nullable=False),
    Column("model_version", String(50)),
    Column("status", String(20), nullable=False),
    Column("host", String(255), nullable=False),
    Column("port", Integer, nullable=False),
    Column("workers", Integer, nullable=False),
    Column("pid", Integer),
    Column("log_path", Text, nullable=False),
    Column("options", JSON, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("stopped_at", DateTime(timezone=True)),
)

_FIELDS = ("name", "model", "model_version", "status", "host", "port", "workers", "pid", "log_path", "options")


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _deployment(row: Any) -> Deployment:
    data = {k: getattr(row, k) for k in _FIELDS}
    return Deployment(**data, started_at=_aware(row.started_at), stopped_at=_aware(row.stopped_at))


class SqlDeploymentStore:
    """Deployments on the metadata database's engine (the schema comes from the Alembic migrations)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(self, deployment: Deployment) -> Deployment:
        values = {k: getattr(deployment, k) for k in _FIELDS}
        values |= {"started_at": deployment.started_at, "stopped_at": deployment.stopped_at}
        with self._engine.begin() as connection:
            existing = connection.execute(
                select(deployments.c.id).where(deployments.c.name == deployment.name)
            ).scalar_one_or_none()
            if existing is None:
                connection.execute(deployments.insert().values(**values))
            else:
                connection.execute(deployments.update().where(deployments.c.id == existing).values(**values))
        return deployment

    def get(self, name: str) -> Deployment | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(deployments).where(deployments.c.name == name)).first()
        return None if row is None else _deployment(row)

    def list(self) -> list[Deployment]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(deployments).order_by(deployments.c.name)).all()
        return [_deployment(r) for r in rows]
