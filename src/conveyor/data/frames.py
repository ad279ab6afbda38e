"""pandas DataFrames in and out of the engine: stored Parquet for training, chunked reads and writes for scoring."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from types import TracebackType

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from conveyor.data._duck import connect
from conveyor.data.connectors import CONNECTORS
from conveyor.data.ingestion import work_directory
from conveyor.data.sources import inspect_source
from conveyor.errors import InvalidInput

_WRITE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_frame(parquet: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The stored table (or just `columns` of it) as a DataFrame, for training."""
    if columns is not None:
        available = pq.read_schema(parquet).names
        missing = [name for name in columns if name not in available]
        if missing:
            raise InvalidInput(
                f"Unknown columns {missing} in {Path(parquet).name}.", hint=f"Choose from: {', '.join(available)}."
            )
    return pq.read_table(parquet, columns=columns).to_pandas()


def iter_frames(
    source: str | Path, batch_rows: int = 100_000, *, memory_limit: str | None = None
) -> Iterator[pd.DataFrame]:
    """Read a CSV/Parquet file in DataFrames of at most `batch_rows` rows, streaming; dialect detection as in ingest.

    DuckDB works within `memory_limit` (see `connect`).

    A problem met before the first chunk is recovered from as in ingest (or reported); one met later, after
    chunks were handed out, is reported as `UnreadableData` rather than silently skipped.
    """
    found = inspect_source(source)
    connector = CONNECTORS[found.format]()
    with (
        work_directory(Path(tempfile.gettempdir())) as workdir,
        closing(connect(workdir / "spill", memory_limit)) as con,
    ):
        scan = connector.scan(con, found, workdir)
        while True:
            try:
                reader = con.sql(scan.sql).to_arrow_reader(batch_rows)
                first = next(iter(reader), None)
                break
            except duckdb.Error as error:
                scan = connector.recover(con, found, workdir, scan, error)
        if first is None:
            return
        yield first.to_pandas()
        try:
            for batch in reader:
                yield batch.to_pandas()
        except duckdb.Error as error:
            raise connector.explain(found, error) from error


class FrameWriter:
    """Write DataFrame chunks to one CSV or Parquet file (by the path's extension), atomically.

    The file appears under its name only when the `with` block ends without an exception; until then it is
    written under a temporary name next to it, which is removed on error.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.format = _WRITE_FORMATS[self.path.suffix.lower()]
        except KeyError:
            raise InvalidInput(
                f"Cannot write {self.path.name}: unknown file type {self.path.suffix!r}.",
                hint="Name the output .csv, .parquet or .pq.",
            ) from None
        self._partial: Path | None = None
        self._writer: pq.ParquetWriter | pa_csv.CSVWriter | None = None
        self._schema: pa.Schema | None = None

    def __enter__(self) -> FrameWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
        os.close(handle)
        self._partial = Path(name)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append one chunk; every chunk must have the first one's columns."""
        if self._partial is None:
            raise RuntimeError("FrameWriter.write() called outside its `with` block")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            self._schema = table.schema
            if self.format == "parquet":
                self._writer = pq.ParquetWriter(self._partial, table.schema, compression="zstd")
            else:
                self._writer = pa_csv.CSVWriter(self._partial, table.schema)
        elif table.schema != self._schema:
            table = table.select(self._schema.names).cast(self._schema)
        self._writer.write_table(table)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        partial, self._partial = self._partial, None
        try:
            if self._writer is not None:
                self._writer.close()
            elif kind is None and self.format == "parquet":
                # No chunk came: still leave a valid (empty) Parquet file rather than zero bytes.
                pq.write_table(pa.table({}), partial)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        if kind is None:
            os.replace(partial, self.path)
        else:
            partial.unlink(missing_ok=True)
