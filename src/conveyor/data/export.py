"""Export a stored version to a CSV or Parquet file, atomically (a temporary name, then a rename)."""

from __future__ import annotations

import os
import tempfile
from contextlib import closing
from pathlib import Path

from conveyor.data._duck import connect, literal
from conveyor.data.ingestion import work_directory
from conveyor.errors import InvalidInput

_FORMATS = {".csv": "(FORMAT csv, HEADER true)", ".parquet": "(FORMAT parquet, COMPRESSION zstd)"}
_FORMATS[".pq"] = _FORMATS[".parquet"]


def export(parquet: Path, output: Path, *, memory_limit: str | None = None) -> Path:
    """Write the table to `output`, whose extension (.csv, .parquet, .pq) picks the format.

    DuckDB works within `memory_limit` (see `connect`).
    """
    output = Path(output)
    options = _FORMATS.get(output.suffix.lower())
    if options is None:
        raise InvalidInput(
            f"Cannot export to {output.name}: unknown file type {output.suffix!r}.",
            hint="Name the output .csv or .parquet.",
        )
    if not output.parent.exists():
        raise InvalidInput(f"Folder {output.parent} does not exist.", hint="Create it, or choose another output path.")
    handle, partial = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
    os.close(handle)
    try:
        with work_directory(output.parent) as workdir, closing(connect(workdir / "spill", memory_limit)) as con:
            con.execute(f"COPY (SELECT * FROM read_parquet({literal(str(parquet))})) TO {literal(partial)} {options}")
        os.replace(partial, output)
    finally:
        Path(partial).unlink(missing_ok=True)
    return output
