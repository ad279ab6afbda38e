"""Column profiles of a stored Parquet table: missing share, distinct count, numeric summary, top values.

Two passes whatever the width: one for the statistics of every column (`conveyor.data.stats`), and one
that unpivots the non-numeric columns into (column, value) pairs and keeps each column's five most
frequent values.
Distinct counts are exact up to a million rows and HyperLogLog estimates above. For float columns the
summary (min, max, mean, std) leaves out inf and NaN, which would otherwise swallow it.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb

from conveyor.data._duck import connect, ident, is_numeric, is_temporal, literal
from conveyor.data.ingestion import work_directory
from conveyor.data.stats import column_stats
from conveyor.domain.datasets import ColumnProfile, ColumnSchema, SemanticType, ValueCount

EXACT_DISTINCT_MAX_ROWS = 1_000_000
TOP_VALUES = 5
# Long free-text values are cut in the profile; it is a summary, not a copy.
_MAX_VALUE_CHARS = 200
_VALUE_SEMANTICS = frozenset(
    {SemanticType.CATEGORICAL, SemanticType.BOOLEAN, SemanticType.TEXT, SemanticType.IDENTIFIER}
)


def profile(parquet: Path, columns: list[ColumnSchema]) -> list[ColumnProfile]:
    """Profile each of `columns` in the Parquet file, in the order given."""
    parquet = Path(parquet)
    table = f"read_parquet({literal(str(parquet))})"
    with work_directory(parquet.parent) as workdir, closing(connect(workdir / "spill")) as con:
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        summaries = _summaries(con, table, columns, exact=rows <= EXACT_DISTINCT_MAX_ROWS)
        top = _top_values(con, table, {i: c for i, c in enumerate(columns) if c.semantic_type in _VALUE_SEMANTICS})
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
    summaries = column_stats(con, table, schema, exact_distinct=exact, moments=True)
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
