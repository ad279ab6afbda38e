"""The connector registry: each source format names the module that turns it into a DuckDB query."""

from __future__ import annotations

from conveyor.registry import Registry

CONNECTORS = Registry(
    "connector",
    {
        "csv": "conveyor.data.connectors.csv:CsvConnector",
        "parquet": "conveyor.data.connectors.parquet:ParquetConnector",
        "jsonl": "conveyor.data.connectors.jsonl:JsonLinesConnector",
        "excel": "conveyor.data.connectors.excel:ExcelConnector",
        "sql": "conveyor.data.connectors.sql:SqlConnector",
    },
)

__all__ = ["CONNECTORS"]
