"""The memory limit reaches every DuckDB connection of the data engine: each entry point hands it over."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor import data
from conveyor.errors import InvalidInput

# DuckDB refuses a malformed limit when the connection opens, so the error shows the setting got there.
MALFORMED = "lots"


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, data.IngestResult]:
    source = tmp_path / "people.csv"
    source.write_text("age,city\n30,Oslo\n41,Rome\n52,Lima\n41,Rome\n")
    parquet = tmp_path / "people.parquet"
    return parquet, data.ingest(source, parquet, memory_limit="64MB")


ENTRY_POINTS = {
    "ingest": lambda parquet, found, out: data.ingest(parquet, out / "again.parquet", memory_limit=MALFORMED),
    "profile": lambda parquet, found, out: data.profile(parquet, found.columns, memory_limit=MALFORMED),
    "analyze": lambda parquet, found, out: data.analyze(
        parquet, found.columns, data.profile(parquet, found.columns), memory_limit=MALFORMED
    ),
    "check": lambda parquet, found, out: data.check(
        parquet, [{"type": "not_null", "column": "age"}], memory_limit=MALFORMED
    ),
    "suggest": lambda parquet, found, out: data.suggest(
        parquet, found.columns, data.profile(parquet, found.columns), memory_limit=MALFORMED
    ),
    "export": lambda parquet, found, out: data.export(parquet, out / "people.csv", memory_limit=MALFORMED),
    "run_recipe": lambda parquet, found, out: data.run_recipe(
        {"name": "older", "output": "older", "inputs": ["people"], "sql": "SELECT * FROM people WHERE age > 35"},
        {"people": parquet},
        out / "older.parquet",
        memory_limit=MALFORMED,
    ),
    "iter_frames": lambda parquet, found, out: next(data.iter_frames(parquet, memory_limit=MALFORMED)),
}


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_each_entry_point_opens_duckdb_with_the_limit_given(stored, tmp_path, entry_point):
    parquet, found = stored
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InvalidInput, match=f"Memory limit '{MALFORMED}' is not one DuckDB understands"):
        ENTRY_POINTS[entry_point](parquet, found, out)
    assert list(out.iterdir()) == []
