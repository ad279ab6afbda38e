"""Ingest: read a source file through DuckDB, write it as Parquet, and describe what was written.

The content hash fingerprints the data, not the file: DuckDB hashes every row of the written Parquet together
with its position (`hash(row number, values…)`), sums and XORs those 64-bit row hashes, and SHA-256 is taken
over that pair plus the row count and the column names and types. Neither the source's name, format or
compression nor the Parquet layout (row groups differ with thread count) enters it, and it costs one parallel
pass that also gathers the statistics for semantic types.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from conveyor.data._duck import connect, ident, is_text, literal, memory_exhausted, null_if_listed
from conveyor.data.connectors import CONNECTORS
from conveyor.data.connectors.base import Connector, Scan
from conveyor.data.remote import fetch, is_object_url
from conveyor.data.semantics import ColumnStats, infer_semantic_type, needs_closer_look
from conveyor.data.sources import Source, inspect_source
from conveyor.data.stats import column_stats
from conveyor.domain.datasets import ColumnSchema
from conveyor.errors import UnreadableData

# A read may fail once each for a late encoding problem, a late long line, a late missing-value marker and a late
# type problem.
_MAX_READ_ATTEMPTS = 5
_HASH_VERSION = "conveyor-data-hash-1"
# Up to this many values (bounded from the Parquet metadata) a text column is counted value by value at ingest.
FEW_VALUES = 10_000


@dataclass(frozen=True)
class IngestResult:
    """What an ingest wrote: row count, schema with semantic types, content hash and notes for the user."""

    rows: int
    columns: list[ColumnSchema]
    content_hash: str
    warnings: list[str]
    # Per-column statistics of the one pass that typed the columns (with moments, and the value counts of
    # few-valued text columns), for the profile to reuse, and the number of rows that repeat an earlier one.
    stats: list[dict[str, Any]] | None = None
    duplicate_rows: int | None = None


def ingest_source(
    found: Source,
    dest: Path,
    *,
    memory_limit: str | None = None,
    on_write: Callable[[], None] | None = None,
) -> IngestResult:
    """Like `ingest`, for a source already recognised (a SQL query, an Excel sheet with options, …)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with work_directory(dest.parent) as workdir, closing(connect(workdir / "spill", memory_limit)) as con:
        written = workdir / "table.parquet"
        scan = copy_to_parquet(con, CONNECTORS[found.format](), found, workdir, written, on_write)
        markers = scan.deferred.markers if scan.deferred else ()
        result = _describe(con, written, found, scan.warnings, markers)
        os.replace(written, dest)
    return result


def ingest(
    source: str | Path,
    dest: Path,
    *,
    memory_limit: str | None = None,
    on_write: Callable[[], None] | None = None,
) -> IngestResult:
    """Read a CSV/TSV (optionally .gz/.zst compressed) or Parquet file via DuckDB; write it to `dest` as zstd Parquet.

    `source` is a local path or an object URL (`s3://…`, copied beside `dest` first). `dest` appears only when
    everything succeeded; on any error nothing is left there and `UnreadableData` names the problem (and the
    line, when there is one) with a hint to fix it. DuckDB works within `memory_limit` (see `connect`) and
    spills beyond it, so a file larger than memory streams through.

    `on_write` is called once, as the source has been sniffed and DuckDB starts writing the Parquet file: it holds
    the interpreter's lock no longer, so the caller's own Python work then takes nothing from the read's.
    """
    if is_object_url(source):
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        with work_directory(Path(dest).parent) as downloads:
            found = inspect_source(fetch(str(source), downloads))
            return ingest_source(found, dest, memory_limit=memory_limit, on_write=on_write)
    return ingest_source(inspect_source(source), dest, memory_limit=memory_limit, on_write=on_write)


