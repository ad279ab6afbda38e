"""`conveyor datasets` through the CLI: versions, JSON output, and the bad-input corpus."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

from tests_support import BAD_MANIFEST, bad_cases

DEMO_ROWS = 48_842


def test_add_show_list_and_identical_data_makes_no_new_version(cli, demo_csv):
    added = cli("datasets", "add", demo_csv, "--name", "adult", "--json")
    assert added.exit_code == 0, added.output
    version = json.loads(added.stdout)
    assert (version["version"], version["rows"], version["created"]) == (1, DEMO_ROWS, True)
    assert version["content_hash"].startswith("sha256:")
    semantic = {c["name"]: c["semantic_type"] for c in version["columns"]}
    assert semantic["age"] == "numeric"
    assert semantic["occupation"] == "categorical"

    again = cli("datasets", "add", demo_csv, "--name", "adult")
    assert again.exit_code == 0
    assert "no new version" in again.stdout

    listed = json.loads(cli("datasets", "list", "--json").stdout)
    assert listed == [
        {
            "name": "adult",
            "versions": 1,
            "latest_version": 1,
            "rows": DEMO_ROWS,
            "columns": 15,
            "created_at": listed[0]["created_at"],
        }
    ]

    shown = json.loads(cli("datasets", "show", "adult:1", "--json").stdout)
    assert shown["rows"] == DEMO_ROWS
    profile = {p["name"]: p for p in shown["profile"]}
    assert profile["workclass"]["missing_pct"] == pytest.approx(100 * 2799 / DEMO_ROWS, abs=0.01)
    assert profile["age"]["min"] == 17
    assert profile["sex"]["top_values"][0]["value"] == "Male"

    table = cli("datasets", "show", "adult")
    assert table.exit_code == 0
    assert "occupation" in table.stdout
    assert "categorical" in table.stdout


def test_add_as_its_own_process_leaves_the_database_whole(conveyor_process, demo_csv, tmp_path):
    # `add` closes the database before the process ends (it skips the collections at exit that used to close it):
    # SQLite folds its write-ahead log back into conveyor.db, so that one file holds the new version.
    home = tmp_path / "own-home"
    added = conveyor_process("datasets", "add", demo_csv, "--name", "adult", home=home)
    assert added.returncode == 0, added.stderr
    assert sorted(p.name for p in home.iterdir() if p.name.startswith("conveyor.db")) == ["conveyor.db"]
    listed = conveyor_process("datasets", "list", "--json", home=home)
    assert [d["name"] for d in json.loads(listed.stdout)] == ["adult"]


def test_changed_data_makes_a_second_version(cli, demo_csv, tmp_path):
    cli("datasets", "add", demo_csv, "--name", "adult")
    smaller = tmp_path / "adult_small.csv"
    with gzip.open(demo_csv, "rt") as source, smaller.open("w") as target:
        for number, line in enumerate(source):
            if number > 500:
                break
            target.write(line)
    second = json.loads(cli("datasets", "add", smaller, "--name", "adult", "--json").stdout)
    assert (second["version"], second["rows"]) == (2, 500)
    versions = json.loads(cli("datasets", "versions", "adult", "--json").stdout)
    assert [v["version"] for v in versions] == [1, 2]


def test_unknown_dataset_names_the_known_ones(cli, demo_csv):
    cli("datasets", "add", demo_csv, "--name", "adult")
    result = cli("datasets", "show", "adults")
    assert result.exit_code == 1
    assert "No dataset named 'adults'" in result.stderr
    assert "adult" in result.stderr


def test_missing_file_is_a_clear_error(cli):
    result = cli("datasets", "add", "nowhere.csv", "--name", "x")
    assert result.exit_code == 1
    assert "File not found" in result.stderr


@pytest.mark.parametrize("case", bad_cases("ingest"), ids=lambda case: case["file"])
def test_bad_input_corpus_through_datasets_add(cli, home, case):
    source = BAD_MANIFEST.parent / case["file"]
    result = cli("datasets", "add", source, "--name", "bad", "--json")
    if case["expect"] == "ok":
        assert result.exit_code == 0, result.output
        version = json.loads(result.stdout)
        assert version["rows"] == case["rows"]
        if "columns" in case:
            assert [c["name"] for c in version["columns"]] == case["columns"]
        return
    assert result.exit_code == 1, result.output
    assert "Error:" in result.stderr
    assert "Traceback" not in result.output
    assert json.loads(cli("datasets", "list", "--json").stdout) == []
    stored = home / "artifacts"
    leftovers = [p for p in stored.rglob("*") if p.is_file()] if stored.exists() else []
    assert leftovers == []


def test_a_failed_ingest_keeps_the_earlier_versions(cli, demo_csv, shared, tmp_path):
    cli("datasets", "add", demo_csv, "--name", "adult")
    broken = tmp_path / "adult.csv"
    shutil.copy(shared("bad", "ragged_rows.csv"), broken)
    assert cli("datasets", "add", broken, "--name", "adult").exit_code == 1
    versions = json.loads(cli("datasets", "versions", "adult", "--json").stdout)
    assert [v["version"] for v in versions] == [1]


def _adult_head(demo_csv, path, rows):
    with gzip.open(demo_csv, "rt") as source, path.open("w") as target:
        for number, line in enumerate(source):
            if number > rows:
                break
            target.write(line)
    return path


def test_diff_shows_row_count_schema_and_statistic_shifts(cli, demo_csv, tmp_path):
    cli("datasets", "add", demo_csv, "--name", "adult")
    cli("datasets", "add", _adult_head(demo_csv, tmp_path / "head.csv", 500), "--name", "adult")
    found = json.loads(cli("datasets", "diff", "adult:1", "adult:2", "--json").stdout)
    assert found["rows"] == {"old": DEMO_ROWS, "new": 500, "change": 500 - DEMO_ROWS}
    assert found["added_columns"] == []
    assert found["removed_columns"] == []
    shifted = {s["column"]: s["changes"] for s in found["column_shifts"]}
    assert "mean" in shifted["age"]
    text = cli("datasets", "diff", "adult:1", "adult:2")
    assert text.exit_code == 0
    assert "48,842 → 500" in text.stdout
    bad = cli("datasets", "diff", "adult:1", "adult:7")
    assert bad.exit_code == 1
    assert "has no version 7" in bad.stderr


def test_export_round_trips_to_the_same_content(cli, demo_csv, tmp_path):
    cli("datasets", "add", demo_csv, "--name", "adult")
    for suffix in ("csv", "parquet"):
        out = tmp_path / f"adult.{suffix}"
        assert cli("datasets", "export", "adult:1", "--output", out).exit_code == 0
        again = cli("datasets", "add", out, "--name", "adult")
        assert "Identical data is already adult:1" in again.stdout, again.output
    wrong = cli("datasets", "export", "adult", "--output", tmp_path / "adult.xlsx")
    assert wrong.exit_code == 1
    assert "unknown file type '.xlsx'" in wrong.stderr
    assert not list(tmp_path.glob(".adult*"))


def test_show_lists_the_models_trained_on_a_version(cli, demo_csv, home):
    from datetime import UTC, datetime

    from conveyor.adapters.store import SqlMetadataStore
    from conveyor.adapters.store.database import create_database_engine
    from conveyor.domain.training import JobStatus, Task

    cli("datasets", "add", demo_csv, "--name", "adult")
    store = SqlMetadataStore(create_database_engine(f"sqlite:///{home / 'conveyor.db'}"))
    job = store.create_job(
        dataset="adult", dataset_version=1, target="income", task=Task.BINARY, metric="roc_auc", model_name="adult"
    )
    store.finish_job(job.id, status=JobStatus.SUCCEEDED, finished_at=datetime.now(UTC), model_version=3, best_score=0.9)
    shown = json.loads(cli("datasets", "show", "adult:1", "--json").stdout)
    assert (shown["models"][0]["model"], shown["models"][0]["model_version"]) == ("adult", 3)
    assert shown["validation_status"] == "not_checked"
    assert "Models trained on this version" in cli("datasets", "show", "adult:1").stdout


def test_profile_is_stored_and_rendered_as_self_contained_html(cli, demo_csv, tmp_path):
    cli("datasets", "add", demo_csv, "--name", "adult")
    report = json.loads(cli("datasets", "profile", "adult", "--json").stdout)
    age = report["column_details"]["age"]
    assert age["quantiles"]["p50"] == pytest.approx(37, abs=1)
    assert sum(age["histogram"]["counts"]) == DEMO_ROWS
    assert report["duplicate_rows"] == 52
    assert "relationship" in report["correlations"]["categorical"]["columns"]
    kinds = {w["kind"] for w in report["warnings"]}
    assert {"skewed", "duplicates"} <= kinds
    page = tmp_path / "report.html"
    result = cli("datasets", "profile", "adult:1", "--target", "income", "--html", page)
    assert result.exit_code == 0, result.output
    assert "association with income: relationship" in result.stdout
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "<svg" in text
    assert "<style>" in text
    assert "http://" not in text
    assert "https://" not in text
    assert "<script" not in text
    bad = cli("datasets", "profile", "adult", "--target", "Income")
    assert bad.exit_code == 1
    assert "Target 'Income' is not a column of adult:1" in bad.stderr


def test_profile_warns_about_leakage_constant_and_missing(cli, tmp_path):
    rows = ["id,churn,leak,constant,mostly_missing,x"]
    rows += [
        f"{i},{'yes' if i % 3 else 'no'},{'Y' if i % 3 else 'N'},1,{i if i % 4 == 0 else ''},{i % 7}"
        for i in range(300)
    ]
    source = tmp_path / "churn.csv"
    source.write_text("\n".join(rows) + "\n")
    cli("datasets", "add", source, "--name", "churn")
    report = json.loads(cli("datasets", "profile", "churn", "--target", "churn", "--json").stdout)
    kinds = {(w["column"], w["kind"]) for w in report["warnings"]}
    assert {("leak", "leakage"), ("constant", "constant"), ("mostly_missing", "mostly_missing")} <= kinds
    assert report["target"]["association"]["leak"] == pytest.approx(1.0)


def test_semantic_overrides_persist_across_versions(cli, demo_csv, tmp_path):
    cli("datasets", "add", demo_csv, "--name", "adult")
    result = cli("datasets", "schema", "adult", "--set", "education_num=categorical", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["overrides"] == {"education_num": "categorical"}
    cli("datasets", "add", _adult_head(demo_csv, tmp_path / "head.csv", 300), "--name", "adult")
    for ref in ("adult:1", "adult:2"):
        shown = json.loads(cli("datasets", "show", ref, "--json").stdout)
        assert {c["name"]: c["semantic_type"] for c in shown["columns"]}["education_num"] == "categorical"
    second = json.loads(cli("datasets", "show", "adult:2", "--json").stdout)
    # The profile of the new version treats it as a category: its top values are counted.
    assert next(p for p in second["profile"] if p["name"] == "education_num")["top_values"]
    bad_type = cli("datasets", "schema", "adult", "--set", "age=number")
    assert bad_type.exit_code == 1
    assert "'number' is not a semantic type (for column 'age')" in bad_type.stderr
    bad_column = cli("datasets", "schema", "adult", "--set", "agee=numeric")
    assert bad_column.exit_code == 1
    assert "Column 'agee' is not in adult:2" in bad_column.stderr
    cli("datasets", "schema", "adult", "--unset", "education_num")
    assert json.loads(cli("datasets", "schema", "adult", "--json").stdout)["overrides"] == {}


EXPECTATIONS = """\
expectations:
  - {type: not_null, column: age}
  - {type: range, column: age, min: 17, max: 90}
  - {type: allowed_values, column: sex, values: [Male, Female]}
  - {type: regex, column: income, pattern: '[<>]=?50K'}
  - {type: row_count, min: 100}
  - {type: sql, query: "SELECT * FROM data WHERE hours_per_week > 99", description: at most 99 hours}
