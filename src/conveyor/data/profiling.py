"""Column profiles of a stored Parquet table: missing share, distinct count, numeric summary, top values.

Two passes whatever the width: one for the statistics of every column (`conveyor.data.stats`), and one
that counts the values of the non-numeric columns and keeps each column's five most frequent: DuckDB's
`histogram` aggregate for columns with few distinct values (one hash map per column, all in one parallel
pass), an unpivot into (column, value) pairs grouped by both for the others. The statistics ingest already took
(counts, bounds, moments, and the value counts of few-valued text columns) are reused instead of a second pass;
up to a million rows, where distinct counts are exact, only the columns ingest estimated get
their exact distinct count here (a statistics pass without moments over just those). Above, distinct counts are
HyperLogLog estimates. For float columns the summary (min, max, mean, std) leaves out inf and NaN, which would
otherwise swallow it.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb

from conveyor.data._duck import connect, ident, is_numeric, is_temporal, literal
from conveyor.data.ingestion import work_directory
from conveyor.data.stats import VALUE_COUNTS, WIDE_COLUMNS, column_stats
from conveyor.domain.datasets import ColumnProfile, ColumnSchema, SemanticType, ValueCount

EXACT_DISTINCT_MAX_ROWS = 1_000_000
TOP_VALUES = 5
# Up to this many distinct values a column's counts fit one small hash map: the `histogram` aggregate.
HISTOGRAM_MAX_DISTINCT = 10_000
# Long free-text values are cut in the profile; it is a summary, not a copy.
_MAX_VALUE_CHARS = 200
_VALUE_SEMANTICS = frozenset(
    {SemanticType.CATEGORICAL, SemanticType.BOOLEAN, SemanticType.TEXT, SemanticType.IDENTIFIER}
)


def profile(
    parquet: Path,
    columns: list[ColumnSchema],
    stats: list[dict[str, Any]] | None = None,
    *,
    rows: int | None = None,
    memory_limit: str | None = None,
) -> list[ColumnProfile]:
    """Profile each of `columns` in the Parquet file, in the order given.

    `stats` are the statistics ingest computed for the same columns (`IngestResult.stats`), reused instead of a
    pass of the profile's own; on tables small enough for exact distinct counts, those are still counted here.
    `rows` is the table's row count when the caller knows it (ingest does): above a million rows, with every
    top value among ingest's value counts, nothing is then left to read and no DuckDB connection is made.
    """
    parquet = Path(parquet)
    table = f"read_parquet({literal(str(parquet))})"
    reused = stats if stats is not None and len(stats) == len(columns) else None
    counted = {i: s["value_counts"] for i, s in enumerate(reused or []) if "value_counts" in s}
    wanted = {i: c for i, c in enumerate(columns) if c.semantic_type in _VALUE_SEMANTICS}
    known = {i: _ranked(counted[i]) for i in wanted if i in counted}
    wanted = {i: c for i, c in wanted.items() if i not in known}
    known = {i: values for i, values in known.items() if values}
    if reused is not None and not wanted and rows is not None and rows > EXACT_DISTINCT_MAX_ROWS:
        return _profiles(columns, rows, _trimmed(columns, [dict(s) for s in reused]), known)
    with work_directory(parquet.parent) as workdir, closing(connect(workdir / "spill", memory_limit)) as con:
        if rows is None:
            rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        exact = rows <= EXACT_DISTINCT_MAX_ROWS
        if reused is not None:
            summaries = _trimmed(columns, [dict(s) for s in reused])
            if exact:
                _count_distinct(con, table, columns, summaries)
        else:
            summaries = _summaries(con, table, columns, exact=exact)
        # Thousands of aggregates in one query plan slowly (see `stats`); wide tables keep the unpivot.
        few = {
            i: c
            for i, c in wanted.items()
            if summaries[i]["distinct"] <= HISTOGRAM_MAX_DISTINCT and len(columns) <= WIDE_COLUMNS
        }
        top = _top_values(con, table, {i: c for i, c in wanted.items() if i not in few}) | _histograms(con, table, few)
    return _profiles(columns, rows, summaries, top | known)


def _profiles(
    columns: list[ColumnSchema], rows: int, summaries: list[dict[str, Any]], top: dict[int, list[ValueCount]]
) -> list[ColumnProfile]:
    return [
        ColumnProfile(
            name=column.name,
            missing_pct=100.0 * (rows - summary["non_missing"]) / rows if rows else 0.0,
            distinct=summary["distinct"],
            min=summary.get("min"),
            max=summary.get("max"),
            mean=summary.get("mean"),
            std=summary.get("std"),
            top_values=top.get(position, []),
        )
        for position, (column, summary) in enumerate(zip(columns, summaries, strict=True))
    ]


def _summaries(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[ColumnSchema], *, exact: bool
) -> list[dict[str, Any]]:
    schema = [(c.name, c.physical_type) for c in columns]
    return _trimmed(columns, column_stats(con, table, schema, exact_distinct=exact, moments=True))


def _count_distinct(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[ColumnSchema], summaries: list[dict[str, Any]]
) -> None:
    """Exact distinct counts in place of ingest's estimates (it counted exactly the columns it had value counts of
    and those it looked at closely as possible identifiers or free text)."""
    estimated = [i for i, summary in enumerate(summaries) if not summary.get("distinct_exact")]
    if not estimated:
        return
    schema = [(columns[i].name, columns[i].physical_type) for i in estimated]
    for i, found in zip(estimated, column_stats(con, table, schema, exact_distinct=True), strict=True):
        summaries[i]["distinct"] = found["distinct"]


def _trimmed(columns: list[ColumnSchema], summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Only numbers have a mean and spread; a string's min and max say little beyond its top values.
    for column, summary in zip(columns, summaries, strict=True):
        if not is_numeric(column.physical_type) and not is_temporal(column.physical_type):
            summary.pop("min", None)
            summary.pop("max", None)
    return summaries


def _top_values(
    con: duckdb.DuckDBPyConnection, table: str, columns: dict[int, ColumnSchema]
) -> dict[int, list[ValueCount]]:
    """The most frequent values of the given columns (keyed by position), counted in one unpivoting pass."""
    if not columns:
        return {}
    # Positional aliases keep the unpivoted names free of quoting trouble and of clashes.
    casts = ", ".join(f"CAST({ident(c.name)} AS VARCHAR) AS c{i}" for i, c in columns.items())
    found = con.execute(
        f"""
        SELECT column_alias, left(value, {_MAX_VALUE_CHARS}), hits FROM (
            SELECT column_alias, value, count(*) AS hits
            FROM (UNPIVOT (SELECT {casts} FROM {table}) ON COLUMNS(*) INTO NAME column_alias VALUE value)
            GROUP BY ALL
        )
        QUALIFY row_number() OVER (PARTITION BY column_alias ORDER BY hits DESC, value) <= {TOP_VALUES}
        ORDER BY column_alias, hits DESC, value
        """
    ).fetchall()
    top: dict[int, list[ValueCount]] = {}
    for alias, value, hits in found:
        top.setdefault(int(alias[1:]), []).append(ValueCount(value=value, count=hits))
    return top


def _histograms(
    con: duckdb.DuckDBPyConnection, table: str, columns: dict[int, ColumnSchema]
) -> dict[int, list[ValueCount]]:
    """The most frequent values of few-valued columns, from one `histogram` aggregate per column."""
    if not columns:
        return {}
    maps = ", ".join(VALUE_COUNTS.format(v=ident(c.name)) for c in columns.values())
    found = con.execute(f"SELECT {maps} FROM {table}").fetchall()[0]
    top = {position: _ranked(counts or {}) for position, counts in zip(columns, found, strict=True)}
    return {position: values for position, values in top.items() if values}


def _ranked(counts: dict[str, int]) -> list[ValueCount]:
    """The most frequent values of a {value: rows} map, ties broken by value."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_VALUES]
    return [ValueCount(value=value[:_MAX_VALUE_CHARS], count=hits) for value, hits in ranked]
