"""SQLAlchemy Core tables of the metadata database.

Core tables rather than ORM classes: the repository reads and writes whole rows with Core statements, and the ORM's
import alone costs every command about 0.1 s of CPU.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", ForeignKey("datasets.id"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(80), nullable=False, index=True),
    Column("uri", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("columns", JSON, nullable=False),
    Column("profile", JSON, nullable=False),
    Column("source", Text, nullable=False),
    Column("warnings", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Added by migration 0002: lineage, validation result, and the full profile report (read only on request).
    Column("parents", JSON),
    Column("recipe", JSON),
    Column("validation", JSON),
    Column("report", JSON),
    UniqueConstraint("dataset_id", "version"),
)

dataset_settings = Table(
    "dataset_settings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset", String(255), nullable=False, unique=True),
    Column("semantic_overrides", JSON, nullable=False),
    Column("expectations", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

recipes = Table(
    "recipes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("output", String(255), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

training_jobs = Table(
    "training_jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_version_id", ForeignKey("dataset_versions.id"), nullable=False, index=True),
    Column("target", String(255), nullable=False),
    Column("task", String(32), nullable=False),
    Column("metric", String(64), nullable=False),
    Column("model_name", String(255), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("mlflow_run_id", String(64)),
    Column("model_version", Integer),
    Column("best_score", Float),
    Column("leaderboard", JSON, nullable=False),
    Column("error", Text),
)
