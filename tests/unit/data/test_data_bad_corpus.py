"""The bad-input corpus: every file ingests completely or fails with a clear UnreadableData and leaves nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conveyor.data import ingest
from conveyor.errors import UnreadableData
from tests_support import SHARED

BAD = SHARED / "bad"


def _cases() -> list:
    manifest = BAD / "manifest.json"
    if not manifest.exists():
        return [pytest.param(None, id="corpus-missing", marks=pytest.mark.skip(reason=f"{BAD} is not available"))]
    return [pytest.param(entry, id=entry["file"]) for entry in json.loads(manifest.read_text())]


@pytest.mark.parametrize("entry", _cases())
def test_bad_file_outcome(entry: dict, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "table.parquet"
    # Training-stage problems are the trainer's to refuse; ingest must accept those files whole.
    expect_error = entry["expect"] == "error" and entry.get("stage", "ingest") == "ingest"
    if expect_error:
        with pytest.raises(UnreadableData) as raised:
            ingest(BAD / entry["file"], dest)
        error = raised.value
        assert entry["file"] in error.message
        assert error.hint
        assert "Error:" not in error.message, "a raw DuckDB error leaked into the message"
        assert not dest.exists()
        assert not dest.parent.exists() or not any(dest.parent.iterdir())
        return
    result = ingest(BAD / entry["file"], dest)
    table = pq.read_table(dest)
    if "rows" in entry:
        assert result.rows == entry["rows"] == table.num_rows
    if "columns" in entry:
        assert [c.name for c in result.columns] == entry["columns"] == table.column_names
    assert [c.name for c in result.columns] == table.column_names
    assert [p.name for p in dest.parent.iterdir()] == [dest.name], "scratch files were left behind"


def _ingest_bad(name: str, tmp_path: Path):
    path = BAD / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return ingest(path, tmp_path / "t.parquet")


def test_ragged_rows_message_names_the_line(tmp_path: Path) -> None:
    path = BAD / "ragged_rows.csv"
    if not path.exists():
        pytest.skip(f"{path} is not available")
    with pytest.raises(UnreadableData, match=r"Line 6 of ragged_rows\.csv has more fields"):
        ingest(path, tmp_path / "t.parquet")


def test_duplicate_columns_survive_renamed_with_warning(tmp_path: Path) -> None:
    result = _ingest_bad("duplicate_columns.csv", tmp_path)
    assert [c.name for c in result.columns] == ["age", "income", "age_1", "churn"]
    assert "Column 'age' appears more than once; the second copy is named 'age_1'." in result.warnings


def test_european_numbers_and_missing_markers_stay_numeric(tmp_path: Path) -> None:
    for name in ("semicolon_decimal_comma.csv", "missing_markers.csv"):
        result = _ingest_bad(name, tmp_path)
        types = {c.name: c.semantic_type for c in result.columns}
        assert types["age"] == types["income"] == "numeric", name
    table = pq.read_table(tmp_path / "t.parquet").to_pandas()
    assert table["age"].isna().sum() > 0


def test_latin1_text_is_decoded(tmp_path: Path) -> None:
    _ingest_bad("latin1.csv", tmp_path)
    cities = set(pq.read_table(tmp_path / "t.parquet")["city"].to_pylist())
    assert {"Kraków", "São Paulo", "Zürich"} <= cities


def test_awkward_headers_are_kept_as_written(tmp_path: Path) -> None:
    result = _ingest_bad("awkward_headers.csv", tmp_path)
    assert [c.name for c in result.columns] == ["Age (years)", "income.usd", "select", "from", 'quote"d', "churn"]


def test_huge_cell_is_kept_whole(tmp_path: Path) -> None:
    _ingest_bad("huge_cell.csv", tmp_path)
    lengths = [len(v) for v in pq.read_table(tmp_path / "t.parquet")["text"].to_pylist()]
    assert max(lengths) >= 5_000_000
