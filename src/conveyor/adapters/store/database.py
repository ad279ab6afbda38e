"""Engine creation and schema of the metadata database (SQLite in WAL mode by default).

A new, empty database gets the whole current schema at once from the table models (`create_all`) and is stamped
at the Alembic heads, as Alembic's cookbook recipe "Building an Up to Date Database from Scratch" does; only an
existing database runs the migration scripts. A test holds the two to the same schema.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from conveyor.adapters.store import deployments, tables

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Every table model of the metadata database: what a new database is created from, and what migrations must reach.
SCHEMA = (tables.metadata, deployments.metadata)
# Alembic's record of the applied revisions, as Alembic itself creates it (`DefaultImpl.version_table_impl`).
# Writing it directly spares a new workspace Alembic's import (with Mako and Pygments), about half a second.
_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]+)?=\s*(.+?)\s*$", re.MULTILINE)


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def create_database_engine(url: str) -> Engine:
    """An engine for `url`, with its schema at the newest revision (created whole, or migrated)."""
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30} if is_sqlite else {})
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    migrate(engine)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets the CLI, the server and workers read while one of them writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _file_heads() -> set[str] | None:
    """The head revisions read from the migration files themselves, or None when one cannot be read plainly.

    Importing Alembic takes about half a second; every command would pay it just to learn that nothing is
    pending. The files name their revisions in plain assignments, so the heads are read from them, and
    Alembic is imported only when there is something to do (or a file is unusual).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_ASSIGNMENT.findall(script.read_text(encoding="utf-8")))
        try:
            revision = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found.get("down_revision", "None"))
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        parents.update([down] if isinstance(down, str) else list(down or ()))
    return revisions - parents


def _current_heads(engine: Engine) -> set[str] | None:
    try:
        with engine.connect() as connection:
            return {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    except SQLAlchemyError:
        return None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision: a no-op when current, created whole when the database is empty."""
    heads = _file_heads()
    current = _current_heads(engine)
    if heads and heads == current:
        return
    if heads and current is None:
        with engine.begin() as connection:
            if not inspect(connection).get_table_names():
                _create_current_schema(connection, heads)
                return
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = _alembic_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.begin() as connection:
        if set(MigrationContext.configure(connection).get_current_heads()) == heads:
            return
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def _create_current_schema(connection: Connection, heads: set[str]) -> None:
    """Create every table of the newest schema in an empty database, and stamp it at `heads`."""
    for metadata in SCHEMA:
        metadata.create_all(connection)
    _VERSION_TABLE.create(connection)
    connection.execute(insert(_VERSION_TABLE), [{"version_num": head} for head in sorted(heads)])
