"""The SQLAlchemy implementation of the `MetadataStore` port."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from conveyor.adapters.store.tables import (
    DatasetRow,
    DatasetSettingsRow,
    DatasetVersionRow,
    RecipeRow,
    TrainingJobRow,
)
from conveyor.domain.datasets import (
    ColumnProfile,
    ColumnSchema,
    DatasetSummary,
    DatasetVersion,
    ValidationResult,
)
from conveyor.domain.training import JobStatus, Task, TrainingJob, TrialResult
from conveyor.errors import NotFound


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored moment is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _version(row: DatasetVersionRow) -> DatasetVersion:
    return DatasetVersion(
        dataset=row.dataset.name,
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


def _job(row: TrainingJobRow) -> TrainingJob:
    return TrainingJob(
        id=row.id,
        dataset=row.dataset_version.dataset.name,
        dataset_version=row.dataset_version.version,
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
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def _session(self) -> Session:
        return self._sessions()

    @staticmethod
    def _version_row(session: Session, dataset: str, version: int | None) -> DatasetVersionRow:
        query = select(DatasetVersionRow).join(DatasetRow).where(DatasetRow.name == dataset)
        if version is None:
            row = session.scalars(query.order_by(DatasetVersionRow.version.desc()).limit(1)).first()
        else:
            row = session.scalars(query.where(DatasetVersionRow.version == version)).first()
        if row is not None:
            return row
        if session.scalar(select(DatasetRow.id).where(DatasetRow.name == dataset)) is None:
            names = session.scalars(select(DatasetRow.name).order_by(DatasetRow.name)).all()
            hint = f"Known datasets: {', '.join(names)}." if names else "Add one with `conveyor datasets add FILE`."
            raise NotFound(f"No dataset named {dataset!r}.", hint=hint)
        versions = session.scalars(
            select(DatasetVersionRow.version).join(DatasetRow).where(DatasetRow.name == dataset)
        ).all()
        raise NotFound(
            f"Dataset {dataset!r} has no version {version}.",
            hint=f"Its versions are {', '.join(map(str, versions))}.",
        )

    def find_version_by_hash(self, dataset: str, content_hash: str) -> DatasetVersion | None:
        with self._session() as session:
            row = session.scalars(
                select(DatasetVersionRow)
                .join(DatasetRow)
                .where(DatasetRow.name == dataset, DatasetVersionRow.content_hash == content_hash)
                .order_by(DatasetVersionRow.version)
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
        with self._session() as session, session.begin():
            parent = session.scalars(select(DatasetRow).where(DatasetRow.name == dataset)).first()
            if parent is None:
                parent = DatasetRow(name=dataset, created_at=now)
                session.add(parent)
                session.flush()
            latest = session.scalar(
                select(func.max(DatasetVersionRow.version)).where(DatasetVersionRow.dataset_id == parent.id)
            )
            row = DatasetVersionRow(
                dataset=parent,
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
            session.add(row)
            session.flush()
            return _version(row)

    def get_version(self, dataset: str, version: int | None = None) -> DatasetVersion:
        with self._session() as session:
            return _version(self._version_row(session, dataset, version))

    def list_datasets(self) -> list[DatasetSummary]:
        with self._session() as session:
            summaries = []
            for parent in session.scalars(select(DatasetRow).order_by(DatasetRow.name)):
                if parent.versions:
                    summaries.append(
                        DatasetSummary(
                            name=parent.name, versions=len(parent.versions), latest=_version(parent.versions[-1])
                        )
                    )
            return summaries

    def list_versions(self, dataset: str) -> list[DatasetVersion]:
        with self._session() as session:
            self._version_row(session, dataset, None)
            rows = session.scalars(
                select(DatasetVersionRow)
                .join(DatasetRow)
                .where(DatasetRow.name == dataset)
                .order_by(DatasetVersionRow.version)
            )
            return [_version(r) for r in rows]

    def create_job(
        self, *, dataset: str, dataset_version: int, target: str, task: Task, metric: str, model_name: str
    ) -> TrainingJob:
        with self._session() as session, session.begin():
            version_row = self._version_row(session, dataset, dataset_version)
            row = TrainingJobRow(
                dataset_version=version_row,
                target=target,
                task=task.value,
                metric=metric,
                model_name=model_name,
                status=JobStatus.RUNNING.value,
                started_at=datetime.now(UTC),
                leaderboard=[],
            )
            session.add(row)
            session.flush()
            return _job(row)

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
        with self._session() as session, session.begin():
            row = session.get(TrainingJobRow, job_id)
            if row is None:
                raise NotFound(f"No training job {job_id}.")
            row.status = status.value
            row.finished_at = finished_at
            row.mlflow_run_id = mlflow_run_id
            row.model_version = model_version
            row.best_score = best_score
            row.leaderboard = [t.model_dump(mode="json") for t in leaderboard or []]
            row.error = error
            session.flush()
            return _job(row)

    def jobs_for_version(self, dataset: str, version: int) -> list[TrainingJob]:
        with self._session() as session:
            version_row = self._version_row(session, dataset, version)
            rows = session.scalars(
                select(TrainingJobRow)
                .where(TrainingJobRow.dataset_version_id == version_row.id)
                .order_by(TrainingJobRow.id)
            )
            return [_job(r) for r in rows]

    def set_validation(self, dataset: str, version: int, result: ValidationResult) -> DatasetVersion:
        with self._session() as session, session.begin():
            row = self._version_row(session, dataset, version)
            row.validation = result.model_dump(mode="json")
            session.flush()
            return _version(row)

    def get_report(self, dataset: str, version: int) -> dict[str, Any] | None:
        with self._session() as session:
            return self._version_row(session, dataset, version).report

    def set_report(self, dataset: str, version: int, report: dict[str, Any]) -> None:
        with self._session() as session, session.begin():
            self._version_row(session, dataset, version).report = report

    def _settings(self, session: Session, dataset: str) -> DatasetSettingsRow:
        row = session.scalars(select(DatasetSettingsRow).where(DatasetSettingsRow.dataset == dataset)).first()
        if row is None:
            row = DatasetSettingsRow(
                dataset=dataset, semantic_overrides={}, expectations=[], updated_at=datetime.now(UTC)
            )
            session.add(row)
        return row

    def get_semantic_overrides(self, dataset: str) -> dict[str, str]:
        with self._session() as session:
            row = session.scalars(select(DatasetSettingsRow).where(DatasetSettingsRow.dataset == dataset)).first()
            return dict(row.semantic_overrides) if row else {}

    def set_semantic_overrides(self, dataset: str, overrides: dict[str, str]) -> None:
        with self._session() as session, session.begin():
            row = self._settings(session, dataset)
            row.semantic_overrides = dict(overrides)
            row.updated_at = datetime.now(UTC)

    def get_expectations(self, dataset: str) -> list[dict[str, Any]]:
        with self._session() as session:
            row = session.scalars(select(DatasetSettingsRow).where(DatasetSettingsRow.dataset == dataset)).first()
            return list(row.expectations) if row else []

    def set_expectations(self, dataset: str, expectations: list[dict[str, Any]]) -> None:
        with self._session() as session, session.begin():
            row = self._settings(session, dataset)
            row.expectations = list(expectations)
            row.updated_at = datetime.now(UTC)

    def save_recipe(self, name: str, output: str, spec: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        with self._session() as session, session.begin():
            row = session.scalars(select(RecipeRow).where(RecipeRow.name == name)).first()
            if row is None:
                session.add(RecipeRow(name=name, output=output, spec=spec, created_at=now, updated_at=now))
            else:
                row.output, row.spec, row.updated_at = output, spec, now

    def get_recipe(self, name: str) -> dict[str, Any]:
        with self._session() as session:
            row = session.scalars(select(RecipeRow).where(RecipeRow.name == name)).first()
            if row is None:
                names = session.scalars(select(RecipeRow.name).order_by(RecipeRow.name)).all()
                hint = (
                    f"Known recipes: {', '.join(names)}." if names else "Create one with `conveyor recipes run FILE`."
                )
                raise NotFound(f"No recipe named {name!r}.", hint=hint)
            return dict(row.spec)

    def list_recipes(self) -> list[dict[str, Any]]:
        with self._session() as session:
            return [dict(r.spec) for r in session.scalars(select(RecipeRow).order_by(RecipeRow.name))]
