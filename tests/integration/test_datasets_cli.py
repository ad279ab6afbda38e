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


def test_a_failed_ingest_keeps_the_earlier_versions(cli, demo_csv, tmp_path):
    cli("datasets", "add", demo_csv, "--name", "adult")
    broken = tmp_path / "adult.csv"
    shutil.copy(BAD_MANIFEST.parent / "ragged_rows.csv", broken)
    assert cli("datasets", "add", broken, "--name", "adult").exit_code == 1
    versions = json.loads(cli("datasets", "versions", "adult", "--json").stdout)
    assert [v["version"] for v in versions] == [1]
