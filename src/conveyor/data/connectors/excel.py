"""The Excel connector: the first (or a named) sheet of an .xlsx workbook, streamed row by row with openpyxl.

openpyxl is optional (`pip install 'conveyor[excel]'`); without it, the error says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from conveyor.data._duck import literal
from conveyor.data.connectors.base import Scan, WithoutRecovery
from conveyor.data.sources import Source
from conveyor.errors import UnreadableData

_BATCH_ROWS = 50_000


class ExcelConnector(WithoutRecovery):
    """Converts a worksheet to Parquet in the work directory (in batches), then reads that."""

    def scan(self, con: duckdb.DuckDBPyConnection, source: Source, workdir: Path) -> Scan:
        try:
            import openpyxl
        except ImportError:
            raise UnreadableData(
                f"{source.path.name} is an Excel workbook, and reading Excel needs openpyxl, which is not installed.",
                hint="Install it (`pip install openpyxl`), or save the sheet as CSV and ingest that.",
            ) from None
        try:
            book = openpyxl.load_workbook(source.path, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds for a damaged file
            raise UnreadableData(
                f"{source.path.name} cannot be opened as an Excel workbook: {error}.",
                hint="Open and save it again in Excel, or export the sheet as CSV.",
            ) from error
        sheet_name = source.option("sheet")
        sheet = book[sheet_name] if sheet_name else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise UnreadableData(f"{source.path.name}: sheet {sheet.title!r} is empty.", hint="Choose another sheet.")
        names = [str(h) if h is not None else f"column{i}" for i, h in enumerate(header)]
        parts: list[Path] = []
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= _BATCH_ROWS:
                parts.append(_write_part(workdir, names, batch, len(parts)))
                batch = []
        if batch or not parts:
            parts.append(_write_part(workdir, names, batch, len(parts)))
        book.close()
        files = ", ".join(literal(str(p)) for p in parts)
        return Scan(f"SELECT * FROM read_parquet([{files}], union_by_name=true)")

    def explain(self, source: Source, error: duckdb.Error) -> UnreadableData:
        return UnreadableData(
            f"{source.path.name} could not be read: {str(error).splitlines()[0]}",
            hint="Give each column one type of value, or export the sheet as CSV.",
        )


def _write_part(workdir: Path, names: list[str], rows: list[tuple[Any, ...]], number: int) -> Path:
    columns = {name: [row[i] if i < len(row) else None for row in rows] for i, name in enumerate(names)}
    table = pa.table({name: _array(values) for name, values in columns.items()})
    path = workdir / f"sheet-{number:05d}.parquet"
    pq.write_table(table, path)
    return path


def _array(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # A column mixing numbers and text is kept as text, as a CSV export would.
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
