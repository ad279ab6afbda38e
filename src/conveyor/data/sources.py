"""Recognising what a source file holds (Parquet, delimited text, compression, encoding) before reading it."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from conveyor.errors import UnreadableData

# Enough text to judge the encoding and spot binary content; the dialect itself is sniffed by DuckDB.
SAMPLE_BYTES = 1 << 20

_PARQUET_MAGIC = b"PAR1"
_COMPRESSION_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_JSON_LINES_SUFFIXES = {".jsonl", ".ndjson", ".json"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}

# Formats people often save under a table's name by mistake; naming them makes the error useful.
_FOREIGN_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx workbook is one)",
    b"\xd0\xcf\x11\xe0": "an old-style Office document (e.g. Excel .xls)",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
    b"SQLite format 3\x00": "an SQLite database",
}

# Text formats that a failed download or a wrong export leaves behind under a .csv name.
_FOREIGN_TEXT = {
    b"<!doctype html": "an HTML page (often a download's error or login page)",
    b"<html": "an HTML page (often a download's error or login page)",
    b"<?xml": "an XML document",
}

# Bytes that never occur in a text table: C0 controls other than tab, line feed, form feed, carriage return.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# A text table has almost none of them; random bytes, images and archives have about one in ten.
_BINARY_CONTROL_SHARE = 0.01
# Bytes that Windows-1252 maps to printable characters (€, smart quotes, …) where Latin-1 has C1 controls.
_CP1252_ONLY = re.compile(rb"[\x80\x82-\x8c\x8e\x91-\x9c\x9e\x9f]")
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


@dataclass(frozen=True)
class Source:
    """A readable source file: its format (a connector name), compression and text encoding."""

    path: Path
    format: str
    compression: str | None = None
    encoding: str | None = None
    # Connector-specific settings, e.g. the URL and query of a SQL source.
    options: tuple[tuple[str, str], ...] = ()

    def option(self, key: str) -> str | None:
        return dict(self.options).get(key)


def inspect_source(source: str | Path) -> Source:
    """Recognise the format of `source` from its content (magic bytes) and name; refuse what is not a table."""
    path = Path(source)
    if not path.is_file():
        raise UnreadableData(f"{path} does not exist or is not a file.", hint="Check the path and try again.")
    with path.open("rb") as stream:
        magic = stream.read(16)
    if not magic:
        raise UnreadableData(f"{path.name} is empty (0 bytes).", hint="Export the table again with a header and rows.")
    is_parquet_name = path.suffix.lower() in _PARQUET_SUFFIXES
    if magic.startswith(_PARQUET_MAGIC):
        return Source(path, "parquet")
    if is_parquet_name:
        raise UnreadableData(
            f"{path.name} is named like a Parquet file but is not Parquet (it does not start with 'PAR1').",
            hint="Rename it to match its real format (e.g. .csv) or export it again as Parquet.",
        )
    if magic.startswith(b"PK\x03\x04") and path.suffix.lower() in _EXCEL_SUFFIXES:
        return Source(path, "excel")
    compression = next((name for prefix, name in _COMPRESSION_MAGIC.items() if magic.startswith(prefix)), None)
    head = read_head(path, compression)
    inner_suffix = Path(path.stem).suffix.lower() if compression else path.suffix.lower()
    if inner_suffix in _JSON_LINES_SUFFIXES or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return Source(path, "jsonl", compression)
    _refuse_foreign(path, head, compression)
    return Source(path, "csv", compression, _text_encoding(path, head))


def read_head(path: Path, compression: str | None, size: int = SAMPLE_BYTES) -> bytes:
    """The first `size` bytes of the file's content, decompressed."""
    if compression is None:
        with path.open("rb") as stream:
            return stream.read(size)
    # PyArrow (and the numpy it loads, a fifth of a second) only when there is something to decompress.
    import pyarrow as pa

    try:
        with pa.input_stream(str(path), compression=compression) as stream:
            return stream.read(size)
    except (OSError, pa.ArrowException) as error:
        raise UnreadableData(
            f"{path.name} looks {compression}-compressed but cannot be decompressed: {error}.",
            hint="Check that the download finished, or decompress the file yourself and ingest the result.",
        ) from error


def _refuse_foreign(path: Path, head: bytes, compression: str | None) -> None:
    inside = f"{compression}-compressed " if compression else ""
    if not head.strip():
        raise UnreadableData(
            f"{path.name} holds no table: its {inside}content is empty or only blank lines.",
            hint="Export the table again with a header and rows.",
        )
    if head.startswith(_PARQUET_MAGIC):
        raise UnreadableData(
            f"{path.name} is a {inside}Parquet file; Parquet must not be compressed as a whole.",
            hint="Decompress it (Parquet compresses its own pages) and ingest the .parquet file.",
        )
    for prefix, what in _FOREIGN_MAGIC.items():
        if head.startswith(prefix):
            raise UnreadableData(
                f"{path.name} is {what}, not a table.",
                hint="Export the data as CSV or Parquet and ingest that file.",
            )
    opening = head[:64].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for prefix, what in _FOREIGN_TEXT.items():
        if opening.startswith(prefix):
            raise UnreadableData(
                f"{path.name} is {what}, not a table.",
                hint="Download or export the table itself as CSV or Parquet and ingest that file.",
            )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(head):
        return
    controls = len(_CONTROL_BYTES.findall(head))
    if controls > _BINARY_CONTROL_SHARE * len(head):
        raise UnreadableData(
            f"{path.name} is not a text table: {controls} of its first {len(head)} bytes are binary control bytes.",
            hint="Ingest a CSV/TSV text file or a Parquet file; binary formats need exporting to one of those first.",
        )
    nul = head.find(b"\x00")
    if nul >= 0:
        line = head.count(b"\n", 0, nul) + 1
        raise UnreadableData(
            f"{path.name} contains a NUL byte (\\0) on line {line}; text tables never do.",
            hint="The file is damaged or not plain text: remove the NUL bytes or export the table again.",
        )


def _text_encoding(path: Path, head: bytes) -> str:
    """The text's encoding: UTF-8 (with or without BOM), UTF-16 (either byte order), or a single-byte one."""
    # DuckDB's "utf-16" is little-endian; big-endian text is transcoded by the connector.
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    if _looks_utf16(head):
        return "utf-16-be" if head[0] == 0 else "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the end of the sample is still UTF-8.
        if not (
            len(head) == SAMPLE_BYTES and error.start >= len(head) - 3 and error.reason == "unexpected end of data"
        ):
            return single_byte_encoding(head)
    return "utf-8"


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 without a byte-order mark: mostly-ASCII text leaves every other byte NUL, all on one side."""
    pairs = len(head) // 2
    if pairs < 2:
        return False
    even_nuls, odd_nuls = head[0 : 2 * pairs : 2].count(0), head[1 : 2 * pairs : 2].count(0)
    return max(even_nuls, odd_nuls) >= 0.9 * pairs and min(even_nuls, odd_nuls) == 0


def single_byte_encoding(data: bytes) -> str:
    """Windows-1252 when the bytes use its printable extras (€, curly quotes), else Latin-1 (which decodes anything)."""
    if _CP1252_ONLY.search(data) and not _CP1252_UNDEFINED.search(data):
        return "cp1252"
    return "latin-1"
