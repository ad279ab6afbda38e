"""The engine's validation, recipes and profile report on small real Parquet files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conveyor import data
from conveyor.data.insights import _cramers_v
from conveyor.domain.datasets import ColumnSchema, SemanticType
from conveyor.errors import InvalidInput, UnreadableData


@pytest.fixture
def table(tmp_path):
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    path = tmp_path / "t.parquet"
    pq.write_table(
        pa.table(
            {
                "id": [1, 2, 3, 4, 5, 6],
                "email": ["a@x.io", "b@x.io", "c@x.io", "bad", "e@x.io", None],
                "kind": ["a", "b", "a", "b", "a", "c"],
                "price": [1.0, 2.0, 3.0, 4.0, 50.0, 6.0],
                "cost": [0.5, 1.0, 4.0, 1.0, 1.0, 1.0],
                "at": [now - timedelta(hours=h) for h in (1, 2, 3, 4, 5, 30)],
            }
        ),
        path,
    )
    return path, now


def _check(table, *expectations):
    path, now = table
    return data.check(path, data.parse_expectations(list(expectations)), now=now).results


@pytest.mark.parametrize(
    ("expectation", "passed", "message"),
    [
        ({"type": "not_null", "column": "id"}, True, ""),
        ({"type": "not_null", "column": "email"}, False, "'email' has 1 missing values"),
        ({"type": "unique", "column": "kind"}, False, "'kind' has 3 repeated values"),
        ({"type": "range", "column": "price", "min": 0, "max": 10}, False, "1 values of 'price' fall outside [0, 10]"),
        ({"type": "allowed_values", "column": "kind", "values": ["a", "b"]}, False, "e.g. 'c'"),
        ({"type": "regex", "column": "email", "pattern": "[^@]+@[^@]+"}, False, "1 values of 'email' do not match"),
        ({"type": "row_count", "min": 1, "max": 5}, False, "6 rows, expected [1, 5]"),
        ({"type": "freshness", "column": "at", "max_age_hours": 2}, True, ""),
        ({"type": "sql", "query": "SELECT * FROM data WHERE price < cost"}, False, "1 rows break"),
        ({"type": "sql", "query": "SELECT * FROM read_csv('/etc/passwd')"}, False, "disabled by configuration"),
        ({"type": "not_null", "column": "nope"}, False, "column 'nope' does not exist"),
    ],
)
def test_each_expectation_kind(table, expectation, passed, message):
    (result,) = _check(table, expectation)
    assert result.passed is passed
    assert message in result.message


def test_bad_expectations_are_refused_with_their_position():
    with pytest.raises(InvalidInput, match=r"Expectation 2 in suite\.yaml \(regex\) lacks pattern"):
        data.parse_expectations([{"type": "not_null", "column": "a"}, {"type": "regex", "column": "a"}], "suite.yaml")
    with pytest.raises(InvalidInput, match="unknown keys colum"):
        data.parse_expectations([{"type": "not_null", "column": "a", "colum": "b"}])


def test_recipe_steps_parse_dates_split_dedupe_sample_and_full_join(tmp_path):
    left, right = tmp_path / "l.parquet", tmp_path / "r.parquet"
    pq.write_table(
        pa.table({"k": [1, 2, 2, 3], "day": ["2024-01-02", "2024-02-03", "2024-02-03", None], "ab": ["x-y"] * 4}), left
    )
    pq.write_table(pa.table({"k": [2, 4], "v": ["two", "four"]}), right)
    spec = {
        "name": "r",
        "output": "o",
        "input": "left",
        "steps": [
            {"parse_dates": {"day": "%Y-%m-%d"}},
            {"split": {"column": "ab", "separator": "-", "into": ["a", "b"], "drop": True}},
            {"deduplicate": ["k"]},
            {"join": {"dataset": "right", "on": ["k"], "how": "full"}},
        ],
    }
    result = data.run_recipe(spec, {"left": left, "right": right}, tmp_path / "out.parquet")
    rows = duckdb.sql(f"SELECT * FROM '{tmp_path / 'out.parquet'}'").fetchall()
    assert [c.name for c in result.columns] == ["k", "day", "a", "b", "v"]
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    assert rows[1][1] == datetime(2024, 2, 3)
    assert rows[1][2:] == ("x", "y", "two")
    sampled = {"name": "s", "output": "o", "input": "left", "steps": [{"sample": {"rows": 2, "seed": 3}}]}
    first = data.run_recipe(sampled, {"left": left}, tmp_path / "s1.parquet")
    second = data.run_recipe(sampled, {"left": left}, tmp_path / "s2.parquet")
    assert first.rows == 2
    assert first.content_hash == second.content_hash


def test_a_failing_recipe_leaves_no_file(tmp_path):
    source = tmp_path / "l.parquet"
    pq.write_table(pa.table({"k": [1, 2]}), source)
    spec = {"name": "r", "output": "o", "input": "left", "steps": [{"derive": {"x": "k / nope"}}]}
    with pytest.raises(InvalidInput, match=r"Step 1 \(derive\).*nope"):
        data.run_recipe(spec, {"left": source}, tmp_path / "out" / "o.parquet")
    assert not any((tmp_path / "out").iterdir())


def test_cramers_v_is_one_for_a_copy_and_zero_for_independence():
    import numpy as np

    x = np.array([0, 1] * 50)
    assert _cramers_v(x, x.copy()) == pytest.approx(1.0)
    y = np.array([0] * 50 + [1] * 50)
    assert _cramers_v(x, y) == pytest.approx(0.0)
    assert _cramers_v(np.array([0, -1, 1, 0]), np.array([-1, 0, 1, 1])) is None


def test_report_counts_duplicates_and_correlates(tmp_path):
    path = tmp_path / "t.parquet"
    n = 400
    pq.write_table(
        pa.table({"x": [float(i % 40) for i in range(n)], "y": [2.0 * (i % 40) + 1 for i in range(n)]}), path
    )
    columns = [ColumnSchema(name=c, physical_type="DOUBLE", semantic_type=SemanticType.NUMERIC) for c in ("x", "y")]
    report = data.analyze(path, columns, data.profile(path, columns), target="y")
    assert report["duplicate_rows"] == n - 40
    assert report["correlations"]["numeric"]["matrix"][0][1] == pytest.approx(1.0)
    assert report["target"]["association"] == {"x": pytest.approx(1.0)}
    assert "<svg" in data.render_html(report, "t")


def test_sql_source_from_sqlite(tmp_path):
    import sqlite3

    from conveyor.data.connectors.sql import sql_source

    db = tmp_path / "d.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (a INTEGER, b TEXT)")
        con.executemany("INSERT INTO t VALUES (?, ?)", [(i, None if i % 2 else f"v{i}") for i in range(10)])
    result = data.ingest_source(sql_source(f"sqlite:///{db}", table="t"), tmp_path / "out.parquet")
    assert result.rows == 10
    with pytest.raises(UnreadableData, match="not a table name"):
        sql_source(f"sqlite:///{db}", table="t; DROP TABLE t")
    with pytest.raises(UnreadableData, match="Unsupported database URL scheme 'mysql'"):
        sql_source("mysql://h/db", table="t")
