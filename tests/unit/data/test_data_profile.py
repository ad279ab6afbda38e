"""Profiles checked against pandas on a small real file."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from conveyor.data import ingest, profile
from conveyor.data.profiling import EXACT_DISTINCT_MAX_ROWS

CSV = """num,price,city,flag,when,empty
1,10.5,Lyon,yes,2024-01-01,
2,,Lyon,no,2024-02-01,
3,7.25,Paris,yes,,
4,inf,Zürich,yes,2024-03-01,
,1.0,Paris,no,2024-04-01,
6,3.5,Lyon,yes,2024-05-01,
"""


@pytest.fixture
def small(tmp_path: Path):
    source = tmp_path / "small.csv"
    source.write_text(CSV)
    dest = tmp_path / "small.parquet"
    result = ingest(source, dest)
    return dest, result, pd.read_csv(source)


def test_profile_matches_pandas(small) -> None:
    dest, result, frame = small
    profiles = {p.name: p for p in profile(dest, result.columns)}
    assert list(profiles) == list(frame.columns)
    for name, column in frame.items():
        got = profiles[name]
        assert got.missing_pct == pytest.approx(100 * column.isna().mean()), name
        assert got.distinct == column.nunique(), name
    finite = frame["price"].replace([math.inf], pd.NA).dropna().astype(float)
    assert profiles["price"].min == finite.min()
    assert profiles["price"].max == finite.max()
    assert profiles["price"].mean == pytest.approx(finite.mean())
    assert profiles["price"].std == pytest.approx(finite.std())
    assert profiles["num"].mean == pytest.approx(frame["num"].mean())
    assert profiles["num"].std == pytest.approx(frame["num"].std())


def test_top_values_for_categorical_and_boolean(small) -> None:
    dest, result, frame = small
    profiles = {p.name: p for p in profile(dest, result.columns)}
    city = [(v.value, v.count) for v in profiles["city"].top_values]
    assert city == list(frame["city"].value_counts().items())
    flag = [(v.value, v.count) for v in profiles["flag"].top_values]
    assert flag == [("yes", 4), ("no", 2)]
    assert profiles["price"].top_values == []
    assert profiles["empty"].missing_pct == 100.0
    assert profiles["empty"].top_values == []


def test_datetime_min_max(small) -> None:
    dest, result, _ = small
    when = next(p for p in profile(dest, result.columns) if p.name == "when")
    assert str(when.min) == "2024-01-01"
    assert str(when.max) == "2024-05-01"
    assert when.missing_pct == pytest.approx(100 / 6)


def test_profile_of_a_wide_table(tmp_path: Path, shared_file) -> None:
    dest = tmp_path / "wide.parquet"
    result = ingest(shared_file("bad/wide_3000_columns.csv"), dest)
    profiles = profile(dest, result.columns)
    assert len(profiles) == 3001
    assert all(p.missing_pct == 0.0 for p in profiles[:10])


def test_value_counts_taken_at_ingest_give_the_profile_the_same_top_values(tmp_path: Path) -> None:
    # Few-valued text columns are counted in ingest's statistics pass; many-valued ones are left to the profile.
    cities = ["Lyon"] * 5 + ["Paris"] * 3 + ["Oslo"] * 2
    rows = "".join(f"{cities[i % 10]},code-{i},{i % 2}\n" for i in range(3_000))
    source = tmp_path / "t.csv"
    source.write_text("city,code,bit\n" + rows)
    dest = tmp_path / "t.parquet"
    result = ingest(source, dest)
    counted = {c.name for c, s in zip(result.columns, result.stats, strict=True) if "value_counts" in s}
    assert counted == {"city"}
    city = next(s for c, s in zip(result.columns, result.stats, strict=True) if c.name == "city")
    assert city["distinct"] == 3
    # `code` was counted exactly too, by the closer look at possible identifiers: the profile recounts only `bit`.
    exact = {c.name for c, s in zip(result.columns, result.stats, strict=True) if s["distinct_exact"]}
    assert exact == {"city", "code"}
    frame = pd.read_csv(source)
    reused = {p.name: p for p in profile(dest, result.columns, result.stats)}
    assert reused == {p.name: p for p in profile(dest, result.columns)}
    assert [(v.value, v.count) for v in reused["city"].top_values] == list(frame["city"].value_counts().items())
    assert len(reused["code"].top_values) == 5


def test_float_figures_leave_out_inf_and_nan_whether_reused_or_fresh(tmp_path: Path) -> None:
    # Floats are summed and bounded as they are; a column holding inf or NaN has those figures taken again.
    values = [2.0, math.nan, -math.inf, 4.0, math.inf, 9.0]
    source = tmp_path / "floats.parquet"
    pd.DataFrame({"x": values, "clean": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]}).to_parquet(source)
    dest = tmp_path / "t.parquet"
    result = ingest(source, dest)
    finite = pd.Series([2.0, 4.0, 9.0])
    fresh = {p.name: p for p in profile(dest, result.columns)}
    reused = {p.name: p for p in profile(dest, result.columns, result.stats)}
    for found in (fresh, reused):
        assert (found["x"].min, found["x"].max) == (2.0, 9.0)
        assert found["x"].mean == pytest.approx(finite.mean())
        assert found["x"].std == pytest.approx(finite.std())
        assert (found["clean"].min, found["clean"].max) == (1.5, 6.5)
    assert reused == fresh


def test_a_big_table_profile_from_ingest_statistics_alone_matches_one_that_reads_the_file(tmp_path: Path) -> None:
    # Above a million rows distinct counts are estimates either way; with the row count and every top value known
    # from ingest, the profile reads nothing more.
    rows = EXACT_DISTINCT_MAX_ROWS + 1
    source = tmp_path / "big.parquet"
    pd.DataFrame(
        {"n": [i % 977 for i in range(rows)], "city": [("Lyon", "Paris", "Oslo")[i % 3] for i in range(rows)]}
    ).to_parquet(source)
    dest = tmp_path / "t.parquet"
    result = ingest(source, dest)
    assert result.rows == rows
    read = profile(dest, result.columns, result.stats)
    dest.unlink()
    assert profile(dest, result.columns, result.stats, rows=result.rows) == read
    assert [(v.value, v.count) for v in read[1].top_values] == [
        ("Lyon", 333_334),
        ("Paris", 333_334),
        ("Oslo", 333_333),
    ]