@contextmanager
def work_directory(beside: Path) -> Iterator[Path]:
    """A scratch directory next to the output (same disk, so the final rename is atomic), removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=".conveyor-work-", dir=beside))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def copy_to_parquet(
    con: duckdb.DuckDBPyConnection,
    connector: Connector,
    source: Source,
    workdir: Path,
    target: Path,
    on_write: Callable[[], None] | None = None,
) -> Scan:
    """Stream the source into a zstd Parquet file with one COPY, letting the connector recover from late surprises.

    `on_write` is called before the first COPY (see `ingest`)."""
    scan = connector.scan(con, source, workdir)
    if on_write is not None:
        on_write()
    for _ in range(_MAX_READ_ATTEMPTS):
        try:
            read = scan.deferred.sql if scan.deferred else scan.sql
            con.execute(f"COPY ({read}) TO {literal(str(target))} (FORMAT parquet, COMPRESSION zstd)")
            return scan
        except duckdb.OutOfMemoryException as error:
            # Not the data's fault, and no other reading of it would help.
            raise memory_exhausted(source.path.name, error) from None
        except duckdb.Error as error:
            scan = connector.recover(con, source, workdir, scan, error)
    raise UnreadableData(
        f"{source.path.name} could not be read after {_MAX_READ_ATTEMPTS} attempts with refined settings.",
        hint="Export the table again as UTF-8 CSV with one type per column, or as Parquet.",
    )


def describe_written(
    con: duckdb.DuckDBPyConnection, parquet: Path, label: str, warnings: list[str] | None = None
) -> IngestResult:
    """Row count, content hash and semantic schema of a Parquet file the engine wrote (a recipe's or a query's)."""
    return _describe(con, parquet, Source(Path(label), "parquet"), list(warnings or []))


def _describe(
    con: duckdb.DuckDBPyConnection,
    parquet: Path,
    source: Source,
    warnings: list[str],
    markers: tuple[str, ...] = (),
) -> IngestResult:
    """Row count, hash, statistics and schema of the written file; text columns holding one of `markers` (a read
    that deferred them, see `DeferredMarkers`) are rewritten with those values missing, then described again."""
    table = f"read_parquet({literal(str(parquet))})"
    schema = [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()]
    rows, content_hash, duplicates = _content_hash(con, parquet, schema)
    if rows == 0:
        raise UnreadableData(
            f"{source.path.name} has a header but no data rows.", hint="Export the table again with its rows."
        )
    columns, stats = _semantic_schema(con, table, schema, source, _few_valued(con, parquet, schema), markers)
    marked = [name for (name, _), found in zip(schema, stats, strict=True) if _holds_marker(found, markers)]
    if marked:
        _null_markers(con, parquet, marked, markers)
        return _describe(con, parquet, source, warnings)
    empty = [name for name, column in columns.items() if column.non_missing == 0]
    warnings = [*warnings, *(f"Column {name!r} is empty in every row." for name in empty)]
    schema_with_types = [
        ColumnSchema(name=name, physical_type=column.physical_type, semantic_type=infer_semantic_type(column))
        for name, column in columns.items()
    ]
    return IngestResult(rows, schema_with_types, content_hash, warnings, stats, duplicates)


def _content_hash(con: duckdb.DuckDBPyConnection, parquet: Path, schema: list[tuple[str, str]]) -> tuple[int, str, int]:
    """The row count, the data's fingerprint (see the module docstring) and the number of duplicate rows."""
    values = ", ".join(ident(name) for name, _ in schema)
    # The row number is the Parquet file's own, so the hash sees row order but not how rows were split up.
    # A data column that already bears that name makes DuckDB refuse the option; a window gives the same number.
    if any(name.lower() == "file_row_number" for name, _ in schema):
        numbered = (
            f"SELECT hash(row_number() OVER () - 1, {values}) AS row_hash, hash({values}) AS value_hash "
            f"FROM read_parquet({literal(str(parquet))})"
        )
    else:
        numbered = (
            f"SELECT hash(file_row_number, {values}) AS row_hash, hash({values}) AS value_hash "
            f"FROM read_parquet({literal(str(parquet))}, file_row_number=true)"
        )
    rows, hash_sum, hash_xor, distinct = con.execute(
        "SELECT count(*), sum(row_hash)::VARCHAR, bit_xor(row_hash)::VARCHAR, count(DISTINCT value_hash) "
        f"FROM ({numbered})"
    ).fetchall()[0]
    fingerprint = json.dumps([_HASH_VERSION, rows, hash_sum, hash_xor, schema], ensure_ascii=False)
    return rows, "sha256:" + hashlib.sha256(fingerprint.encode()).hexdigest(), rows - distinct


