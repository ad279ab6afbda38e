"""Recipes: a prepare recipe (ordered steps) or a SQL recipe (one query) turned into one DuckDB query, run sandboxed.

A prepare recipe reads one main input and may join or union others:

    name: adult_clean
    output: adult_clean
    input: adult                      # a dataset name, or NAME:VERSION to pin it
    steps:
      - rename: {sex: gender}
      - drop: [fnlwgt]
      - cast: {age: DOUBLE}
      - fill_missing: {workclass: Unknown, hours_per_week: {strategy: median}}
      - filter: "age >= 18"
      - derive: {age_decade: "floor(age / 10)"}
      - parse_dates: {signup: "%Y-%m-%d"}
      - split: {column: name, separator: " ", into: [first, last]}
      - deduplicate: true             # or [columns]
      - sample: {rows: 1000, seed: 1} # or {fraction: 0.1}
      - join: {dataset: regions, on: [country], how: left}
      - union: {dataset: adult_extra}
      - aggregate: {by: [gender], aggregations: {n: "count(*)", mean_age: "avg(age)"}}

A SQL recipe is `sql: SELECT …` over its `inputs`, each visible as a view named after the dataset.

Every step is checked as it is added (the columns it names exist; its SQL binds), so a bad step fails before
anything runs, with the step and the column named. The connection may read only the input files and write only
its work directory (`enable_external_access=false`, locked). Rows keep a deterministic order, so running a
recipe again on the same inputs gives the same content hash.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb

from conveyor.data._duck import connect, ident, literal
from conveyor.data.ingestion import IngestResult, describe_written, work_directory
from conveyor.errors import InvalidInput, UnreadableData

POSITION = "__conveyor_pos"
STEP_KINDS = (
    "rename",
    "drop",
    "select",
    "cast",
    "fill_missing",
    "filter",
    "derive",
    "parse_dates",
    "split",
    "deduplicate",
    "sample",
    "join",
    "union",
    "aggregate",
)
_JOIN_KINDS = {"inner": "INNER", "left": "LEFT", "right": "RIGHT", "full": "FULL", "outer": "FULL"}
_FILL_STRATEGIES = {
    "mean": "avg({c})",
    "median": "median({c})",
    "mode": "mode({c})",
    "min": "min({c})",
    "max": "max({c})",
}


def recipe_inputs(spec: dict[str, Any]) -> list[str]:
    """The dataset references a recipe reads (`NAME` or `NAME:VERSION`), main input first."""
    check_spec(spec)
    if "sql" in spec:
        return list(spec["inputs"])
    found = [spec["input"]]
    for step in spec.get("steps", []):
        kind, args = next(iter(step.items()))
        if kind in {"join", "union"} and isinstance(args, dict) and "dataset" in args:
            found.append(args["dataset"])
    return list(dict.fromkeys(found))


def check_spec(spec: Any) -> None:
    """Refuse a recipe whose shape is wrong, naming what is missing."""
    if not isinstance(spec, dict):
        raise InvalidInput("A recipe must be a mapping.", hint="Write name:, output:, input: and steps: (or sql:).")
    for key in ("name", "output"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            raise InvalidInput(f"The recipe has no {key!r}.", hint="Every recipe names itself and its output dataset.")
    if "sql" in spec:
        if not isinstance(spec.get("inputs"), list) or not spec["inputs"]:
            raise InvalidInput(
                f"SQL recipe {spec['name']!r} lists no inputs.", hint="Add `inputs: [dataset, …]` naming the tables."
            )
        return
    if not isinstance(spec.get("input"), str):
        raise InvalidInput(f"Recipe {spec['name']!r} has no 'input' dataset.", hint="Add `input: DATASET`.")
    steps = spec.get("steps")
    if not isinstance(steps, list) or not steps:
        raise InvalidInput(f"Recipe {spec['name']!r} has no steps.", hint="Add `steps:` with at least one step.")
    for number, step in enumerate(steps, start=1):
        if not isinstance(step, dict) or len(step) != 1 or next(iter(step)) not in STEP_KINDS:
            raise InvalidInput(
                f"Step {number} of recipe {spec['name']!r} is not a step: {step!r}.",
                hint=f"Each step is one of {', '.join(STEP_KINDS)} with its arguments, e.g. `- drop: [col]`.",
            )


def run_recipe(
    spec: dict[str, Any], inputs: dict[str, Path], dest: Path, *, memory_limit: str | None = None
) -> IngestResult:
    """Run `spec` over `inputs` (reference as written in the spec → Parquet file) and write `dest` (Parquet).

    `dest` appears only when everything succeeded. DuckDB works within `memory_limit` (see `connect`).
    """
    check_spec(spec)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with work_directory(dest.parent) as workdir, closing(connect(workdir / "spill", memory_limit)) as con:
        views = _sandbox(con, inputs, workdir)
        query = _sql_query(con, spec, views) if "sql" in spec else _prepare_query(con, spec, views)
        written = workdir / "recipe.parquet"
        try:
            con.execute(f"COPY ({query}) TO {literal(str(written))} (FORMAT parquet, COMPRESSION zstd)")
        except duckdb.Error as error:
            raise _run_error(con, spec, views, error) from error
        try:
            result = describe_written(con, written, f"recipe {spec['name']!r}")
        except UnreadableData:
            raise InvalidInput(
                f"Recipe {spec['name']!r} produced no rows.", hint="Check its filters, joins and sample size."
            ) from None
        os.replace(written, dest)
    return result


def _sandbox(con: duckdb.DuckDBPyConnection, inputs: dict[str, Path], workdir: Path) -> dict[str, str]:
    """Views over the inputs, then no file or network access beyond them and the work directory."""
    views = {}
    paths = ", ".join(literal(str(p)) for p in inputs.values())
    con.execute(f"SET allowed_paths = [{paths}]")
    con.execute(f"SET allowed_directories = [{literal(str(workdir) + os.sep)}]")
    for reference, path in inputs.items():
        name = reference.partition(":")[0]
        con.execute(f"CREATE VIEW {ident(name)} AS SELECT * FROM read_parquet({literal(str(path))})")
        views[reference] = ident(name)
        views.setdefault(name, ident(name))
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return views


def _sql_query(con: duckdb.DuckDBPyConnection, spec: dict[str, Any], views: dict[str, str]) -> str:
    query = str(spec["sql"]).strip().rstrip(";")
    names = ", ".join(sorted({reference.partition(":")[0] for reference in views}))
    try:
        con.execute(f"DESCRIBE {query}").fetchall()
    except duckdb.Error as error:
        raise InvalidInput(
            f"SQL recipe {spec['name']!r}: {_first_line(error)}",
            hint=f"The query may read only its inputs: {names}.",
        ) from error
    return query


class _Builder:
    """The query so far and its columns; each step wraps it in a new SELECT."""

    def __init__(self, con: duckdb.DuckDBPyConnection, spec: dict[str, Any], views: dict[str, str]) -> None:
        self.con = con
        self.spec = spec
        self.views = views
        self.sql = f"SELECT *, row_number() OVER () - 1 AS {POSITION} FROM {views[spec['input']]}"
        self.columns = self._describe(self.sql, 0, "input")
        self.number = 0
        self.kind = ""

    def _describe(self, sql: str, number: int, kind: str) -> list[str]:
        try:
            found = [row[0] for row in self.con.execute(f"DESCRIBE {sql}").fetchall()]
        except duckdb.Error as error:
            raise InvalidInput(
                f"Step {number} ({kind}) of recipe {self.spec['name']!r}: {_first_line(error)}",
                hint=f"Columns at that step: {', '.join(self.columns)}." if number else None,
            ) from error
        return [name for name in found if name != POSITION]

    def fail(self, message: str, hint: str | None = None) -> InvalidInput:
        return InvalidInput(
            f"Step {self.number} ({self.kind}) of recipe {self.spec['name']!r}: {message}",
            hint=hint or f"Columns at that step: {', '.join(self.columns)}.",
        )

    def need(self, *names: str) -> None:
        for name in names:
            if name not in self.columns:
                raise self.fail(f"unknown column {name!r}.")

    def other(self, args: dict[str, Any]) -> str:
        reference = args.get("dataset")
        if reference not in self.views:
            raise self.fail(f"unknown dataset {reference!r}.", hint="Name a dataset that exists, as NAME or NAME:V.")
        return self.views[reference]

    def push(self, sql: str) -> None:
        self.columns = self._describe(sql, self.number, self.kind)
        self.sql = sql

    def frm(self) -> str:
        return f"({self.sql}) AS t"

    def scalar(self, sql: str) -> Any:
        try:
            return self.con.execute(sql).fetchall()[0][0]
        except duckdb.Error as error:
            raise self.fail(_first_line(error)) from error


def _prepare_query(con: duckdb.DuckDBPyConnection, spec: dict[str, Any], views: dict[str, str]) -> str:
    builder = _Builder(con, spec, views)
    for number, step in enumerate(spec["steps"], start=1):
        kind, args = next(iter(step.items()))
        builder.number, builder.kind = number, kind
        _STEPS[kind](builder, args)
    return f"SELECT * EXCLUDE ({POSITION}) FROM ({builder.sql}) ORDER BY {POSITION}"


def _mapping(builder: _Builder, args: Any) -> dict[str, Any]:
    if not isinstance(args, dict) or not args:
        raise builder.fail(f"expects a mapping of column to value, got {args!r}.", hint=None)
    return args


def _names(builder: _Builder, args: Any) -> list[str]:
    names = [args] if isinstance(args, str) else args
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise builder.fail(f"expects a list of column names, got {args!r}.")
    builder.need(*names)
    return names


def _rename(b: _Builder, args: Any) -> None:
    mapping = _mapping(b, args)
    b.need(*mapping)
    renamed = ", ".join(f"{ident(old)} AS {ident(str(new))}" for old, new in mapping.items())
    b.push(f"SELECT * EXCLUDE ({', '.join(ident(o) for o in mapping)}), {renamed} FROM {b.frm()}")


def _drop(b: _Builder, args: Any) -> None:
    names = _names(b, args)
    b.push(f"SELECT * EXCLUDE ({', '.join(ident(n) for n in names)}) FROM {b.frm()}")


def _select(b: _Builder, args: Any) -> None:
    names = _names(b, args)
    b.push(f"SELECT {', '.join(ident(n) for n in names)}, {POSITION} FROM {b.frm()}")


def _cast(b: _Builder, args: Any) -> None:
    mapping = _mapping(b, args)
    b.need(*mapping)
    for column, kind in mapping.items():
        c = ident(column)
        bad = b.scalar(f"SELECT count(*) FROM {b.frm()} WHERE {c} IS NOT NULL AND TRY_CAST({c} AS {kind}) IS NULL")
        if bad:
            example = b.scalar(
                f"SELECT CAST({c} AS VARCHAR) FROM {b.frm()} "
                f"WHERE {c} IS NOT NULL AND TRY_CAST({c} AS {kind}) IS NULL LIMIT 1"
            )
            raise b.fail(f"{bad:,} values of column {column!r} cannot become {kind}, e.g. {example!r}.")
    replaced = ", ".join(f"CAST({ident(c)} AS {k}) AS {ident(c)}" for c, k in mapping.items())
    b.push(f"SELECT * REPLACE ({replaced}) FROM {b.frm()}")


def _fill_missing(b: _Builder, args: Any) -> None:
    mapping = _mapping(b, args)
    b.need(*mapping)
    replaced = []
    for column, value in mapping.items():
        c = ident(column)
        if isinstance(value, dict):
            strategy = value.get("strategy")
            if strategy not in _FILL_STRATEGIES:
                raise b.fail(
                    f"unknown fill strategy {strategy!r} for column {column!r}.",
                    hint=f"Use a value or one of: {', '.join(_FILL_STRATEGIES)}.",
                )
            fill = f"(SELECT {_FILL_STRATEGIES[strategy].format(c=c)} FROM {b.frm()})"
        elif isinstance(value, bool):
            fill = "true" if value else "false"
        elif isinstance(value, int | float):
            fill = repr(value)
        else:
            fill = literal(str(value))
        replaced.append(f"coalesce({c}, {fill}) AS {c}")
    b.push(f"SELECT * REPLACE ({', '.join(replaced)}) FROM {b.frm()}")


def _filter(b: _Builder, args: Any) -> None:
    if not isinstance(args, str) or not args.strip():
        raise b.fail("expects a SQL condition, e.g. `filter: age >= 18`.", hint=None)
    b.push(f"SELECT * FROM {b.frm()} WHERE {args}")


def _derive(b: _Builder, args: Any) -> None:
    mapping = _mapping(b, args)
    for name, expression in mapping.items():
        if name in b.columns:
            b.push(f"SELECT * REPLACE (({expression}) AS {ident(name)}) FROM {b.frm()}")
        else:
            b.push(f"SELECT *, ({expression}) AS {ident(name)} FROM {b.frm()}")


def _parse_dates(b: _Builder, args: Any) -> None:
    mapping = _mapping(b, args)
    b.need(*mapping)
    for column, pattern in mapping.items():
        c = ident(column)
        text = f"CAST({c} AS VARCHAR)"
        parse = f"try_strptime({text}, {literal(pattern)})" if pattern else f"TRY_CAST({text} AS TIMESTAMP)"
        bad = b.scalar(f"SELECT count(*) FROM {b.frm()} WHERE {c} IS NOT NULL AND {parse} IS NULL")
        if bad:
            example = b.scalar(f"SELECT {text} FROM {b.frm()} WHERE {c} IS NOT NULL AND {parse} IS NULL LIMIT 1")
            raise b.fail(f"{bad:,} values of column {column!r} are not dates like {pattern!r}, e.g. {example!r}.")
        b.push(f"SELECT * REPLACE ({parse} AS {c}) FROM {b.frm()}")


def _split(b: _Builder, args: Any) -> None:
    mapping = _mapping(b, args)
    column, into = mapping.get("column"), mapping.get("into")
    separator = mapping.get("separator", mapping.get("sep", ","))
    if not isinstance(column, str) or not isinstance(into, list) or not into:
        raise b.fail("expects `column:`, `separator:` and `into:` with the new column names.", hint=None)
    b.need(column)
    parts = ", ".join(
        f"nullif(split_part(CAST({ident(column)} AS VARCHAR), {literal(separator)}, {i}), '') AS {ident(name)}"
        for i, name in enumerate(into, start=1)
    )
    drop = f" EXCLUDE ({ident(column)})" if mapping.get("drop") else ""
    b.push(f"SELECT *{drop}, {parts} FROM {b.frm()}")


def _deduplicate(b: _Builder, args: Any) -> None:
    names = b.columns if args is True or args is None else _names(b, args)
    keys = ", ".join(ident(n) for n in names)
    b.push(f"SELECT * FROM {b.frm()} QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {POSITION}) = 1")


def _sample(b: _Builder, args: Any) -> None:
    mapping = _mapping(b, args)
    seed = int(mapping.get("seed", 0))
    # A hash of the position and seed orders rows reproducibly, whatever the thread count.
    order = f"hash({POSITION}, {seed})"
    if "rows" in mapping:
        b.push(f"SELECT * FROM {b.frm()} ORDER BY {order} LIMIT {int(mapping['rows'])}")
    elif "fraction" in mapping:
        fraction = float(mapping["fraction"])
        if not 0 < fraction <= 1:
            raise b.fail(f"fraction must be in (0, 1], got {fraction}.", hint=None)
        b.push(f"SELECT * FROM {b.frm()} WHERE ({order} % 1000000) < {int(fraction * 1_000_000)}")
    else:
        raise b.fail("expects rows: N or fraction: F (and an optional seed).", hint=None)


def _join(b: _Builder, args: Any) -> None:
    mapping = _mapping(b, args)
    other = b.other(mapping)
    how = _JOIN_KINDS.get(str(mapping.get("how", "inner")).lower())
    if how is None:
        raise b.fail(f"unknown join kind {mapping.get('how')!r}.", hint=f"Use one of: {', '.join(_JOIN_KINDS)}.")
    # YAML 1.1 reads a bare `on:` key as the boolean true (stored as JSON, it becomes "true").
    on = mapping.get("on", mapping.get(True, mapping.get("true")))
    keys = [on] if isinstance(on, str) else on
    if not isinstance(keys, list) or not keys:
        raise b.fail("expects `on:` with the key column(s).", hint=None)
    b.need(*keys)
    other_columns = [row[0] for row in b.con.execute(f"DESCRIBE SELECT * FROM {other}").fetchall()]
    missing = [k for k in keys if k not in other_columns]
    if missing:
        raise b.fail(
            f"join key {missing[0]!r} is not a column of {mapping['dataset']!r}.",
            hint=f"Its columns: {', '.join(other_columns)}.",
        )
    clashes = [c for c in other_columns if c in b.columns and c not in keys]
    if clashes:
        raise b.fail(f"both sides have column {clashes[0]!r}.", hint="Rename or drop it on one side before joining.")
    key_list = ", ".join(ident(k) for k in keys)
    b.push(
        f"SELECT t.*, u.* EXCLUDE ({key_list}) FROM {b.frm()} {how} JOIN {other} AS u USING ({key_list})"
        if how != "FULL"
        else f"SELECT * FROM {b.frm()} FULL JOIN {other} AS u USING ({key_list})"
    )
    # Joined rows follow the left rows' order; a full join's unmatched right rows go last.
    b.push(
        f"SELECT * EXCLUDE ({POSITION}), row_number() OVER (ORDER BY {POSITION} NULLS LAST, "
        f"hash(*COLUMNS(*))) - 1 AS {POSITION} FROM {b.frm()}"
    )


def _union(b: _Builder, args: Any) -> None:
    other = b.other(_mapping(b, args))
    b.push(
        f"SELECT * EXCLUDE (__part, {POSITION}), row_number() OVER (ORDER BY __part, {POSITION}) - 1 AS {POSITION} "
        f"FROM (SELECT *, 0 AS __part FROM {b.frm()} UNION ALL BY NAME "
        f"SELECT *, 1 AS __part, row_number() OVER () - 1 AS {POSITION} FROM {other})"
    )


def _aggregate(b: _Builder, args: Any) -> None:
    mapping = _mapping(b, args)
    by = mapping.get("by", [])
    by = [by] if isinstance(by, str) else by
    aggregations = mapping.get("aggregations") or mapping.get("aggs")
    if not isinstance(aggregations, dict) or not aggregations:
        raise b.fail("expects `aggregations:` mapping new column names to SQL aggregates.", hint=None)
    b.need(*by)
    keys = ", ".join(ident(k) for k in by)
    selected = ", ".join([*(ident(k) for k in by), *(f"{expr} AS {ident(n)}" for n, expr in aggregations.items())])
    group = f" GROUP BY {keys}" if by else ""
    order = f"ORDER BY {keys}" if by else ""
    b.push(
        f"SELECT *, row_number() OVER ({order}) - 1 AS {POSITION} FROM "
        f"(SELECT {selected} FROM (SELECT * EXCLUDE ({POSITION}) FROM {b.frm()}){group})"
    )


_STEPS: dict[str, Callable[[_Builder, Any], None]] = {
    "rename": _rename,
    "drop": _drop,
    "select": _select,
    "cast": _cast,
    "fill_missing": _fill_missing,
    "filter": _filter,
    "derive": _derive,
    "parse_dates": _parse_dates,
    "split": _split,
    "deduplicate": _deduplicate,
    "sample": _sample,
    "join": _join,
    "union": _union,
    "aggregate": _aggregate,
}


def _run_error(
    con: duckdb.DuckDBPyConnection, spec: dict[str, Any], views: dict[str, str], error: duckdb.Error
) -> InvalidInput:
    """Name the first step whose partial query fails when the whole recipe failed while running."""
    if "sql" not in spec:
        builder = _Builder(con, spec, views)
        for number, step in enumerate(spec["steps"], start=1):
            kind, args = next(iter(step.items()))
            builder.number, builder.kind = number, kind
            _STEPS[kind](builder, args)
            try:
                con.execute(f"SELECT count(*) FROM ({builder.sql})").fetchall()
            except duckdb.Error as failed:
                return builder.fail(_first_line(failed))
    return InvalidInput(f"Recipe {spec['name']!r} failed while running: {_first_line(error)}")


def _first_line(error: BaseException) -> str:
    return next((line for line in str(error).splitlines() if line.strip()), str(error))
