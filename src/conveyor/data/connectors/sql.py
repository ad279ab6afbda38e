"""The SQL connector: a query or table of a database named by a SQLAlchemy-style URL, streamed in batches.

The engine does not use SQLAlchemy (the metadata store does); it speaks DB-API to the database's own driver:
`sqlite:///path.db` through the standard library, `postgresql://user:pass@host:port/db` (also
`postgresql+psycopg://…`) through psycopg, an optional extra. Rows arrive in batches of `BATCH_ROWS`, each
written as a Parquet part in the work directory, so a result larger than memory streams; DuckDB then reads the
parts as one table, widening a column's type when batches disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from conveyor.data._duck import literal
from conveyor.data.connectors.base import Scan, WithoutRecovery
from conveyor.data.sources import Source
from conveyor.errors import UnreadableData

BATCH_ROWS = 50_000
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


def sql_source(url: str, *, query: str | None = None, table: str | None = None) -> Source:
    """A source for `query`, or every row of `table`, in the database at `url`."""
    if (query is None) == (table is None):
        raise UnreadableData("Give either a query or a table to read.", hint="Use --query 'SELECT …' or --table NAME.")
    if table is not None:
        if not _TABLE_NAME.match(table):
            raise UnreadableData(f"{table!r} is not a table name.", hint="Write NAME or SCHEMA.NAME, or use a query.")
        query = f"SELECT * FROM {table}"
    scheme = url.partition("://")[0].split("+")[0].lower()
    if scheme not in {"sqlite", "postgresql", "postgres"}:
        raise UnreadableData(
            f"Unsupported database URL scheme {scheme!r}.",
            hint="Use sqlite:///path/to.db or postgresql://user:password@host:port/database.",
        )
    label = table or "query"
    return Source(Path(f"{_redacted(url)} ({label})"), "sql", options=(("url", url), ("query", str(query))))


class SqlConnector(WithoutRecovery):
    """Runs the query through the database's DB-API driver and stages the rows as Parquet parts."""

    def scan(self, con: duckdb.DuckDBPyConnection, source: Source, workdir: Path) -> Scan:
        url, query = source.option("url") or "", source.option("query") or ""
        parts = []
        try:
            with closing(_connect(url)) as db, closing(db.cursor()) as cursor:
                cursor.execute(query)
                names = _unique([d[0] for d in cursor.description or []])
                if not names:
                    raise UnreadableData(f"The query on {_redacted(url)} returns no columns.", hint="Select columns.")
                for number, rows in enumerate(_batches(cursor)):
                    parts.append(_write_part(workdir, names, rows, number))
                if not parts:
                    parts.append(_write_part(workdir, names, [], 0))
        except UnreadableData:
            raise
        except Exception as error:  # each driver has its own error tree; all of them mean the same here
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise UnreadableData(
                f"Reading from {_redacted(url)} failed: {first}",
                hint="Check the URL, the credentials, and the query or table name.",
            ) from error
        files = ", ".join(literal(str(p)) for p in parts)
        return Scan(f"SELECT * FROM read_parquet([{files}], union_by_name=true)")

    def explain(self, source: Source, error: duckdb.Error) -> UnreadableData:
        return UnreadableData(
            f"The rows of {source.path.name} could not be combined: {str(error).splitlines()[0]}",
            hint="Cast the columns in the query so each has one type.",
        )


def _connect(url: str) -> Any:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0].lower()
    if scheme == "sqlite":
        import sqlite3

        database = url.partition(":///")[2] or ":memory:"
        if database != ":memory:" and not Path(database).is_file():
            raise UnreadableData(f"No SQLite database at {database}.", hint="Check the path after sqlite:///.")
        return sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        import psycopg
    except ImportError:
        raise UnreadableData(
            "Reading PostgreSQL needs the psycopg driver, which is not installed.",
            hint="Install it with `pip install 'psycopg[binary]'` (the `postgres` extra).",
        ) from None
    return psycopg.connect(
        host=parts.hostname or "localhost",
        port=parts.port or 5432,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or "") or None,
        dbname=parts.path.lstrip("/"),
    )


def _batches(cursor: Any) -> Iterator[list[tuple[Any, ...]]]:
    while rows := cursor.fetchmany(BATCH_ROWS):
        yield rows


def _write_part(workdir: Path, names: list[str], rows: list[tuple[Any, ...]], number: int) -> Path:
    arrays = []
    for i in range(len(names)):
        values = [row[i] for row in rows]
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays.append(pa.array([None if v is None else str(v) for v in values], type=pa.string()))
    path = workdir / f"sql-{number:05d}.parquet"
    pq.write_table(pa.table(dict(zip(names, arrays, strict=True))), path)
    return path


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        count = seen.get(name.lower(), 0)
        seen[name.lower()] = count + 1
        unique.append(name if count == 0 else f"{name}_{count}")
    return unique


def _redacted(url: str) -> str:
    """The URL without its password, for messages and lineage."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
