"""DuckDB connections for the data engine and the quoting of names and values in the SQL it builds."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from conveyor.errors import InvalidInput

# Half the machine's memory leaves room for the Python process and the other jobs it runs
# beside; DuckDB spills to `spill_dir` beyond that, so files bigger than memory still stream.
_MEMORY_SHARE = 0.5


def connect(spill_dir: Path, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection with a bounded memory and its own spill directory.

    `memory_limit` is DuckDB's setting (e.g. "512MB", "4GB"); by default half the machine's memory.
    """
    config: dict[str, str | bool] = {"temp_directory": str(spill_dir), "preserve_insertion_order": True}
    memory = _physical_memory()
    if memory_limit:
        config["memory_limit"] = memory_limit
    elif memory:
        config["memory_limit"] = f"{int(memory * _MEMORY_SHARE) // 2**20}MB"
    try:
        con = duckdb.connect(config=config)
    except duckdb.Error as error:
        raise InvalidInput(
            f"Memory limit {memory_limit!r} is not one DuckDB understands: {error}.",
            hint="Set CONVEYOR_DATA_MEMORY_LIMIT to a size such as 512MB or 4GB.",
        ) from None
    # The engine runs under the CLI's own progress display and in servers; DuckDB's bar would garble both.
    con.execute("SET enable_progress_bar = false")
    # DuckDB plans a long IN list (the missing-value markers of text columns) as a join, and that join hands
    # rows back out of file order on a parallel scan: ingested versions and scored files came back shuffled.
    con.execute("SET disabled_optimizers = 'in_clause'")
    return con


def memory_exhausted(name: str, error: duckdb.Error) -> InvalidInput:
    """The error for a read that DuckDB's memory limit cannot hold (its buffers alone need more)."""
    return InvalidInput(
        f"Reading {name} needs more memory than DuckDB is allowed: {error}.",
        hint="Raise CONVEYOR_DATA_MEMORY_LIMIT (e.g. 1GB); beyond a few hundred MB, DuckDB spills to disk.",
    )


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def ident(name: str) -> str:
    """`name` as a quoted SQL identifier, safe for spaces, dots, keywords and quotes."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """`value` as a quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def null_if_listed(name: str, values: tuple[str, ...]) -> str:
    """A select item reading column `name` as missing where it holds one of `values` (keeping its name)."""
    column = ident(name)
    listed = ", ".join(literal(value) for value in values)
    return f"CASE WHEN {column} IN ({listed}) THEN NULL ELSE {column} END AS {column}"


def is_numeric(physical_type: str) -> bool:
    """Whether a DuckDB type holds numbers."""
    base = physical_type.split("(")[0].upper()
    return base in _INTEGER_TYPES or base in {"FLOAT", "DOUBLE", "REAL", "DECIMAL"}


def is_integer(physical_type: str) -> bool:
    """Whether a DuckDB type holds whole numbers."""
    return physical_type.upper() in _INTEGER_TYPES


def is_float(physical_type: str) -> bool:
    """Whether a DuckDB type is a binary floating point type (which can hold inf and NaN)."""
    return physical_type.upper() in {"FLOAT", "DOUBLE", "REAL"}


def is_temporal(physical_type: str) -> bool:
    """Whether a DuckDB type holds dates, times or timestamps."""
    upper = physical_type.upper()
    return upper.startswith(("DATE", "TIMESTAMP", "TIME"))


def is_text(physical_type: str) -> bool:
    """Whether a DuckDB type holds strings."""
    return physical_type.upper() == "VARCHAR"


_INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)
