"""The JSON Lines connector: one JSON object per line (plain or gzip/zstd-compressed), read by DuckDB."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from conveyor.data._duck import literal
from conveyor.data.connectors.base import Scan, WithoutRecovery
from conveyor.data.sources import Source
from conveyor.errors import UnreadableData

_LINE = re.compile(r"line (\d+)", re.IGNORECASE)


class JsonLinesConnector(WithoutRecovery):
    """Reads newline-delimited JSON; nested values stay as DuckDB structs and lists."""

    def scan(self, con: duckdb.DuckDBPyConnection, source: Source, workdir: Path) -> Scan:
        compression = source.compression or "none"
        sql = (
            f"SELECT * FROM read_json({literal(str(source.path))}, format='newline_delimited', "
            f"compression={literal(compression)}, sample_size=-1)"
        )
        return self.checked(con, source, sql)

    def explain(self, source: Source, error: duckdb.Error) -> UnreadableData:
        message = str(error)
        found = _LINE.search(message)
        where = f"Line {found.group(1)} of {source.path.name}" if found else source.path.name
        first = next((part for part in message.splitlines() if part.strip()), message)
        return UnreadableData(
            f"{where} is not valid JSON Lines: {first}",
            hint="Write one JSON object per line (no enclosing array, no trailing commas), then ingest again.",
        )
