"""Schema: a new database built from the table models equals a migrated one; an older one is migrated; both stay put."""

from __future__ import annotations

import subprocess
import sys

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect

from conveyor.adapters.store.database import (
    SCHEMA,
    _alembic_config,
    _current_heads,
    _file_heads,
    create_database_engine,
)


def test_file_heads_are_alembics_heads():
    assert _file_heads() == set(ScriptDirectory.from_config(_alembic_config()).get_heads())


def migrated_by_alembic(url: str, revision: str = "heads") -> Engine:
    """A database brought to `revision` by running the migration scripts, as an existing workspace is."""
    engine = create_engine(url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return engine


def schema_of(engine: Engine) -> dict[str, dict[str, object]]:
    """Every table's columns (name, type, nullability, primary key), indexes, unique and foreign keys."""
    found = inspect(engine)
    return {
        table: {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c["primary_key"]) for c in found.get_columns(table)],
            "indexes": sorted((i["name"], tuple(i["column_names"]), i["unique"]) for i in found.get_indexes(table)),
            "unique": sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(table)),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in found.get_foreign_keys(table)
            ),
            "primary_key": found.get_pk_constraint(table)["constrained_columns"],
        }
        for table in sorted(found.get_table_names())
    }


def differences(engine: Engine) -> list[object]:
    """What Alembic's autogenerate would change to make the database match the table models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, list(SCHEMA))


def test_a_new_database_built_from_the_models_equals_the_migrated_schema(tmp_path):
    created = create_database_engine(f"sqlite:///{tmp_path / 'created.db'}")
    migrated = migrated_by_alembic(f"sqlite:///{tmp_path / 'migrated.db'}")
    assert differences(migrated) == []
    assert differences(created) == []
    assert schema_of(created) == schema_of(migrated)
    assert {"dataset_versions", "dataset_settings", "recipes", "deployments", "alembic_version"} <= set(
        schema_of(created)
    )


def test_a_new_database_is_stamped_at_every_head_and_then_left_alone(tmp_path):
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    engine = create_database_engine(url)
    with engine.connect() as connection:
        stamped = set(MigrationContext.configure(connection).get_current_heads())
    assert stamped == set(ScriptDirectory.from_config(_alembic_config()).get_heads())
    before = schema_of(engine)
    migrated_by_alembic(url)
    assert schema_of(engine) == before
    assert _current_heads(create_database_engine(url)) == _file_heads()


def test_a_database_at_an_older_revision_is_migrated_to_every_head(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = migrated_by_alembic(url, "0001")
    assert "dataset_settings" not in inspect(old).get_table_names()
    engine = create_database_engine(url)
    assert _current_heads(engine) == _file_heads()
    assert differences(engine) == []


def test_a_new_workspace_does_not_import_alembic(tmp_path):
    # Alembic and the Mako and Pygments it loads cost a new workspace about half a second; only migrations need it.
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    script = (
        "import sys; from conveyor.adapters.store.database import create_database_engine; "
        f"create_database_engine({url!r}); print('alembic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
