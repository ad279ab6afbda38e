"""DuckDB connections for the data engine and the quoting of names and values in the SQL it builds."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

# Half the machine's memory leaves room for the Python process and the other jobs it runs
# beside; DuckDB spills to `spill_dir` beyond that, so files bigger than memory still stream.
_MEMORY_SHARE = 0.5


def connect(spill_dir: Path) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection with a bounded memory and its own spill directory."""
    config: dict[str, str | bool] = {"temp_directory": str(spill_dir), "preserve_insertion_order": True}
    memory = _physical_memory()
    if memory:
        config["memory_limit"] = f"{int(memory * _MEMORY_SHARE) // 2**20}MB"
    con = duckdb.connect(config=config)
    # The engine runs under the CLI's own progress display and in servers; DuckDB's bar would garble both.
    con.execute("SET enable_progress_bar = false")
    return con


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
