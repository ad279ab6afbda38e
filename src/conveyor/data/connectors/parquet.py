"""The Parquet connector: DuckDB reads Parquet natively, so it only has to explain failures."""

from __future__ import annotations

from pathlib import Path

import duckdb

from conveyor.data._duck import literal
from conveyor.data.connectors.base import Scan, WithoutRecovery
from conveyor.data.sources import Source
from conveyor.errors import UnreadableData


class ParquetConnector(WithoutRecovery):
    """Reads Parquet files as they are."""

    def scan(self, con: duckdb.DuckDBPyConnection, source: Source, workdir: Path) -> Scan:
        sql = f"SELECT * FROM read_parquet({literal(str(source.path))})"
        return self.checked(con, source, sql)

    def explain(self, source: Source, error: duckdb.Error) -> UnreadableData:
        reason = str(error).splitlines()[0]
        return UnreadableData(
            f"{source.path.name} starts like Parquet but cannot be read: {reason}",
            hint="The file is probably truncated or damaged; write it again from its source.",
        )
