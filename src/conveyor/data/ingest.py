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
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from conveyor.data._duck import connect, exact_distinct_counts, ident, is_numeric, is_text, literal
from conveyor.data.connectors import CONNECTORS
from conveyor.data.connectors.base import Connector, Scan
from conveyor.data.semantics import ColumnStats, could_be_identifier, infer_semantic_type
from conveyor.data.sources import Source, inspect_source
from conveyor.domain.datasets import ColumnSchema
from conveyor.errors import UnreadableData

# A read can fail once for a late encoding problem and once for a late type problem before it must succeed.
_MAX_READ_ATTEMPTS = 3
_HASH_VERSION = "conveyor-data-hash-1"


@dataclass(frozen=True)
class IngestResult:
    """What an ingest wrote: row count, schema with semantic types, content hash and notes for the user."""

    rows: int
    columns: list[ColumnSchema]
    content_hash: str
    warnings: list[str]


def ingest(source: str | Path, dest: Path) -> IngestResult:
    """Read a CSV/TSV (optionally .gz/.zst compressed) or Parquet file via DuckDB; write it to `dest` as zstd Parquet.

    `dest` appears only when everything succeeded; on any error nothing is left there and `UnreadableData`
    names the problem (and the line, when there is one) with a hint to fix it.
    """
    dest = Path(dest)
    found = inspect_source(source)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with work_directory(dest.parent) as workdir, closing(connect(workdir / "spill")) as con:
        written = workdir / "table.parquet"
        scan = copy_to_parquet(con, CONNECTORS[found.format](), found, workdir, written)
        result = _describe(con, written, found, scan.warnings)
        os.replace(written, dest)
    return result


@contextmanager
def work_directory(beside: Path) -> Iterator[Path]:
    """A scratch directory next to the output (same disk, so the final rename is atomic), removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=".conveyor-work-", dir=beside))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def copy_to_parquet(
    con: duckdb.DuckDBPyConnection, connector: Connector, source: Source, workdir: Path, target: Path
) -> Scan:
    """Stream the source into a zstd Parquet file with one COPY, letting the connector recover from late surprises."""
    scan = connector.scan(con, source, workdir)
    for _ in range(_MAX_READ_ATTEMPTS):
        try:
            con.execute(f"COPY ({scan.sql}) TO {literal(str(target))} (FORMAT parquet, COMPRESSION zstd)")
            return scan
        except duckdb.Error as error:
            scan = connector.recover(con, source, workdir, scan, error)
    raise UnreadableData(
        f"{source.path.name} could not be read after {_MAX_READ_ATTEMPTS} attempts with refined settings.",
        hint="Export the table again as UTF-8 CSV with one type per column, or as Parquet.",
    )


def _describe(con: duckdb.DuckDBPyConnection, parquet: Path, source: Source, warnings: list[str]) -> IngestResult:
    table = f"read_parquet({literal(str(parquet))}, file_row_number=true)"
    schema = [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()]
    schema = [(name, kind) for name, kind in schema if name != "file_row_number"]
    aggregates = ["count(*)", 'sum("__row_hash")::VARCHAR', 'bit_xor("__row_hash")::VARCHAR']
    per_column = [_stat_expressions(ident(name), kind) for name, kind in schema]
    for expressions in per_column:
        aggregates.extend(expressions.values())
    values = ", ".join(ident(name) for name, _ in schema)
    row = con.execute(
        f'SELECT {", ".join(aggregates)} FROM (SELECT *, hash(file_row_number, {values}) AS "__row_hash" FROM {table})'
    ).fetchall()[0]
    rows, hash_sum, hash_xor = row[:3]
    if rows == 0:
        raise UnreadableData(
            f"{source.path.name} has a header but no data rows.", hint="Export the table again with its rows."
        )
    stats = _column_stats(schema, per_column, iter(row[3:]))
    for column in stats:
        if column.has_nul:
            raise UnreadableData(
                f"{source.path.name} has NUL bytes (\\0) in column {column.stats.name!r}; text tables never do.",
                hint="The file is damaged or not plain text: remove the NUL bytes or export the table again.",
            )
    exact = _exact_distinct(con, parquet, [c.stats for c in stats if could_be_identifier(c.stats)])
    columns = []
    for column in stats:
        counted = column.stats
        if counted.name in exact:
            counted = ColumnStats(**{**vars(counted), "distinct": exact[counted.name]})
        columns.append(
            ColumnSchema(
                name=counted.name, physical_type=counted.physical_type, semantic_type=infer_semantic_type(counted)
            )
        )
    fingerprint = json.dumps([_HASH_VERSION, rows, hash_sum, hash_xor, schema], ensure_ascii=False)
    empty = [c.stats.name for c in stats if c.stats.non_missing == 0]
    warnings = [*warnings, *(f"Column {name!r} is empty in every row." for name in empty)]
    return IngestResult(rows, columns, "sha256:" + hashlib.sha256(fingerprint.encode()).hexdigest(), warnings)


@dataclass(frozen=True)
class _CountedColumn:
    stats: ColumnStats
    has_nul: bool


def _stat_expressions(column: str, kind: str) -> dict[str, str]:
    expressions = {"non_missing": f"count({column})", "distinct": f"approx_count_distinct({column})"}
    if is_text(kind):
        expressions |= {
            "min": f"min({column})",
            "max": f"max({column})",
            "min_length": f"min(length({column}))",
            "max_length": f"max(length({column}))",
            "average_length": f"avg(length({column}))",
            "space_share": f"avg(contains({column}, ' ')::INTEGER)",
            "has_nul": f"coalesce(bool_or(contains({column}, chr(0))), false)",
        }
    elif is_numeric(kind):
        expressions |= {"min": f"min({column})", "max": f"max({column})"}
    return expressions


def _column_stats(
    schema: list[tuple[str, str]], per_column: list[dict[str, str]], values: Iterator[Any]
) -> list[_CountedColumn]:
    counted = []
    for (name, kind), expressions in zip(schema, per_column, strict=True):
        found = {key: next(values) for key in expressions}
        has_nul = bool(found.pop("has_nul", False))
        counted.append(_CountedColumn(ColumnStats(name=name, physical_type=kind, **found), has_nul))
    return counted


def _exact_distinct(con: duckdb.DuckDBPyConnection, parquet: Path, candidates: list[ColumnStats]) -> dict[str, int]:
    return exact_distinct_counts(con, f"read_parquet({literal(str(parquet))})", [c.name for c in candidates])
