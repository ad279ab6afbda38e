"""Ingest on real files: formats, compression, encodings, late surprises, hashing and semantic types."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conveyor.data import ingest, iter_frames
from conveyor.data.semantics import ColumnStats, infer_semantic_type, is_id_like_name
from conveyor.domain.datasets import SemanticType
from conveyor.errors import UnreadableData

ROWS = "id,city,amount,when,flag\n" + "".join(
    f"{i},{['Lyon', 'Zürich', 'Kraków'][i % 3]},{i * 1.5},2024-01-{i % 28 + 1:02d},{['yes', 'no'][i % 2]}\n"
    for i in range(1, 301)
)


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_plain_csv_types_and_schema(tmp_path: Path) -> None:
    result = ingest(_write(tmp_path / "t.csv", ROWS), tmp_path / "out.parquet")
    assert result.rows == 300
    kinds = {c.name: (c.physical_type, c.semantic_type) for c in result.columns}
    assert kinds == {
        "id": ("BIGINT", SemanticType.IDENTIFIER),
        "city": ("VARCHAR", SemanticType.CATEGORICAL),
        "amount": ("DOUBLE", SemanticType.NUMERIC),
        "when": ("DATE", SemanticType.DATETIME),
        "flag": ("VARCHAR", SemanticType.BOOLEAN),
    }
    assert pq.read_table(tmp_path / "out.parquet")["flag"].to_pylist()[:2] == ["no", "yes"]


def test_free_text_and_codes_end_to_end(tmp_path: Path) -> None:
    lines = "".join(
        f"R{i:05d},This is review number {i} and it says something long,{['red', 'blue'][i % 3 == 0]}\n"
        for i in range(200)
    )
    result = ingest(_write(tmp_path / "t.csv", "ref,review,colour\n" + lines), tmp_path / "out.parquet")
    types = {c.name: c.semantic_type for c in result.columns}
    assert types == {
        "ref": SemanticType.IDENTIFIER,
        "review": SemanticType.TEXT,
        "colour": SemanticType.CATEGORICAL,
    }


def test_hash_depends_on_data_not_on_file_name_format_or_compression(tmp_path: Path) -> None:
    plain = _write(tmp_path / "a.csv", ROWS)
    gzipped = tmp_path / "b.csv.gz"
    gzipped.write_bytes(gzip.compress(ROWS.encode()))
    tsv = _write(tmp_path / "c.tsv", ROWS.replace(",", "\t"))
    crlf = _write(tmp_path / "d.txt", ROWS.replace("\n", "\r\n"))
    hashes = {ingest(path, tmp_path / f"{path.name}.parquet").content_hash for path in (plain, gzipped, tsv, crlf)}
    assert len(hashes) == 1
    assert next(iter(hashes)).startswith("sha256:")
    parquet_again = ingest(tmp_path / "a.csv.parquet", tmp_path / "again.parquet")
    assert parquet_again.content_hash in hashes
    changed = ingest(_write(tmp_path / "e.csv", ROWS.replace("Lyon", "Paris")), tmp_path / "e.parquet")
    assert changed.content_hash not in hashes
    swapped_lines = ROWS.splitlines(keepends=True)
    swapped_lines[1], swapped_lines[2] = swapped_lines[2], swapped_lines[1]
    reordered = ingest(_write(tmp_path / "f.csv", "".join(swapped_lines)), tmp_path / "f.parquet")
    assert reordered.content_hash not in hashes


def test_fingerprint_of_the_same_data_never_changes(tmp_path: Path) -> None:
    # Identical data added again must find its earlier version, in workspaces made by earlier releases too;
    # changing how the fingerprint is computed needs a new hash version.
    result = ingest(_write(tmp_path / "a.csv", ROWS), tmp_path / "a.parquet")
    assert result.content_hash == "sha256:26eebdb7f4c0d84e019889b6e8f9bfadbb30d57c7d3d22525ebe4e580abc1c1d"


def test_columns_named_like_the_hashing_helpers_are_hashed_as_data(tmp_path: Path) -> None:
    table = "file_row_number,row_hash,Value_Hash\n1,a,x\n2,b,y\n1,a,x\n"
    result = ingest(_write(tmp_path / "a.csv", table), tmp_path / "a.parquet")
    assert (result.rows, result.duplicate_rows) == (3, 1)
    assert result.content_hash == "sha256:4efe91c5e518f5389bd56537bf803296c1c323fad517089b5c25612ab19785ac"
    assert [c.name for c in result.columns] == ["file_row_number", "row_hash", "Value_Hash"]


def test_zstd_compressed_csv(tmp_path: Path) -> None:
    source = tmp_path / "t.csv.zst"
    with pa.CompressedOutputStream(str(source), "zstd") as out:
        out.write(ROWS.encode())
    assert ingest(source, tmp_path / "out.parquet").rows == 300


def test_windows_1252_is_detected(tmp_path: Path) -> None:
    source = _write(tmp_path / "t.csv", "name,price\n“Café”,5 €\nnaïve,6 €\n", encoding="cp1252")
    ingest(source, tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet")["name"].to_pylist() == ["“Café”", "naïve"]


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("\ufeffa,b\n1,é\n2,ü\n", "utf-16-le"),
        ("\ufeffa,b\n1,é\n2,ü\n", "utf-16-be"),
        ("a,b\n1,é\n2,ü\n", "utf-16-le"),
        ("a,b\n1,é\n2,ü\n", "utf-16-be"),
    ],
)
def test_utf16_either_byte_order_with_or_without_bom(tmp_path: Path, text: str, encoding: str) -> None:
    source = _write(tmp_path / "t.csv", text, encoding=encoding)
    result = ingest(source, tmp_path / "out.parquet")
    assert [c.name for c in result.columns] == ["a", "b"]
    assert pq.read_table(tmp_path / "out.parquet")["b"].to_pylist() == ["é", "ü"]


def test_non_utf8_byte_after_the_sample_switches_encoding(tmp_path: Path) -> None:
    body = "a,b\n" + "x,1\n" * 400_000
    source = tmp_path / "t.csv"
    source.write_bytes(body.encode() + "Zürich,2\n".encode("latin-1"))
    result = ingest(source, tmp_path / "out.parquet")
    assert result.rows == 400_001
    assert pq.read_table(tmp_path / "out.parquet")["a"].to_pylist()[-1] == "Zürich"


def test_value_after_the_sniff_sample_widens_the_column_instead_of_failing(tmp_path: Path) -> None:
    source = _write(tmp_path / "t.csv", "n,s\n" + "".join(f"{i},x\n" for i in range(50_000)) + "oops,y\n")
    result = ingest(source, tmp_path / "out.parquet")
    assert result.rows == 50_001
    assert {c.name: c.physical_type for c in result.columns}["n"] == "VARCHAR"


def test_long_line_after_the_sample_is_read_whole(tmp_path: Path) -> None:
    source = _write(tmp_path / "t.csv", "a,b\n" + "1,x\n" * 300_000 + "2," + "y" * 3_000_000 + "\n3,z\n")
    result = ingest(source, tmp_path / "out.parquet")
    assert result.rows == 300_002
    assert max(len(v) for v in pq.read_table(tmp_path / "out.parquet")["b"].to_pylist()) == 3_000_000


def test_missing_marker_after_the_sample_keeps_column_numeric(tmp_path: Path) -> None:
    source = _write(tmp_path / "t.csv", "n,s\n" + "".join(f"{i},x{i}\n" for i in range(50_000)) + "N/A,-\n")
    result = ingest(source, tmp_path / "out.parquet")
    assert result.rows == 50_001
    assert [c.physical_type for c in result.columns] == ["BIGINT", "VARCHAR"]
    last = pq.read_table(tmp_path / "out.parquet").slice(50_000).to_pylist()
    assert last == [{"n": None, "s": None}]


def test_on_write_is_called_once_as_duckdb_writes_even_when_the_read_is_retried(tmp_path: Path) -> None:
    # The marker after the sniffer's sample fails the first read; the second one, with the markers, succeeds.
    source = _write(tmp_path / "t.csv", "n\n" + "".join(f"{i}\n" for i in range(50_000)) + "N/A\n")
    calls: list[bool] = []
    ingest(source, tmp_path / "out.parquet", on_write=lambda: calls.append((tmp_path / "out.parquet").exists()))
    assert calls == [False]


def test_on_write_is_not_called_for_a_file_refused_before_writing(tmp_path: Path) -> None:
    calls: list[None] = []
    with pytest.raises(UnreadableData, match="no table"):
        ingest(_write(tmp_path / "t.csv", "\n\n\n"), tmp_path / "out.parquet", on_write=lambda: calls.append(None))
    assert calls == []


def test_markers_in_text_columns_read_as_missing_whether_few_or_many_valued(tmp_path: Path) -> None:
    # Ingest writes text columns as read and rewrites the ones that turn out to hold a marker: one with few values
    # (known from its value counts) and one with many (checked value by value); a clean column is left alone.
    rows = [f"code-{i},{['red', 'blue'][i % 2]},{i}" for i in range(60_000)]
    rows[41_234] = "NA,?,41234"
    source = _write(tmp_path / "t.csv", "code,colour,n\n" + "\n".join(rows) + "\n")
    result = ingest(source, tmp_path / "out.parquet")
    stats = dict(zip((c.name for c in result.columns), result.stats or [], strict=True))
    assert "value_counts" in stats["colour"]
    assert "value_counts" not in stats["code"]
    table = pq.read_table(tmp_path / "out.parquet").to_pydict()
    assert (table["code"][41_234], table["colour"][41_234]) == (None, None)
    assert table["code"][:2] == ["code-0", "code-1"]
    chunked = pd.concat(iter_frames(source), ignore_index=True).astype(object)
    assert table == chunked.where(chunked.notna(), None).to_dict("list")
    assert result.content_hash == ingest(tmp_path / "out.parquet", tmp_path / "again.parquet").content_hash


@pytest.mark.parametrize(
    "numbers",
    [
        ["1.5", "NaN", "2.5", "nan"],  # the markers leave the sample's types alone: the fast read
        ["1", "NA", "2", "?"],  # the markers make the column numeric: the reader is handed them
    ],
)
def test_missing_value_markers_read_as_missing_in_text_and_number_columns(tmp_path: Path, numbers) -> None:
    texts = ["Lyon", "NA", "?", "N/A", "--", "null", "None", "", "-", "n/a"]
    rows = [f"{texts[i % len(texts)]},{numbers[i % len(numbers)]}" for i in range(400)]
    result = ingest(_write(tmp_path / "t.csv", "city,amount\n" + "\n".join(rows) + "\n"), tmp_path / "out.parquet")
    assert [c.physical_type for c in result.columns] == ["VARCHAR", "DOUBLE" if "." in numbers[0] else "BIGINT"]
    table = pq.read_table(tmp_path / "out.parquet")
    assert set(table["city"].to_pylist()) == {"Lyon", None}
    assert table["amount"].null_count == 200


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("a,b\n1,2\n3,4,5\n", "Line 3 of t.csv has more fields"),
        ("a,b\n1,2\n3\n", "Line 3 of t.csv has fewer fields"),
        ('a,b\n1,2\n3,"open\n', "never closed"),
        ("\n\n\n", "no table"),
        ("a,b\n", "no data rows"),
    ],
)
def test_unreadable_text_names_the_problem(tmp_path: Path, content: str, problem: str) -> None:
    dest = tmp_path / "out" / "t.parquet"
    with pytest.raises(UnreadableData, match=problem) as raised:
        ingest(_write(tmp_path / "t.csv", content), dest)
    assert raised.value.hint
    assert not dest.parent.exists() or not any(dest.parent.iterdir())


@pytest.mark.parametrize("distinct", [1, 20_000], ids=["few values, found in their counts", "many values"])
def test_nul_byte_after_the_sample_is_refused(tmp_path: Path, distinct: int) -> None:
    source = tmp_path / "t.csv"
    rows = b"".join(b"x%d,1\n" % (i % distinct) for i in range(400_000))
    source.write_bytes(b"a,b\n" + rows + b"y\x00z,2\n")
    with pytest.raises(UnreadableData, match="NUL"):
        ingest(source, tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


def test_compressed_parquet_and_foreign_formats_are_refused(tmp_path: Path) -> None:
    table = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), table)
    packed = tmp_path / "t.parquet.gz"
    packed.write_bytes(gzip.compress(table.read_bytes()))
    with pytest.raises(UnreadableData, match="Parquet must not be compressed"):
        ingest(packed, tmp_path / "out.parquet")
    page = _write(tmp_path / "export.csv", "<!DOCTYPE html>\n<html><body>Sign in</body></html>\n")
    with pytest.raises(UnreadableData, match="HTML page"):
        ingest(page, tmp_path / "out.parquet")
    workbook = tmp_path / "book.csv"
    workbook.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(UnreadableData, match="ZIP archive"):
        ingest(workbook, tmp_path / "out.parquet")


def test_parquet_source_is_copied(tmp_path: Path) -> None:
    source = tmp_path / "in.pq"
    pq.write_table(pa.table({"x": [1.0, 2.5, None], "label": ["a", "b", "a"]}), source)
    result = ingest(source, tmp_path / "out.parquet")
    assert result.rows == 3
    assert [c.physical_type for c in result.columns] == ["DOUBLE", "VARCHAR"]


def test_damaged_parquet_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"x": list(range(1000))}), source)
    source.write_bytes(source.read_bytes()[:200])
    with pytest.raises(UnreadableData, match="cannot be read"):
        ingest(source, tmp_path / "out.parquet")


def test_existing_destination_survives_a_failed_ingest(tmp_path: Path) -> None:
    dest = tmp_path / "out.parquet"
    ingest(_write(tmp_path / "good.csv", ROWS), dest)
    before = dest.read_bytes()
    with pytest.raises(UnreadableData):
        ingest(_write(tmp_path / "bad.csv", "a,b\n1,2\n3\n"), dest)
    assert dest.read_bytes() == before


def test_semantic_types_on_the_demo_dataset(tmp_path: Path, shared_file) -> None:
    result = ingest(shared_file("demo/adult_census_income.csv.gz"), tmp_path / "adult.parquet")
    assert result.rows == 48_842
    types = {c.name: c.semantic_type for c in result.columns}
    numeric = {"age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"}
    assert {name for name, kind in types.items() if kind == SemanticType.NUMERIC} == numeric
    assert types["workclass"] == types["native_country"] == types["income"] == SemanticType.CATEGORICAL


def test_semantic_types_on_telco_churn(tmp_path: Path, shared_file) -> None:
    result = ingest(shared_file("bench/telco_churn.csv"), tmp_path / "telco.parquet")
    assert result.rows == 7_043
    types = {c.name: c.semantic_type for c in result.columns}
    assert types["churn"] == types["female"] == types["partner"] == SemanticType.BOOLEAN
    assert types["tenure"] == types["monthly_charges"] == types["total_charges"] == SemanticType.NUMERIC
    assert types["contract"] == types["payment_method"] == SemanticType.CATEGORICAL


def test_wide_file_is_ingested(tmp_path: Path, shared_file) -> None:
    result = ingest(shared_file("bad/wide_3000_columns.csv"), tmp_path / "wide.parquet")
    assert len(result.columns) == 3001


@pytest.mark.parametrize(
    ("name", "expected"), [("id", True), ("customer_id", True), ("CustomerID", True), ("paid", False), ("idea", False)]
)
def test_id_like_names(name: str, expected: bool) -> None:
    assert is_id_like_name(name) is expected


def test_free_text_and_fixed_width_codes() -> None:
    sentences = ColumnStats("review", "VARCHAR", 100, 95, average_length=80.0, space_share=1.0, min_length=20)
    codes = ColumnStats("ref", "VARCHAR", 100, 100, min="AB12", max="ZZ99", min_length=4, max_length=4, space_share=0.0)
    counter = ColumnStats("n", "BIGINT", 100, 100, min=1, max=100)
    measure = ColumnStats("n", "BIGINT", 100, 100, min=1, max=1000)
    assert infer_semantic_type(sentences) == SemanticType.TEXT
    assert infer_semantic_type(codes) == SemanticType.IDENTIFIER
    assert infer_semantic_type(counter) == SemanticType.IDENTIFIER
    assert infer_semantic_type(measure) == SemanticType.NUMERIC


def test_names_differing_only_in_case_are_kept_apart(tmp_path: Path) -> None:
    result = ingest(_write(tmp_path / "t.csv", "Age,age,AGE, padded \n1,2,3,4\n"), tmp_path / "out.parquet")
    assert [c.name for c in result.columns] == ["Age", "age_1", "AGE_2", " padded "]
    assert len(result.warnings) == 2


def test_old_mac_line_ends_and_blank_header_names(tmp_path: Path) -> None:
    result = ingest(_write(tmp_path / "t.csv", ",a\r1,2\r3,4\r"), tmp_path / "out.parquet")
    assert result.rows == 2
    assert [c.name for c in result.columns] == ["column0", "a"]
    assert result.warnings == ["Column 1 has no name; it is named 'column0'."]


def test_file_without_header_gets_positional_names(tmp_path: Path) -> None:
    result = ingest(_write(tmp_path / "t.csv", "1,2\n3,4\n"), tmp_path / "out.parquet")
    assert result.rows == 2
    assert [c.name for c in result.columns] == ["column0", "column1"]
    assert any("No header" in w for w in result.warnings)


def test_preamble_before_the_header_is_skipped_with_a_warning(tmp_path: Path) -> None:
    result = ingest(_write(tmp_path / "t.csv", "Sales report 2024\n\na,b\n1,2\n3,4\n"), tmp_path / "out.parquet")
    assert result.rows == 2
    assert [c.name for c in result.columns] == ["a", "b"]
    assert any("Sales report 2024" in w for w in result.warnings)


def test_scratch_space_is_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ingest(_write(tmp_path / "t.csv", ROWS), out / "t.parquet")
    assert [p.name for p in out.iterdir()] == ["t.parquet"]
    shutil.rmtree(out)
