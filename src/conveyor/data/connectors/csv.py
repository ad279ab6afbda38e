"""The delimited-text connector: CSV, TSV and friends, plain or gzip/zstd-compressed, sniffed once by DuckDB.

How the text is read, and why:
- the dialect (separator, quote, header, preamble) and column types come from DuckDB's sniffer, run once on a
  sample; the table is then read with exactly those settings (`auto_detect=false`), so nothing is guessed twice;
- values are kept as written: yes/no columns stay strings (boolean is a semantic type, not a storage one);
- a `;`/tab-separated file is sniffed a second time with `,` as decimal mark and keeps it when that makes more
  columns numeric (European exports write 1234,5);
- the usual missing-value markers (`NA`, `N/A`, `?`, `null`, `-`, …) read as missing in every column, as pandas does,
  so a numeric column with a marker stays numeric. Handing DuckDB's reader the 15 markers costs about a fifth of the
  read, so when no typed column of the sample needs them, the file is read with only the empty field as missing
  (float columns drop NaN, the markers `NaN`/`nan` read as) and the text columns drop the markers: in the same pass
  for chunked reads, after the write for ingest (`DeferredMarkers`: comparing every value with each marker was a
  fifth to a quarter of the read's CPU, and most text columns hold none); a marker that turns up later in a typed
  column fails that read, and the file is read again with the markers;
- column names are kept exactly as written (DuckDB would trim them); a repeated name gets a visible `_1` suffix and
  a warning, a blank one becomes `column<i>`;
- parsing is strict and never skips a row: a ragged row or an unterminated quote is an error naming the line;
- a value past the sniffer's sample that does not fit its column's type makes the sniffer run once over the whole
  file; undecodable UTF-8 past the sample switches to a single-byte encoding (Windows-1252 or Latin-1).
"""

from __future__ import annotations

import codecs
import csv
import re
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb

from conveyor.data._duck import ident, is_numeric, literal, memory_exhausted, null_if_listed
from conveyor.data.connectors.base import DeferredMarkers, Scan
from conveyor.data.sources import Source, read_head, single_byte_encoding
from conveyor.errors import InvalidInput, UnreadableData

MISSING_MARKERS = (
    "",
    "NA",
    "N/A",
    "n/a",
    "na",
    "#N/A",
    "NULL",
    "null",
    "Null",
    "None",
    "NaN",
    "nan",
    "?",
    "-",
    "--",
)
# What a text value can be and still mean missing (the empty field is missing already when read).
_TEXT_MARKERS = tuple(marker for marker in MISSING_MARKERS if marker)
# DuckDB's default candidates minus BOOLEAN: it would turn yes/no columns into true/false, changing the values a
# model learns and predicts; two-valued columns are boolean as a semantic type instead, whatever they hold.
TYPE_CANDIDATES = ("BIGINT", "DOUBLE", "TIME", "DATE", "TIMESTAMP", "VARCHAR")
# Far above any real cell (the test corpus has 5 MB ones) yet a bound on what one line may take in memory.
MAX_LINE_BYTES = 256 * 2**20
# Half DuckDB's default bound of 2,000,000 bytes: a sample line this long asks for the large bound up front.
_LONG_LINE_CHARS = 1_000_000
# Encodings DuckDB decodes itself; others are transcoded to UTF-8 in the work directory first.
_DUCKDB_ENCODINGS = {"utf-8", "utf-16", "latin-1"}
_DELIMITER_CANDIDATES = (",", ";", "\t", "|")
_ERROR_LINE = re.compile(r"CSV Error on Line: (\d+)")
_FIELD_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_CONVERSION = re.compile(r'converting column "(.*?)"\. (Could not convert string .*? to \S+)')
_TRANSCODE_CHUNK = 1 << 22
# Enough for a header of thousands of columns.
_HEADER_BYTES = 1 << 20


# Refinements a scan can carry after a failure: sniff the whole file, allow lines beyond DuckDB's 2 MB default,
# hand the missing-value markers to the reader itself.
WHOLE_FILE = "whole_file"
LONG_LINES = "long_lines"
MARKERS = "markers"


