"""What a connector gives the engine: a query over the source, and a way out when reading it fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import duckdb

from conveyor.data.sources import Source
from conveyor.errors import InvalidInput


@dataclass(frozen=True)
class Scan:
    """A SELECT that yields the source as a table with its final column names, plus notes for the user."""

    sql: str
    warnings: list[str] = field(default_factory=list)
    # What the connector has already widened after earlier failures (its own names), so it never tries twice.
    refinements: frozenset[str] = frozenset()
    # A cheaper form of the same read for ingest, which leaves missing-value markers in text columns as written.
    deferred: DeferredMarkers | None = None


@dataclass(frozen=True)
class DeferredMarkers:
    """A read that keeps the missing-value `markers` of text columns as text, for the engine to null afterwards.

    Comparing every text value with each marker is a large share of a read; written out first, the table tells
    from its statistics which text columns hold a marker at all (usually none), and only those are rewritten.
    """

    sql: str
    markers: tuple[str, ...]


class Connector(Protocol):
    """Turns one source format into a DuckDB query."""

    def scan(self, con: duckdb.DuckDBPyConnection, source: Source, workdir: Path) -> Scan:
        """Work out how to read `source` (dialect, types) and return the query; `workdir` holds any scratch file."""
        ...

    def recover(
        self, con: duckdb.DuckDBPyConnection, source: Source, workdir: Path, scan: Scan, error: duckdb.Error
    ) -> Scan:
        """A new scan that avoids `error` met while running `scan`, or raise `UnreadableData` explaining it."""
        ...

    def explain(self, source: Source, error: duckdb.Error) -> InvalidInput:
        """`error` as `UnreadableData` naming the problem (and the line, when known) with a hint to fix it."""
        ...


class WithoutRecovery:
    """For connectors whose first reading is final: a failure is explained, never retried differently."""

    def recover(
        self, con: duckdb.DuckDBPyConnection, source: Source, workdir: Path, scan: Scan, error: duckdb.Error
    ) -> Scan:
        raise self.explain(source, error) from error

    def explain(self, source: Source, error: duckdb.Error) -> InvalidInput:
        raise NotImplementedError

    def checked(self, con: duckdb.DuckDBPyConnection, source: Source, sql: str) -> Scan:
        """`sql` as the scan, once DuckDB has described it (which reads the file's header or schema)."""
        try:
            con.execute(f"DESCRIBE {sql}").fetchall()
        except duckdb.Error as error:
            raise self.explain(source, error) from error
        return Scan(sql)
