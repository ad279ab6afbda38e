"""Migrations: the heads read from the files match Alembic's, and a current schema is left alone quickly."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from conveyor.adapters.store.database import _alembic_config, _current_heads, _file_heads, create_database_engine


def test_file_heads_are_alembics_heads():
    assert _file_heads() == set(ScriptDirectory.from_config(_alembic_config()).get_heads())


def test_a_new_database_is_migrated_to_every_head_and_then_left_alone(tmp_path):
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    engine = create_database_engine(url)
    assert _current_heads(engine) == _file_heads()
    tables = set(inspect(engine).get_table_names())
    assert {"dataset_versions", "dataset_settings", "recipes"} <= tables
    columns = {c["name"] for c in inspect(engine).get_columns("dataset_versions")}
    assert {"parents", "recipe", "validation", "report"} <= columns
    again = create_database_engine(url)
    assert _current_heads(again) == _file_heads()