class CsvConnector:
    """Reads delimited text through DuckDB's CSV reader."""

    def scan(self, con: duckdb.DuckDBPyConnection, source: Source, workdir: Path) -> Scan:
        return _CsvReader(con, source, workdir).scan(frozenset())

    def recover(
        self, con: duckdb.DuckDBPyConnection, source: Source, workdir: Path, scan: Scan, error: duckdb.Error
    ) -> Scan:
        message, done = str(error), scan.refinements
        if "Invalid unicode" in message and source.encoding == "utf-8":
            fallback = Source(source.path, source.format, source.compression, _whole_file_encoding(source))
            return _CsvReader(con, fallback, workdir).scan(done)
        if "Maximum line size" in message and LONG_LINES not in done:
            return _CsvReader(con, source, workdir).scan(done | {LONG_LINES})
        if isinstance(error, duckdb.ConversionException) and MARKERS not in done:
            return _CsvReader(con, source, workdir).scan(done | {MARKERS})
        if isinstance(error, duckdb.ConversionException) and WHOLE_FILE not in done:
            return _CsvReader(con, source, workdir).scan(done | {WHOLE_FILE})
        raise explain(source, error) from error

    def explain(self, source: Source, error: duckdb.Error) -> InvalidInput:
        return explain(source, error)


class _CsvReader:
    """One attempt at reading a delimited file: sniff, name the columns, build the query."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Source, workdir: Path) -> None:
        self.con = con
        self.source = source
        self.path, self.encoding = _readable_copy(source, workdir)
        self.compression = source.compression if self.path == source.path else None

    def scan(self, refinements: frozenset[str]) -> Scan:
        if self._has_long_line():
            refinements |= {LONG_LINES}
        base = self._base_options()
        if LONG_LINES in refinements:
            # Only when needed: DuckDB sizes its read buffers by this bound, and a large one slows every file.
            base["max_line_size"] = MAX_LINE_BYTES
        if WHOLE_FILE in refinements:
            base["sample_size"] = -1
        try:
            sniffed = self._sniff(base)
        except duckdb.Error as error:
            if "Maximum line size" in str(error) and LONG_LINES not in refinements:
                return self.scan(refinements | {LONG_LINES})
            raise explain(self.source, error) from error
        if sniffed["Delimiter"] != "," and any(c["type"] == "VARCHAR" for c in sniffed["Columns"]):
            european = {**base, "decimal_separator": ","}
            sniffed, base = max(
                ((sniffed, base), (self._sniff_or_explain(european), european)),
                key=lambda pair: sum(is_numeric(c["type"]) for c in pair[0]["Columns"]),
            )
        dialect = _dialect(sniffed)
        warnings: list[str] = []
        if len(sniffed["Columns"]) == 1 or dialect["skip"]:
            self._refuse_ragged(base)
        if dialect["skip"]:
            skipped = self._head_text.splitlines()[: dialect["skip"]]
            warnings.append(f"The first {len(skipped)} lines come before the header and were skipped: {skipped!r}.")
        names = [c["name"] for c in sniffed["Columns"]]
        if sniffed["HasHeader"]:
            names = _unique_names(self._header(dialect, names), warnings)
        else:
            warnings.append(f"No header row was found; the columns are named {names[0]}…{names[-1]}.")
        columns = {name: column["type"] for name, column in zip(names, sniffed["Columns"], strict=True)}
        options = {**base, **dialect, "header": sniffed["HasHeader"], "auto_detect": False, "columns": columns}
        options.pop("sample_size", None)
        for key, sniffed_key in (("dateformat", "DateFormat"), ("timestampformat", "TimestampFormat")):
            if sniffed[sniffed_key]:
                options[key] = sniffed[sniffed_key]
        if "decimal_separator=','" in (sniffed["UserArguments"] or ""):
            options["decimal_separator"] = ","
        if MARKERS in refinements or self._markers_shape_types(base, sniffed):
            return Scan(f"SELECT * FROM {self._read_csv(options)}", warnings, refinements)
        plain = self._read_csv({**options, "nullstr": [""]})
        deferred = DeferredMarkers(f"SELECT {_without_markers(columns, ())} FROM {plain}", _TEXT_MARKERS)
        return Scan(f"SELECT {_without_markers(columns)} FROM {plain}", warnings, refinements, deferred)

    def _markers_shape_types(self, options: dict[str, Any], sniffed: dict[str, Any]) -> bool:
        """Whether the sample's column types change when only the empty field reads as missing.

        The dialect found by the first sniff is handed over, so this one only types the columns: a third of the
        time of sniffing afresh (2.6 against 1.0 s on 500 columns, 0.07 against 0.02 s on the bench file).
        """
        dialect = {**_dialect(sniffed), "header": sniffed["HasHeader"]}
        try:
            plain = self._sniff({**options, **dialect, "nullstr": [""]})
        except duckdb.Error:
            # A sample the dialect cannot parse (a quote never closed) is sniffed afresh, as before; the read
            # then fails with the line named.
            plain = self._sniff_or_explain({**options, "nullstr": [""]})
        return [c["type"] for c in plain["Columns"]] != [c["type"] for c in sniffed["Columns"]]

    def _sniff_or_explain(self, options: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._sniff(options)
        except duckdb.Error as error:
            raise explain(self.source, error) from error

    def _has_long_line(self) -> bool:
        """Whether the sample already shows a line near DuckDB's default bound (or none ends within it)."""
        lines = self._head_text.splitlines()
        return bool(lines) and max(map(len, lines)) >= _LONG_LINE_CHARS

    @cached_property
    def _head_text(self) -> str:
        """The start of the file's text, decoded, without a byte-order mark."""
        head = read_head(self.path, self.compression, _HEADER_BYTES)
        return head.decode(self.encoding, errors="replace").removeprefix("\ufeff")

    def _base_options(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding,
            "compression": self.compression or "none",
            "strict_mode": True,
            "ignore_errors": False,
            "nullstr": list(MISSING_MARKERS),
            "auto_type_candidates": list(TYPE_CANDIDATES),
        }

    def _read_csv(self, options: dict[str, Any]) -> str:
        arguments = ", ".join(f"{key}={_sql_value(value)}" for key, value in options.items())
        return f"read_csv({literal(str(self.path))}, {arguments})"

    def _sniff(self, options: dict[str, Any]) -> dict[str, Any]:
        arguments = ", ".join(f"{key}={_sql_value(value)}" for key, value in options.items())
        cursor = self.con.execute(f"SELECT * FROM sniff_csv({literal(str(self.path))}, {arguments})")
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchall()[0], strict=True))

    def _header(self, dialect: dict[str, Any], sniffed_names: list[str]) -> list[str]:
        """The header fields exactly as written (DuckDB trims and renames them when it reads a header)."""
        lines = self._head_text.splitlines(keepends=True)
        quote, escape = dialect["quote"], dialect["escape"]
        reader = csv.reader(
            lines[dialect["skip"] :],
            delimiter=dialect["delim"],
            quotechar=quote or None,
            escapechar=escape if escape and escape != quote else None,
            doublequote=escape == quote,
            strict=False,
        )
        try:
            header = next(reader, [])
        except csv.Error:
            header = []
        # A header Python's reader splits differently from DuckDB (exotic escaping) keeps DuckDB's names.
        return header if len(header) == len(sniffed_names) else sniffed_names

    def _refuse_ragged(self, base: dict[str, Any]) -> None:
        """Raise the error of the first ragged line, if the rows disagree on their field count.

        DuckDB's sniffer copes with ragged rows by settling on one column or by skipping the lines before
        the last disagreement as a "preamble"; both would lose or mangle rows silently. Reading the file
        with the first line's separator and field count, strictly, finds the line at fault.
        """
        lines = self._head_text.splitlines()
        first_line = lines[0] if lines else ""
        counts = {d: first_line.count(d) for d in _DELIMITER_CANDIDATES}
        delimiter = max(counts, key=counts.__getitem__)
        if not counts[delimiter]:
            return
        options = {
            **base,
            "delim": delimiter,
            "quote": '"',
            "escape": '"',
            "header": False,
            "auto_detect": False,
            "columns": {f"c{i}": "VARCHAR" for i in range(counts[delimiter] + 1)},
        }
        try:
            self.con.execute(f"SELECT count(*) FROM {self._read_csv(options)}").fetchall()[0]
        except duckdb.Error as error:
            raise explain(self.source, error) from error


