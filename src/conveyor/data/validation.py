"""Expectations on a table, checked by DuckDB: declared in YAML, suggested from a reference version.

An expectation is a mapping with a `type` and its arguments:

    - {type: not_null, column: age}
    - {type: unique, column: id}
    - {type: range, column: age, min: 0, max: 120}
    - {type: allowed_values, column: sex, values: [Male, Female]}
    - {type: regex, column: email, pattern: '^[^@]+@[^@]+$'}
    - {type: row_count, min: 1000, max: 100000}
    - {type: freshness, column: updated_at, max_age_hours: 24}
    - {type: sql, query: "SELECT * FROM data WHERE price < cost"}   # passes when the query returns no rows

Custom SQL runs sandboxed: the table is the view `data`, and no file or network access is possible.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from conveyor.data._duck import connect, ident, is_numeric, is_temporal, literal
from conveyor.data.ingestion import work_directory
from conveyor.domain.datasets import (
    ColumnProfile,
    ColumnSchema,
    ExpectationResult,
    SemanticType,
    ValidationResult,
    ValidationStatus,
)
from conveyor.errors import InvalidInput

_ARGUMENTS: dict[str, tuple[set[str], set[str]]] = {
    # type: (required, optional) arguments besides `type`
    "not_null": ({"column"}, set()),
    "unique": ({"column"}, set()),
    "range": ({"column"}, {"min", "max"}),
    "allowed_values": ({"column", "values"}, set()),
    "regex": ({"column", "pattern"}, set()),
    "row_count": (set(), {"min", "max"}),
    "freshness": ({"column", "max_age_hours"}, set()),
    "sql": ({"query"}, {"description"}),
}
# A suggested allowed-values list only for columns with at most this many categories.
_SUGGEST_MAX_VALUES = 30


def parse_expectations(raw: Any, origin: str = "expectations") -> list[dict[str, Any]]:
    """Check the shape of expectations read from YAML (a list, or a mapping with an `expectations` list)."""
    if isinstance(raw, dict) and "expectations" in raw:
        raw = raw["expectations"]
    if not isinstance(raw, list):
        raise InvalidInput(
            f"{origin} must be a list of expectations.", hint="Write `expectations:` followed by `- type: …` items."
        )
    parsed = []
    for position, item in enumerate(raw, start=1):
        where = f"Expectation {position} in {origin}"
        if not isinstance(item, dict) or "type" not in item:
            raise InvalidInput(f"{where} has no `type`.", hint=f"Use one of: {', '.join(_ARGUMENTS)}.")
        kind = item["type"]
        if kind not in _ARGUMENTS:
            raise InvalidInput(f"{where} has unknown type {kind!r}.", hint=f"Use one of: {', '.join(_ARGUMENTS)}.")
        required, optional = _ARGUMENTS[kind]
        missing = sorted(required - item.keys())
        if missing:
            raise InvalidInput(f"{where} ({kind}) lacks {', '.join(missing)}.", hint=_example(kind))
        unknown = sorted(item.keys() - required - optional - {"type"})
        if unknown:
            raise InvalidInput(f"{where} ({kind}) has unknown keys {', '.join(unknown)}.", hint=_example(kind))
        if kind in {"range", "row_count"} and "min" not in item and "max" not in item:
            raise InvalidInput(f"{where} ({kind}) needs min, max or both.", hint=_example(kind))
        parsed.append(dict(item))
    return parsed


def _example(kind: str) -> str:
    required, optional = _ARGUMENTS[kind]
    return f"A {kind} expectation takes: {', '.join(sorted(required | optional))}."


def check(
    parquet: Path,
    expectations: list[dict[str, Any]],
    now: datetime | None = None,
    *,
    memory_limit: str | None = None,
) -> ValidationResult:
    """Check every expectation on the Parquet table; unknown columns and bad SQL fail their expectation."""
    parquet = Path(parquet)
    now = now or datetime.now(UTC)
    with work_directory(parquet.parent) as workdir, closing(connect(workdir / "spill", memory_limit)) as con:
        con.execute(f"SET allowed_paths=[{literal(str(parquet))}]")
        con.execute(f"CREATE VIEW data AS SELECT * FROM read_parquet({literal(str(parquet))})")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        columns = {name: kind for name, kind, *_ in con.execute("DESCRIBE data").fetchall()}
        results = [_check_one(con, columns, expectation, now) for expectation in expectations]
    failed = any(not r.passed for r in results)
    return ValidationResult(
        status=ValidationStatus.FAILED if failed else ValidationStatus.PASSED, results=results, checked_at=now
    )


def _check_one(
    con: duckdb.DuckDBPyConnection, columns: dict[str, str], expectation: dict[str, Any], now: datetime
) -> ExpectationResult:
    kind = expectation["type"]
    column = expectation.get("column")
    if column is not None and column not in columns:
        return ExpectationResult(
            expectation=expectation,
            passed=False,
            message=f"{kind}: column {column!r} does not exist (columns: {', '.join(columns)}).",
        )
    try:
        passed, observed, message = _CHECKS[kind](con, expectation, columns, now)
    except duckdb.Error as error:
        first = str(error).splitlines()[0]
        return ExpectationResult(expectation=expectation, passed=False, message=f"{kind}: {first}")
    return ExpectationResult(expectation=expectation, passed=passed, observed=observed, message=message)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    return con.execute(sql).fetchall()[0][0]


def _not_null(con, e, columns, now):  # type: ignore[no-untyped-def]
    found = _scalar(con, f"SELECT count(*) FROM data WHERE {ident(e['column'])} IS NULL")
    return found == 0, found, f"{e['column']!r} has {found:,} missing values" if found else ""


def _unique(con, e, columns, now):  # type: ignore[no-untyped-def]
    c = ident(e["column"])
    found = _scalar(con, f"SELECT count({c}) - count(DISTINCT {c}) FROM data")
    return found == 0, found, f"{e['column']!r} has {found:,} repeated values" if found else ""


def _range(con, e, columns, now):  # type: ignore[no-untyped-def]
    c = ident(e["column"])
    conditions = []
    if e.get("min") is not None:
        conditions.append(f"{c} < {_value(e['min'])}")
    if e.get("max") is not None:
        conditions.append(f"{c} > {_value(e['max'])}")
    found = _scalar(con, f"SELECT count(*) FROM data WHERE {' OR '.join(conditions)}")
    bounds = f"[{e.get('min', '-∞')}, {e.get('max', '∞')}]"
    return found == 0, found, f"{found:,} values of {e['column']!r} fall outside {bounds}" if found else ""


def _allowed(con, e, columns, now):  # type: ignore[no-untyped-def]
    c = ident(e["column"])
    allowed = ", ".join(literal(str(v)) for v in e["values"])
    rows = con.execute(
        f"SELECT CAST({c} AS VARCHAR) AS v, count(*) FROM data WHERE {c} IS NOT NULL "
        f"AND CAST({c} AS VARCHAR) NOT IN ({allowed}) GROUP BY v ORDER BY count(*) DESC LIMIT 5"
    ).fetchall()
    found = _scalar(con, f"SELECT count(*) FROM data WHERE {c} IS NOT NULL AND CAST({c} AS VARCHAR) NOT IN ({allowed})")
    examples = ", ".join(repr(v) for v, _ in rows)
    return found == 0, found, f"{found:,} values of {e['column']!r} are not allowed, e.g. {examples}" if found else ""


def _regex(con, e, columns, now):  # type: ignore[no-untyped-def]
    c = ident(e["column"])
    found = _scalar(
        con,
        f"SELECT count(*) FROM data WHERE {c} IS NOT NULL "
        f"AND NOT regexp_full_match(CAST({c} AS VARCHAR), {literal(e['pattern'])})",
    )
    message = f"{found:,} values of {e['column']!r} do not match {e['pattern']!r}" if found else ""
    return found == 0, found, message


def _row_count(con, e, columns, now):  # type: ignore[no-untyped-def]
    rows = _scalar(con, "SELECT count(*) FROM data")
    passed = (e.get("min") is None or rows >= e["min"]) and (e.get("max") is None or rows <= e["max"])
    return passed, rows, "" if passed else f"{rows:,} rows, expected [{e.get('min', 0)}, {e.get('max', '∞')}]"


def _freshness(con, e, columns, now):  # type: ignore[no-untyped-def]
    newest = _scalar(con, f"SELECT max(CAST({ident(e['column'])} AS TIMESTAMP)) FROM data")
    if newest is None:
        return False, None, f"{e['column']!r} has no dates"
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    age = (now - newest).total_seconds() / 3600
    passed = age <= float(e["max_age_hours"])
    message = "" if passed else f"newest {e['column']!r} is {age:.1f} h old (limit {e['max_age_hours']} h)"
    return passed, newest.isoformat(), message


def _sql(con, e, columns, now):  # type: ignore[no-untyped-def]
    found = _scalar(con, f"SELECT count(*) FROM ({e['query']})")
    label = e.get("description") or e["query"]
    return found == 0, found, f"{found:,} rows break {label!r}" if found else ""


_CHECKS: dict[str, Callable[..., tuple[bool, Any, str]]] = {
    "not_null": _not_null,
    "unique": _unique,
    "range": _range,
    "allowed_values": _allowed,
    "regex": _regex,
    "row_count": _row_count,
    "freshness": _freshness,
    "sql": _sql,
}


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return literal(str(value))


def suggest(
    parquet: Path, columns: list[ColumnSchema], profiles: list[ColumnProfile], *, memory_limit: str | None = None
) -> list[dict[str, Any]]:
    """Expectations that the reference version meets and later ones plausibly should (like GE's profiler)."""
    parquet = Path(parquet)
    table = f"read_parquet({literal(str(parquet))})"
    with work_directory(parquet.parent) as workdir, closing(connect(workdir / "spill", memory_limit)) as con:
        rows = _scalar(con, f"SELECT count(*) FROM {table}")
        suggested: list[dict[str, Any]] = [{"type": "row_count", "min": max(1, rows // 2)}]
        for column, profile in zip(columns, profiles, strict=True):
            name = column.name
            if profile.missing_pct == 0:
                suggested.append({"type": "not_null", "column": name})
            if column.semantic_type == SemanticType.IDENTIFIER and profile.distinct == rows:
                suggested.append({"type": "unique", "column": name})
            if (
                column.semantic_type == SemanticType.NUMERIC
                and is_numeric(column.physical_type)
                and profile.min is not None
                and profile.max is not None
            ):
                suggested.append({"type": "range", "column": name, "min": profile.min, "max": profile.max})
            elif (
                column.semantic_type in {SemanticType.CATEGORICAL, SemanticType.BOOLEAN}
                and not is_temporal(column.physical_type)
                and 0 < profile.distinct <= _SUGGEST_MAX_VALUES
            ):
                c = ident(name)
                values = con.execute(
                    f"SELECT DISTINCT CAST({c} AS VARCHAR) AS v FROM {table} WHERE {c} IS NOT NULL ORDER BY v"
                ).fetchall()
                suggested.append({"type": "allowed_values", "column": name, "values": [v for (v,) in values]})
    return suggested
