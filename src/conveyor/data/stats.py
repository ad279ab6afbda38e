"""Per-column statistics computed by DuckDB in one pass, for semantic types at ingest and for profiles.

Two query shapes give the same numbers. A narrow table gets one aggregate per statistic and column in a
single SELECT, the fastest for tall tables. A wide one is unpivoted into (column, value) pairs and grouped
by column, because DuckDB's planning time grows with the number of aggregates in a query (thousands of
columns take seconds that way, and DISTINCT aggregates much longer) while the unpivoted query stays small.
Values are grouped by kind so each unpivot has one type: numbers as DOUBLE, strings, and everything else
(dates, booleans, nested) as text for counting. Float statistics leave out inf and NaN.
Moments (mean, std) are asked for only by profiles: ingest needs none and skips their cost.

Columns known to hold few values (`counted`) are counted value by value in a pass of their own (one grouping set each):
their distinct count is then exact, and the profile takes their most frequent values from it instead of a pass
of its own.

Minimum and maximum of integer, float, text and temporal columns come from a query of their own: alone, DuckDB
answers them from the Parquet file's statistics without reading a row, while beside other aggregates it compares
every value (string comparisons were two fifths of the statistics pass on a 2.26 M-row table). Floats are bounded
and summed as they are, which is exact unless a column holds inf or NaN; only the columns whose figures come out
non-finite are taken again without those values (filtering every float value cost a fifth of the pass on a
395 k-row table of 15 float columns).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import duckdb

from conveyor.data._duck import ident, is_float, is_integer, is_numeric, is_temporal, is_text

# Above this many columns the unpivoted query is the faster one (and DISTINCT aggregates stay few per query).
WIDE_COLUMNS = 64

_FINITE = " FILTER (WHERE isfinite({v}))"
_BOUNDS = {"min": "min({v})", "max": "max({v})"}
_MOMENTS = {"mean": "avg({v})", "std": "stddev_samp({v})"}
_TEXT = {
    "min": "min({v})",
    "max": "max({v})",
    "has_nul": "coalesce(bool_or(contains({v}, chr(0))), false)",
}
# Missing values are left out of the map, as they are out of `distinct`. The profile counts values the same way,
# so the counts ingest took stand in for its own.
VALUE_COUNTS = "histogram(CAST({v} AS VARCHAR))"
_TEXT_SHAPE = {
    "min_length": "min(length({v}))",
    "max_length": "max(length({v}))",
    "average_length": "avg(length({v}))",
    "space_share": "avg(contains({v}, ' ')::INTEGER)",
}


def column_stats(
    con: duckdb.DuckDBPyConnection,
    table: str,
    schema: list[tuple[str, str]],
    *,
    exact_distinct: bool,
    moments: bool = False,
    shapes: bool = False,
    counted: Collection[str] = (),
    text_checks: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Statistics of each (name, DuckDB type) column of `table` (a FROM clause), in schema order.

    Every column gets `non_missing` and `distinct` (exact or HyperLogLog); numbers add min and max (and mean
    and std with `moments`); strings add min, max and whether any holds a NUL byte (and, with `shapes`, their
    lengths and the share of values with a space);
    dates and times add min and max. The columns named in `counted` (few-valued ones: each value becomes an entry
    of a hash map) also get `value_counts`, {value as text: rows}, and an exact `distinct`; a wide table's
    unpivoted query leaves them out. `distinct_exact` says whether a column's `distinct` is exact. `text_checks`
    ({key: aggregate of `{v}`}) are taken of every text column without value counts.
    """
    checks = dict(text_checks or {})
    found: dict[str, dict[str, Any]] = {name: {"non_missing": 0} for name, _ in schema}
    if len(schema) > WIDE_COLUMNS:
        groups: dict[str, list[str]] = {"numeric": [], "text": [], "other": []}
        for name, kind in schema:
            groups[_group(kind)].append(name)
        for group, names in groups.items():
            if names:
                unpivoted = _unpivoted(con, table, group, names, (exact_distinct, moments, shapes), checks)
                for name, stats in unpivoted.items():
                    found[name].update(stats)
    elif schema:
        wanted = (exact_distinct, moments, shapes)
        for name, stats in _column_wise(con, table, schema, wanted, set(counted), checks).items():
            found[name].update(stats)
    narrow = len(schema) <= WIDE_COLUMNS
    bounded = [name for name, kind in schema if is_temporal(kind) or (narrow and _group(kind) != "other")]
    if bounded:
        bounds = ", ".join(f"min({ident(n)}), max({ident(n)})" for n in bounded)
        values = iter(con.execute(f"SELECT {bounds} FROM {table}").fetchall()[0])
        for name in bounded:
            found[name] |= {"min": next(values), "max": next(values)}
    if narrow:
        _finite_figures(con, table, schema, found, moments)
    kinds = dict(schema)
    for name, stats in found.items():
        stats.setdefault("distinct", 0)
        stats["distinct_exact"] = exact_distinct or "value_counts" in stats
        if is_integer(kinds[name]):
            stats |= {key: int(stats[key]) for key in ("min", "max") if _is_finite(stats.get(key))}
    return [found[name] for name, _ in schema]


def _group(kind: str) -> str:
    return "numeric" if is_numeric(kind) else "text" if is_text(kind) else "other"