def _without_markers(columns: dict[str, str], markers: tuple[str, ...] = _TEXT_MARKERS) -> str:
    """A select list reading the missing-value `markers` of text columns, and NaN of float ones, as missing."""
    selected = []
    for name, kind in columns.items():
        column = ident(name)
        if kind == "VARCHAR" and markers:
            selected.append(null_if_listed(name, markers))
        elif kind == "DOUBLE":
            selected.append(f"CASE WHEN isnan({column}) THEN NULL ELSE {column} END AS {column}")
        else:
            selected.append(column)
    return ", ".join(selected)


def _dialect(sniffed: dict[str, Any]) -> dict[str, Any]:
    def value(key: str) -> str:
        return "" if sniffed[key] == "(empty)" else sniffed[key]

    quote, escape = value("Quote"), value("Escape")
    # A sample without quotes makes the sniffer pick "no quoting"; the CSV standard quote still applies later
    # in the file, and keeping it turns a stray, never-closed quote into an error instead of a silent value.
    if not quote:
        quote, escape = '"', '"'
    elif quote == '"' and not escape:
        escape = '"'
    # The newline is left out on purpose: DuckDB 2.0.1 reads no rows at all when given new_line='\r\n' in strict
    # mode, and its reader finds the line ends by itself.
    return {
        "delim": sniffed["Delimiter"],
        "quote": quote,
        "escape": escape,
        "skip": sniffed["SkipRows"],
        "comment": value("Comment"),
    }