"""


def test_validation_flags_a_bad_version_and_training_data_refuses_it(cli, demo_csv, tmp_path, home):
    cli("datasets", "add", demo_csv, "--name", "adult")
    suite = tmp_path / "expect.yaml"
    suite.write_text(EXPECTATIONS)
    declared = cli("datasets", "expect", "adult", "--file", suite)
    assert declared.exit_code == 0, declared.output
    assert cli("datasets", "validate", "adult:1").exit_code == 0

    bad = tmp_path / "adult_bad.csv"
    lines = _adult_head(demo_csv, tmp_path / "head.csv", 200).read_text().splitlines()
    lines[5] = "150" + lines[5][lines[5].index(",") :]
    bad.write_text("\n".join(lines) + "\n")
    added = cli("datasets", "add", bad, "--name", "adult")
    assert added.exit_code == 0
    assert "failed 1 of 6 expectations" in added.stderr
    assert "fall outside [17, 90]" in added.stderr
    shown = json.loads(cli("datasets", "show", "adult:2", "--json").stdout)
    assert shown["validation_status"] == "failed"
    training = cli("train", "--data", "adult:2", "--target", "income", "--max-trials", "1")
    assert training.exit_code == 1
    assert "Dataset adult:2 failed validation (1 expectation(s))" in training.stderr
    assert "--allow-invalid-data" in training.stderr
    overridden = cli(
        "train", "--data", "adult:2", "--target", "income", "--max-trials", "1", "--allow-invalid-data", "--json"
    )
    assert overridden.exit_code == 0, overridden.output
    assert json.loads(overridden.stdout)["dataset"] == "adult:2"
    refused = cli("datasets", "validate", "adult:2")
    assert refused.exit_code == 1
    assert "adult:2 failed validation" in refused.stderr

    from conveyor.bootstrap import build_services
    from conveyor.errors import InvalidInput

    datasets = build_services().datasets
    with pytest.raises(InvalidInput, match="adult:2 failed validation"):
        datasets.usable_version("adult:2")
    assert datasets.usable_version("adult:2", allow_failed=True).version == 2
    assert cli("datasets", "validate", "adult:2", "--accept").exit_code == 0
    assert datasets.usable_version("adult:2").version == 2


def test_expectations_are_suggested_and_bad_ones_refused(cli, demo_csv, tmp_path):
    cli("datasets", "add", demo_csv, "--name", "adult")
    out = tmp_path / "suggested.yaml"
    result = cli("datasets", "expect", "adult", "--suggest", "--output", out, "--save")
    assert result.exit_code == 0, result.output
    import yaml

    suggested = yaml.safe_load(out.read_text())["expectations"]
    assert {"type": "range", "column": "age", "min": 17, "max": 90} in suggested
    assert {"type": "allowed_values", "column": "sex", "values": ["Female", "Male"]} in suggested
    assert json.loads(cli("datasets", "validate", "adult", "--json").stdout)["status"] == "passed"

    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("expectations:\n  - {type: between, column: age}\n")
    refused = cli("datasets", "expect", "adult", "--file", wrong)
    assert refused.exit_code == 1
    assert "Expectation 1 in wrong.yaml has unknown type 'between'" in refused.stderr
    wrong.write_text("expectations:\n  - {type: range, column: age}\n")
    assert "needs min, max or both" in cli("datasets", "expect", "adult", "--file", wrong).stderr


def test_json_lines_and_sqlite_connectors(cli, tmp_path):
    import sqlite3

    lines = tmp_path / "events.jsonl"
    lines.write_text("\n".join(json.dumps({"id": i, "kind": "ab"[i % 2], "value": i / 2}) for i in range(50)) + "\n")
    added = json.loads(cli("datasets", "add", lines, "--json").stdout)
    assert (added["dataset"], added["rows"]) == ("events", 50)
    assert [c["name"] for c in added["columns"]] == ["id", "kind", "value"]
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"a": 1}\n{"a": 2,,}\n')
    failed = cli("datasets", "add", broken)
    assert failed.exit_code == 1
    assert "is not valid JSON Lines" in failed.stderr

    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE orders (id INTEGER, customer TEXT, amount REAL)")
        con.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(i, f"c{i % 5}", i * 1.5) for i in range(120)])
    url = f"sqlite:///{db}"
    table = json.loads(cli("datasets", "add", url, "--table", "orders", "--json").stdout)
    assert (table["dataset"], table["rows"]) == ("orders", 120)
    query = cli(
        "datasets",
        "add",
        url,
        "--query",
        "SELECT customer, sum(amount) AS total FROM orders GROUP BY 1",
        "--name",
        "totals",
        "--json",
    )
    assert json.loads(query.stdout)["rows"] == 5
    bad = cli("datasets", "add", url, "--query", "SELECT * FROM nowhere", "--name", "x")
    assert bad.exit_code == 1
    assert "no such table: nowhere" in bad.stderr
    assert "x" not in [d["name"] for d in json.loads(cli("datasets", "list", "--json").stdout)]


def _workbook_of_demo_rows(demo_csv, path, rows: int) -> list[list[object]]:
    """An .xlsx written by openpyxl from the first demo rows, numbers stored as numbers (as Excel keeps them)."""
    import csv

    from openpyxl import Workbook

    with gzip.open(demo_csv, "rt", newline="") as source:
        reader = csv.reader(source)
        table = [next(reader)]
        for _, row in zip(range(rows), reader, strict=False):
            table.append([int(value) if value.isdigit() else value or None for value in row])
    book = Workbook(write_only=True)
    sheet = book.create_sheet("adult")
    for row in table:
        sheet.append(row)
    book.save(path)
    return table


def test_excel_workbook_is_ingested_with_its_types_and_values(cli, demo_csv, tmp_path):
    book = tmp_path / "adult.xlsx"
    table = _workbook_of_demo_rows(demo_csv, book, 300)
    added = cli("datasets", "add", book, "--json")
    assert added.exit_code == 0, added.output
    version = json.loads(added.stdout)
    assert (version["dataset"], version["rows"]) == ("adult", 300)
    columns = {c["name"]: c for c in version["columns"]}
    assert list(columns) == table[0]
    assert columns["age"]["semantic_type"] == "numeric"
    assert columns["workclass"]["semantic_type"] == "categorical"
    exported = tmp_path / "back.csv"
    assert cli("datasets", "export", "adult", "--output", exported).exit_code == 0
    first = exported.read_text().splitlines()[1].split(",")
    assert first == [str(value) for value in table[1]]


def test_excel_problems_are_named(cli, tmp_path, monkeypatch):
    import sys
    import zipfile

    damaged = tmp_path / "sales.xlsx"
    with zipfile.ZipFile(damaged, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    result = cli("datasets", "add", damaged)
    assert result.exit_code == 1
    assert "sales.xlsx cannot be opened as an Excel workbook" in result.stderr
    # Without the optional `excel` extra the import fails; the message names the package to install.
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    missing = cli("datasets", "add", damaged)
    assert missing.exit_code == 1
    assert "sales.xlsx is an Excel workbook, and reading Excel needs openpyxl" in missing.stderr
    assert json.loads(cli("datasets", "list", "--json").stdout) == []


def test_data_memory_limit_setting_reaches_duckdb_and_bad_or_tight_ones_are_named(cli, demo_csv, monkeypatch):
    monkeypatch.setenv("CONVEYOR_DATA_MEMORY_LIMIT", "lots")
    refused = cli("datasets", "add", demo_csv, "--name", "adult")
    assert refused.exit_code == 1
    assert "Memory limit 'lots' is not one DuckDB understands" in refused.stderr
    assert "CONVEYOR_DATA_MEMORY_LIMIT" in refused.stderr
    assert json.loads(cli("datasets", "list", "--json").stdout) == []
    monkeypatch.setenv("CONVEYOR_DATA_MEMORY_LIMIT", "40MB")
    starved = cli("datasets", "add", demo_csv, "--name", "adult")
    assert starved.exit_code == 1
    assert "Reading adult_census_income.csv.gz needs more memory than DuckDB is allowed" in starved.stderr
    assert "Raise CONVEYOR_DATA_MEMORY_LIMIT" in starved.stderr
    monkeypatch.setenv("CONVEYOR_DATA_MEMORY_LIMIT", "256MB")
    added = cli("datasets", "add", demo_csv, "--name", "adult", "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["rows"] == DEMO_ROWS


def test_the_memory_limit_reaches_export_validation_suggestions_and_recipes(cli, tmp_path, monkeypatch):
    small = tmp_path / "small.csv"
    small.write_text("age,city\n30,Oslo\n41,Rome\n52,Lima\n")
    assert cli("datasets", "add", small, "--name", "small").exit_code == 0
    expectations = tmp_path / "expectations.yaml"
    expectations.write_text("expectations:\n  - {type: not_null, column: age}\n")
    assert cli("datasets", "expect", "small", "--file", expectations).exit_code == 0
    recipe = tmp_path / "older.yaml"
    recipe.write_text("name: older\noutput: older\ninputs: [small]\nsql: SELECT * FROM small WHERE age > 35\n")
    exported = tmp_path / "exported.csv"
    # A malformed limit fails at the connection itself, so each command shows that it handed the setting over.
    monkeypatch.setenv("CONVEYOR_DATA_MEMORY_LIMIT", "lots")
    for command in (
        ("datasets", "export", "small", "--output", exported),
        ("datasets", "validate", "small"),
        ("datasets", "expect", "small", "--suggest"),
        ("recipes", "run", recipe),
    ):
        refused = cli(*command)
        assert refused.exit_code == 1, command
        assert "Memory limit 'lots' is not one DuckDB understands" in refused.stderr, command
    assert not exported.exists()
    assert [d["name"] for d in json.loads(cli("datasets", "list", "--json").stdout)] == ["small"]
