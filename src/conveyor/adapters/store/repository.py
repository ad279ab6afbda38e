"""The SQLAlchemy implementation of the `MetadataStore` port, in Core statements over the tables of `tables`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, func, insert, select, update

from conveyor.adapters.store.tables import dataset_settings, dataset_versions, datasets, recipes, training_jobs
from conveyor.domain.datasets import (
    ColumnProfile,
    ColumnSchema,
    DatasetSummary,
    DatasetVersion,
    ValidationResult,
)
from conveyor.domain.training import JobStatus, Task, TrainingJob, TrialResult
from conveyor.errors import NotFound

# A version's columns with its dataset's name; the report is left out (large, and read only on request).
_VERSION_COLUMNS = (
    *(column for column in dataset_versions.c if column.name != "report"),
    datasets.c.name.label("dataset_name"),
)
_JOB_COLUMNS = (
    *training_jobs.c,
    datasets.c.name.label("dataset_name"),
    dataset_versions.c.version.label("dataset_version"),
)


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored moment is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _versions() -> Select[Any]:
    return select(*_VERSION_COLUMNS).join_from(dataset_versions, datasets)


def _jobs() -> Select[Any]:
    return select(*_JOB_COLUMNS).join_from(training_jobs, dataset_versions).join(datasets)


def _version(row: Row[Any]) -> DatasetVersion:
    return DatasetVersion(
        dataset=row.dataset_name,
        version=row.version,
        content_hash=row.content_hash,
        uri=row.uri,
        rows=row.rows,
        columns=[ColumnSchema.model_validate(c) for c in row.columns],
        profile=[ColumnProfile.model_validate(p) for p in row.profile],
        source=row.source,
        created_at=_utc(row.created_at),
        warnings=list(row.warnings),
        parents=list(row.parents or []),
        recipe=row.recipe,
        validation=ValidationResult.model_validate(row.validation) if row.validation else None,
    )


def _job(row: Row[Any]) -> TrainingJob:
    return TrainingJob(
        id=row.id,
        dataset=row.dataset_name,
        dataset_version=row.dataset_version,
        target=row.target,
        task=Task(row.task),
        metric=row.metric,
        model_name=row.model_name,
        status=JobStatus(row.status),
        started_at=_utc(row.started_at),
        finished_at=_utc(row.finished_at),
        mlflow_run_id=row.mlflow_run_id,
        model_version=row.model_version,
        best_score=row.best_score,
        error=row.error,
        leaderboard=[TrialResult.model_validate(t) for t in row.leaderboard],
    )


class SqlMetadataStore:
    """Datasets, versions and training jobs in a SQL database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def _version_row(connection: Connection, dataset: str, version: int | None) -> Row[Any]:
        query = _versions().where(datasets.c.name == dataset)
        if version is None:
            row = connection.execute(query.order_by(dataset_versions.c.version.desc()).limit(1)).first()
        else:
            row = connection.execute(query.where(dataset_versions.c.version == version)).first()
        if row is not None:
            return row
        if connection.scalar(select(datasets.c.id).where(datasets.c.name == dataset)) is None:
            names = connection.scalars(select(datasets.c.name).order_by(datasets.c.name)).all()
            hint = f"Known datasets: {', '.join(names)}." if names else "Add one with `conveyor datasets add FILE`."
            raise NotFound(f"No dataset named {dataset!r}.", hint=hint)
        versions = connection.scalars(
            select(dataset_versions.c.version).join(datasets).where(datasets.c.name == dataset)
        ).all()
        raise NotFound(
            f"Dataset {dataset!r} has no version {version}.",
            hint=f"Its versions are {', '.join(map(str, versions))}.",
        )

    def find_version_by_hash(self, dataset: str, content_hash: str) -> DatasetVersion | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                _versions()
                .where(datasets.c.name == dataset, dataset_versions.c.content_hash == content_hash)
                .order_by(dataset_versions.c.version)
                .limit(1)
            ).first()
            return _version(row) if row else None

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
        now = datetime.now(UTC)
        with self._engine.begin() as connection:
            dataset_id = connection.scalar(select(datasets.c.id).where(datasets.c.name == dataset))
            if dataset_id is None:
                dataset_id = connection.execute(
                    insert(datasets).values(name=dataset, created_at=now)
                ).inserted_primary_key[0]
            latest = connection.scalar(
                select(func.max(dataset_versions.c.version)).where(dataset_versions.c.dataset_id == dataset_id)
            )
            version_id = connection.execute(
                insert(dataset_versions).values(
                    dataset_id=dataset_id,
                    version=(latest or 0) + 1,
                    content_hash=content_hash,
                    uri=uri,
                    rows=rows,
                    columns=[c.model_dump(mode="json") for c in columns],
                    profile=[p.model_dump(mode="json") for p in profile],
                    source=source,
                    warnings=warnings,
                    created_at=now,
                    parents=parents or [],
                    recipe=recipe,
                    validation=validation.model_dump(mode="json") if validation else None,
                    report=report,
                )
            ).inserted_primary_key[0]
            return _version(connection.execute(_versions().where(dataset_versions.c.id == version_id)).one())

    def get_version(self, dataset: str, version: int | None = None) -> DatasetVersion:
        with self._engine.connect() as connection:
            return _version(self._version_row(connection, dataset, version))

    def list_datasets(self) -> list[DatasetSummary]:
        with self._engine.connect() as connection:
            rows = connection.execute(_versions().order_by(datasets.c.name, dataset_versions.c.version)).all()
        by_name: dict[str, list[Row[Any]]] = {}
        for row in rows:
            by_name.setdefault(row.dataset_name, []).append(row)
        return [
            DatasetSummary(name=name, versions=len(versions), latest=_version(versions[-1]))
            for name, versions in by_name.items()
        ]

    def list_versions(self, dataset: str) -> list[DatasetVersion]:
        with self._engine.connect() as connection:
            self._version_row(connection, dataset, None)
            rows = connection.execute(
                _versions().where(datasets.c.name == dataset).order_by(dataset_versions.c.version)
            )
            return [_version(r) for r in rows]

    def create_job(
        self, *, dataset: str, dataset_version: int, target: str, task: Task, metric: str, model_name: str
    ) -> TrainingJob:
        with self._engine.begin() as connection:
            version_row = self._version_row(connection, dataset, dataset_version)
            job_id = connection.execute(
                insert(training_jobs).values(
                    dataset_version_id=version_row.id,
                    target=target,
                    task=task.value,
                    metric=metric,
                    model_name=model_name,
                    status=JobStatus.RUNNING.value,
                    started_at=datetime.now(UTC),
                    leaderboard=[],
                )
            ).inserted_primary_key[0]
            return _job(connection.execute(_jobs().where(training_jobs.c.id == job_id)).one())

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
    ) -> TrainingJob:
        with self._engine.begin() as connection:
            updated = connection.execute(
                update(training_jobs)
                .where(training_jobs.c.id == job_id)
                .values(
                    status=status.value,
                    finished_at=finished_at,
                    mlflow_run_id=mlflow_run_id,
                    model_version=model_version,
                    best_score=best_score,
                    leaderboard=[t.model_dump(mode="json") for t in leaderboard or []],
                    error=error,
                )
            )
            if updated.rowcount == 0:
                raise NotFound(f"No training job {job_id}.")
            return _job(connection.execute(_jobs().where(training_jobs.c.id == job_id)).one())

    def jobs_for_version(self, dataset: str, version: int) -> list[TrainingJob]:
        with self._engine.connect() as connection:
            version_row = self._version_row(connection, dataset, version)
            rows = connection.execute(
                _jobs().where(training_jobs.c.dataset_version_id == version_row.id).order_by(training_jobs.c.id)
            )
            return [_job(r) for r in rows]

    def set_validation(self, dataset: str, version: int, result: ValidationResult) -> DatasetVersion:
        with self._engine.begin() as connection:
            row = self._version_row(connection, dataset, version)
            connection.execute(
                update(dataset_versions)
                .where(dataset_versions.c.id == row.id)
                .values(validation=result.model_dump(mode="json"))
            )
            return _version(connection.execute(_versions().where(dataset_versions.c.id == row.id)).one())

    def get_report(self, dataset: str, version: int) -> dict[str, Any] | None:
        with self._engine.connect() as connection:
            row = self._version_row(connection, dataset, version)
            return connection.scalar(select(dataset_versions.c.report).where(dataset_versions.c.id == row.id))

    def set_report(self, dataset: str, version: int, report: dict[str, Any]) -> None:
        with self._engine.begin() as connection:
            row = self._version_row(connection, dataset, version)
            connection.execute(update(dataset_versions).where(dataset_versions.c.id == row.id).values(report=report))

    @staticmethod
    def _settings(connection: Connection, dataset: str) -> Row[Any] | None:
        return connection.execute(select(dataset_settings).where(dataset_settings.c.dataset == dataset)).first()

    @classmethod
    def _save_settings(cls, connection: Connection, dataset: str, **values: Any) -> None:
        now = datetime.now(UTC)
        if cls._settings(connection, dataset) is None:
            defaults = {"semantic_overrides": {}, "expectations": []}
            connection.execute(insert(dataset_settings).values(dataset=dataset, updated_at=now, **(defaults | values)))
        else:
            connection.execute(
                update(dataset_settings).where(dataset_settings.c.dataset == dataset).values(updated_at=now, **values)
            )

    def get_semantic_overrides(self, dataset: str) -> dict[str, str]:
        with self._engine.connect() as connection:
            row = self._settings(connection, dataset)
            return dict(row.semantic_overrides) if row else {}

    def set_semantic_overrides(self, dataset: str, overrides: dict[str, str]) -> None:
        with self._engine.begin() as connection:
            self._save_settings(connection, dataset, semantic_overrides=dict(overrides))

    def get_expectations(self, dataset: str) -> list[dict[str, Any]]:
        with self._engine.connect() as connection:
            row = self._settings(connection, dataset)
            return list(row.expectations) if row else []

    def set_expectations(self, dataset: str, expectations: list[dict[str, Any]]) -> None:
        with self._engine.begin() as connection:
            self._save_settings(connection, dataset, expectations=list(expectations))

    def save_recipe(self, name: str, output: str, spec: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        with self._engine.begin() as connection:
            exists = connection.scalar(select(recipes.c.id).where(recipes.c.name == name))
            if exists is None:
                connection.execute(
                    insert(recipes).values(name=name, output=output, spec=spec, created_at=now, updated_at=now)
                )
            else:
                connection.execute(
                    update(recipes).where(recipes.c.id == exists).values(output=output, spec=spec, updated_at=now)
                )

    def get_recipe(self, name: str) -> dict[str, Any]:
        with self._engine.connect() as connection:
            spec = connection.scalar(select(recipes.c.spec).where(recipes.c.name == name))
            if spec is None:
                names = connection.scalars(select(recipes.c.name).order_by(recipes.c.name)).all()
                hint = (
                    f"Known recipes: {', '.join(names)}." if names else "Create one with `conveyor recipes run FILE`."
                )
                raise NotFound(f"No recipe named {name!r}.", hint=hint)
            return dict(spec)

    def list_recipes(self) -> list[dict[str, Any]]:
        with self._engine.connect() as connection:
            return [dict(spec) for spec in connection.scalars(select(recipes.c.spec).order_by(recipes.c.name))]