def _unique_names(raw: list[str], warnings: list[str]) -> list[str]:
    """Header names as written; blanks named by position and repeats suffixed, both with a warning."""
    taken: set[str] = set()
    names = []
    for position, name in enumerate(raw):
        candidate = name
        if not name.strip():
            candidate = f"column{position}"
        # DuckDB matches identifiers case-insensitively, so 'Age' and 'age' are the same column to it.
        suffix = 0
        while candidate.lower() in taken:
            suffix += 1
            candidate = f"{name}_{suffix}"
        if not name.strip():
            warnings.append(f"Column {position + 1} has no name; it is named {candidate!r}.")
        elif candidate != name:
            copy = "second copy" if suffix == 1 else f"copy in position {position + 1}"
            warnings.append(f"Column {name!r} appears more than once; the {copy} is named {candidate!r}.")
        taken.add(candidate.lower())
        names.append(candidate)
    return names


def _sql_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return literal(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no SQL form for {value!r}")


def _readable_copy(source: Source, workdir: Path) -> tuple[Path, str]:
    """The file and encoding DuckDB reads: the source itself, or a UTF-8 copy when DuckDB lacks the encoding."""
    encoding = source.encoding or "utf-8"
    if encoding in _DUCKDB_ENCODINGS:
        return source.path, encoding
    import pyarrow as pa

    copy = workdir / f"{source.path.stem}.utf-8.csv"
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with pa.input_stream(str(source.path), compression=source.compression) as stream, copy.open("wb") as out:
            while chunk := stream.read(_TRANSCODE_CHUNK):
                out.write(decoder.decode(chunk).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as error:
        raise UnreadableData(
            f"{source.path.name} is neither UTF-8 nor {encoding}: "
            f"byte {error.object[error.start]:#04x} cannot be decoded.",
            hint="Save the file as UTF-8 and ingest it again.",
        ) from error
    return copy, "utf-8"


def _whole_file_encoding(source: Source) -> str:
    """The single-byte encoding of a file whose non-UTF-8 bytes appear only after the sample."""
    import pyarrow as pa

    # The high bytes (0x80-0xFF) decide it, and a file rarely has many: gather them all, then judge once.
    high_bytes = bytearray()
    with pa.input_stream(str(source.path), compression=source.compression) as stream:
        while chunk := stream.read(_TRANSCODE_CHUNK):
            high_bytes.extend(set(chunk.translate(None, bytes(range(0x80)))))
    return single_byte_encoding(bytes(high_bytes))


def explain(source: Source, error: duckdb.Error) -> InvalidInput:
    """Turn a DuckDB CSV error into a message that names the problem and the line, with a hint to fix it."""
    if isinstance(error, duckdb.OutOfMemoryException):
        return memory_exhausted(source.path.name, error)
    message = str(error)
    name = source.path.name
    line_match = _ERROR_LINE.search(message)
    where = f"Line {line_match.group(1)} of {name}" if line_match else name
    if "unterminated quote" in message:
        return UnreadableData(
            f"{where} opens a quoted value that is never closed.",
            hint='Close the quote, or write a quote inside a value as two quotes (""), then ingest again.',
        )
    if fields := _FIELD_COUNT.search(message):
        expected, found = int(fields.group(1)), int(fields.group(2))
        more_or_fewer = "more" if found > expected else "fewer"
        return UnreadableData(
            f"{where} has {more_or_fewer} fields than the {expected} columns of the header.",
            hint="Fix that line (a missing or extra separator, or a separator inside an unquoted value), "
            "or quote values that contain the separator, then ingest again.",
        )
    if "Invalid unicode" in message:
        return UnreadableData(
            f"{where} is not valid text in the {source.encoding} encoding.",
            hint="Save the file as UTF-8 and ingest it again.",
        )
    if "Maximum line size" in message:
        return UnreadableData(
            f"{where} is longer than {MAX_LINE_BYTES // 2**20} MiB.",
            hint="Check for an unclosed quote swallowing the rest of the file, or split the huge values out.",
        )
    if conversion := _CONVERSION.search(message):
        return UnreadableData(
            f"{where}: column {conversion.group(1)!r}: {conversion.group(2)}.",
            hint="Make the column's values consistent (one type, one date format) and ingest again.",
        )
    if "detect the CSV parsing dialect" in message:
        return UnreadableData(
            f"{name} does not look like a delimited table: no separator gives every row the same number of fields.",
            hint="Check that it is a CSV/TSV file with a header row and one record per line.",
        )
    first = next((part for part in message.splitlines() if part.strip()), message)
    return UnreadableData(f"{name} cannot be read as a delimited table: {first}", hint="Check the file's format.")
