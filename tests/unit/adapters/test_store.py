"""The SQL metadata store on a real SQLite file: migrations, WAL, versions, jobs, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text

from conveyor.adapters.store import SqlMetadataStore
from conveyor.adapters.store.database import create_database_engine
from conveyor.domain.datasets import ColumnSchema, SemanticType
from conveyor.domain.training import JobStatus, Task, TrialResult
from conveyor.errors import NotFound

COLUMNS = [ColumnSchema(name="age", physical_type="BIGINT", semantic_type=SemanticType.NUMERIC)]


@pytest.fixture
def engine(tmp_path):
    return create_database_engine(f"sqlite:///{tmp_path / 'meta' / 'conveyor.db'}")


@pytest.fixture
def store(engine):
    return SqlMetadataStore(engine)


def add(store, name="sales", content_hash="sha256:aa"):
    return store.add_version(
        dataset=name,
        content_hash=content_hash,
        uri="file:///x.parquet",
        rows=3,
        columns=COLUMNS,
        profile=[],
        source="/data/sales.csv",
        warnings=[],
    )


def test_first_use_applies_migrations_in_wal_mode(engine):
    assert {"datasets", "dataset_versions", "training_jobs", "alembic_version"} <= set(
        inspect(engine).get_table_names()
    )
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_migrating_twice_is_a_no_op(tmp_path):
    url = f"sqlite:///{tmp_path / 'conveyor.db'}"
    create_database_engine(url)
    SqlMetadataStore(create_database_engine(url))


def test_versions_number_up_and_are_found_by_hash(store):
    first, second = add(store), add(store, content_hash="sha256:bb")
    assert (first.version, second.version) == (1, 2)
    assert store.find_version_by_hash("sales", "sha256:aa") == first
    assert store.find_version_by_hash("sales", "sha256:cc") is None
    assert store.get_version("sales") == second
    assert store.get_version("sales", 1).columns == COLUMNS
    assert [v.version for v in store.list_versions("sales")] == [1, 2]
    assert store.get_version("sales").created_at.tzinfo is not None


def test_unknown_dataset_and_version_name_what_exists(store):
    add(store)
    with pytest.raises(NotFound, match="No dataset named 'nope'") as missing:
        store.get_version("nope")
    assert "sales" in missing.value.hint
    with pytest.raises(NotFound, match="has no version 7") as missing_version:
        store.get_version("sales", 7)
    assert "1" in missing_version.value.hint


def test_jobs_record_their_dataset_version_and_outcome(store):
    add(store)
    job = store.create_job(
        dataset="sales", dataset_version=1, target="y", task=Task.BINARY, metric="roc_auc", model_name="sales"
    )
    assert job.status is JobStatus.RUNNING
    trial = TrialResult(
        number=0,
        family="lightgbm",
        params={"n": 1},
        metric="roc_auc",
        cv_mean=0.9,
        cv_std=0.01,
        fit_seconds=1.0,
        folds=5,
        higher_is_better=True,
    )
    done = store.finish_job(
        job.id,
        status=JobStatus.SUCCEEDED,
        finished_at=datetime.now(UTC),
        mlflow_run_id="r1",
        model_version=1,
        best_score=0.9,
        leaderboard=[trial],
    )
    assert done.leaderboard == [trial]
    assert store.jobs_for_version("sales", 1) == [done]