def _few_valued(con: duckdb.DuckDBPyConnection, parquet: Path, schema: list[tuple[str, str]]) -> list[str]:
    """The text and boolean columns sure to hold few values, read from the Parquet file's metadata.

    The writer dictionary-encodes a column chunk when it has few values and records how many; summed over the row
    groups, that bounds the column's distinct count without reading a row.
    """
    chunks = con.execute(
        "SELECT path_in_schema, bool_and(stats_distinct_count IS NOT NULL), sum(stats_distinct_count) "
        f"FROM parquet_metadata({literal(str(parquet))}) GROUP BY path_in_schema"
    ).fetchall()
    bounded = {name for name, every_chunk, total in chunks if every_chunk and total <= FEW_VALUES}
    return [name for name, kind in schema if kind == "BOOLEAN" or (is_text(kind) and name in bounded)]


def _holds_marker(stats: dict[str, Any], markers: tuple[str, ...]) -> bool:
    if "value_counts" in stats:
        return not stats["value_counts"].keys().isdisjoint(markers)
    return bool(stats.get("holds_marker"))


def _null_markers(con: duckdb.DuckDBPyConnection, parquet: Path, columns: list[str], markers: tuple[str, ...]) -> None:
    """Rewrite the Parquet file with the `markers` of the given text columns as missing values."""
    replaced = ", ".join(null_if_listed(name, markers) for name in columns)
    rewritten = parquet.with_name(f"marked-{parquet.name}")
    con.execute(
        f"COPY (SELECT * REPLACE ({replaced}) FROM read_parquet({literal(str(parquet))})) "
        f"TO {literal(str(rewritten))} (FORMAT parquet, COMPRESSION zstd)"
    )
    os.replace(rewritten, parquet)


def _semantic_schema(
    con: duckdb.DuckDBPyConnection,
    table: str,
    schema: list[tuple[str, str]],
    source: Source,
    few_valued: list[str],
    markers: tuple[str, ...],
) -> tuple[dict[str, ColumnStats], list[dict[str, Any]]]:
    """What semantic inference needs of every column (and the raw statistics), refusing NUL bytes.

    The pass also takes each number's mean and spread, and whether text columns without value counts hold one of
    `markers`; the value counts of `few_valued` columns follow in one more pass. Both spare the profile its own.
    """
    listed = ", ".join(literal(m) for m in markers)
    checks = {"holds_marker": f"coalesce(bool_or({{v}} IN ({listed})), false)"} if markers else {}
    found = column_stats(con, table, schema, exact_distinct=False, moments=True, counted=few_valued, text_checks=checks)
    for (name, _), stats in zip(schema, found, strict=True):
        if stats.get("has_nul"):
            raise UnreadableData(
                f"{source.path.name} has NUL bytes (\\0) in column {name!r}; text tables never do.",
                hint="The file is damaged or not plain text: remove the NUL bytes or export the table again.",
            )
    columns = {name: _column(name, kind, stats) for (name, kind), stats in zip(schema, found, strict=True)}
    # Approximate distinct counts shortlist the columns that may be identifiers or free text; a second pass
    # over just those counts exactly and measures the strings' lengths and spaces.
    shortlist = [(name, column.physical_type) for name, column in columns.items() if needs_closer_look(column)]
    closer = column_stats(con, table, shortlist, exact_distinct=True, shapes=True)
    columns.update({name: _column(name, kind, stats) for (name, kind), stats in zip(shortlist, closer, strict=True)})
    raw = dict(zip((name for name, _ in schema), found, strict=True))
    for (name, _), stats in zip(shortlist, closer, strict=True):
        raw[name] = {**raw[name], **stats}
    return columns, [raw[name] for name, _ in schema]


def _column(name: str, kind: str, found: dict[str, Any]) -> ColumnStats:
    known = {key: found[key] for key in ColumnStats.__dataclass_fields__ if key in found}
    return ColumnStats(name=name, physical_type=kind, **known)