def _aggregates(
    group: str, wanted: tuple[bool, bool, bool], *, finite_only: bool, checks: dict[str, str]
) -> dict[str, str]:
    exact_distinct, moments, shapes = wanted
    distinct = "count(DISTINCT {v})" if exact_distinct else "approx_count_distinct({v})"
    aggregates = {"non_missing": "count({v})", "distinct": distinct}
    if group == "text":
        return aggregates | _TEXT | (_TEXT_SHAPE if shapes else {}) | checks
    if group == "numeric":
        numeric = _BOUNDS | (_MOMENTS if moments else {})
        return aggregates | {key: sql + (_FINITE if finite_only else "") for key, sql in numeric.items()}
    return aggregates


def _column_wise(
    con: duckdb.DuckDBPyConnection,
    table: str,
    schema: list[tuple[str, str]],
    wanted: tuple[bool, bool, bool],
    counted: set[str],
    checks: dict[str, str],
) -> dict[str, dict[str, Any]]:
    per_column = {name: _column_aggregates(kind, wanted, name in counted, checks) for name, kind in schema}
    expressions = [
        template.format(v=ident(name)) for name, aggregates in per_column.items() for template in aggregates.values()
    ]
    values = iter(con.execute(f"SELECT {', '.join(expressions)} FROM {table}").fetchall()[0])
    found = {name: {key: next(values) for key in aggregates} for name, aggregates in per_column.items()}
    # A query of their own: beside the other aggregates, value counts made the statistics pass 2.5 times slower.
    names = [name for name, _ in schema if name in counted]
    if names:
        kinds = dict(schema)
        for name, counts in zip(names, _value_counts(con, table, names), strict=True):
            found[name] |= {"value_counts": counts, "distinct": len(counts)}
            if is_text(kinds[name]):
                found[name]["has_nul"] = any("\0" in value for value in found[name]["value_counts"])
    return found


def _value_counts(con: duckdb.DuckDBPyConnection, table: str, names: list[str]) -> list[dict[str, int]]:
    """{value as text: rows} of each named column, missing values left out, as `VALUE_COUNTS` counts them.

    One grouping set per column in one pass: 0.12 s against 0.16 s for a `histogram` per column on the bench
    file's 10 text columns (2.26 M rows). Within a column's set the other columns are NULL, so `coalesce` picks
    its value; the set's group of missing values comes out NULL and is skipped.
    """
    casts = ", ".join(f"CAST({ident(name)} AS VARCHAR) AS c{i}" for i, name in enumerate(names))
    aliases = [f"c{i}" for i in range(len(names))]
    which = " ".join(f"WHEN grouping({alias}) = 0 THEN {i}" for i, alias in enumerate(aliases))
    sets = ", ".join(f"({alias})" for alias in aliases)
    rows = con.execute(
        f"SELECT CASE {which} END, coalesce({', '.join(aliases)}), count(*) FROM (SELECT {casts} FROM {table}) "
        f"GROUP BY GROUPING SETS ({sets})"
    ).fetchall()
    counts: list[dict[str, int]] = [{} for _ in names]
    for position, value, rows_with_value in rows:
        if value is not None:
            counts[position][value] = rows_with_value
    return counts


def _column_aggregates(
    kind: str, wanted: tuple[bool, bool, bool], counted: bool, checks: dict[str, str]
) -> dict[str, str]:
    """One column's aggregates in the main query: bounds are left to their own query, and a `counted` column
    takes its distinct count and NUL check (and needs no text checks) from its value counts."""
    aggregates = _aggregates(_group(kind), wanted, finite_only=False, checks={} if counted else checks)
    from_counts = {"distinct", "has_nul"} if counted else set()
    return {key: sql for key, sql in aggregates.items() if key not in _BOUNDS and key not in from_counts}


def _finite_figures(
    con: duckdb.DuckDBPyConnection,
    table: str,
    schema: list[tuple[str, str]],
    found: dict[str, dict[str, Any]],
    moments: bool,
) -> None:
    """Take again, without inf and NaN, the bounds (and moments) of the float columns where those came out
    non-finite."""
    figures = _BOUNDS | (_MOMENTS if moments else {})
    unfinished = [
        name for name, kind in schema if is_float(kind) and any(_is_non_finite(found[name].get(key)) for key in figures)
    ]
    if not unfinished:
        return
    selected = ", ".join((sql + _FINITE).format(v=ident(name)) for name in unfinished for sql in figures.values())
    values = iter(con.execute(f"SELECT {selected} FROM {table}").fetchall()[0])
    for name in unfinished:
        found[name] |= {key: next(values) for key in figures}


def _unpivoted(
    con: duckdb.DuckDBPyConnection,
    table: str,
    group: str,
    names: list[str],
    wanted: tuple[bool, bool, bool],
    checks: dict[str, str],
) -> dict[str, dict[str, Any]]:
    aggregates = _aggregates(group, wanted, finite_only=group == "numeric", checks=checks)
    # One unpivot needs one type: numbers as DOUBLE, everything else as text.
    value_type = "DOUBLE" if group == "numeric" else "VARCHAR"
    # Positional aliases keep the unpivoted names free of quoting trouble and clashes.
    casts = ", ".join(f"CAST({ident(name)} AS {value_type}) AS c{i}" for i, name in enumerate(names))
    selected = ", ".join(template.format(v="value") for template in aggregates.values())
    rows = con.execute(
        f"SELECT column_alias, {selected} FROM "
        f"(UNPIVOT (SELECT {casts} FROM {table}) ON COLUMNS(*) INTO NAME column_alias VALUE value) "
        "GROUP BY column_alias"
    ).fetchall()
    return {names[int(alias[1:])]: dict(zip(aggregates, values, strict=True)) for alias, *values in rows}


def _is_finite(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _is_non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)
