"""The connector registry: each source format names the module that turns it into a DuckDB query."""

from __future__ import annotations

from conveyor.registry import Registry

CONNECTORS = Registry(
    "connector",
    {
        "csv": "conveyor.data.connectors.csv:CsvConnector",
        "parquet": "conveyor.data.connectors.parquet:ParquetConnector",
    },
)

__all__ = ["CONNECTORS"]
