"""Batch scoring through `conveyor predict`: a dataset version scored into a new version, with lineage both ways."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from conveyor.bootstrap import Services
from conveyor.services.prediction import PredictionService
from conveyor.settings import Settings


@pytest.fixture(scope="module")
def trained(tmp_path_factory, demo_csv, conveyor_process):
    """A workspace with 2,000 demo rows as dataset `people` and a one-trial model `income` trained on them.

    Trained once for the module; each test scores into dataset names of its own.
    """
    folder = tmp_path_factory.mktemp("scoring")
    path, home = folder / "people.csv", folder / "home"
    with gzip.open(demo_csv, "rt") as source:
        path.write_text("".join(next(source) for _ in range(2001)))
    for args in (
        ("datasets", "add", path, "--name", "people"),
        ("train", "--data", "people", "--target", "income", "--max-trials", "1", "--name", "income"),
    ):
        done = conveyor_process(*args, home=home)
        assert done.returncode == 0, done.stdout + done.stderr
    return path, home


@pytest.fixture
def workspace(home, trained, monkeypatch):
    """The module's trained workspace as this test's CONVEYOR_HOME; the path of the `people` rows."""
    path, trained_home = trained
    monkeypatch.setenv("CONVEYOR_HOME", str(trained_home))
    return path


def dataset_names(cli):
    return {d["name"] for d in json.loads(cli("datasets", "list", "--json").stdout)}


def test_dataset_version_is_scored_into_a_new_version_with_lineage(cli, workspace, tmp_path):
    result = cli("predict", "--model", "income", "--dataset", "people:1", "--into", "people_scored")
    assert result.exit_code == 0, result.output
    assert "into people_scored:1" in result.stdout

    scored = json.loads(cli("datasets", "show", "people_scored", "--json").stdout)
    assert scored["parents"] == ["people:1"]
    assert scored["source"] == "model:income:1"
    assert scored["recipe"]["kind"] == "score"
    assert (scored["recipe"]["model"], scored["recipe"]["model_version"]) == ("income", "1")
    assert scored["rows"] == 2000
    names = [c["name"] for c in scored["columns"]]
    original = pd.read_csv(workspace)
    assert names == [*original.columns, "<=50K", ">50K", "prediction"]

    # Same rows, same order, same numbers as scoring the file itself.
    rows = pd.read_parquet(scored["uri"].removeprefix("file://"))
    by_file = tmp_path / "by_file.parquet"
    assert cli("predict", "-m", "income", "-d", workspace, "-o", by_file).exit_code == 0
    pd.testing.assert_frame_equal(
        rows[["<=50K", ">50K", "prediction"]], pd.read_parquet(by_file), check_dtype=False, atol=1e-9
    )
    assert rows["age"].tolist() == original["age"].tolist()

    again = cli("predict", "--model", "income", "--dataset", "people", "--into", "people_scored")
    assert again.exit_code == 0
    versions = json.loads(cli("datasets", "versions", "people_scored", "--json").stdout)
    assert len(versions) == 1, "scoring the same version with the same model again made a duplicate version"


def test_many_chunks_on_many_threads_keep_the_input_order(workspace, tmp_path):
    services = Services(Settings())
    chunked = PredictionService(services.models, services.datasets, services.artifacts, batch_rows=97, workers=3)
    whole = PredictionService(services.models, services.datasets, services.artifacts, workers=1)
    chunked.predict_file("income", workspace, tmp_path / "chunked.parquet")
    whole.predict_file("income", workspace, tmp_path / "whole.parquet")
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "chunked.parquet"), pd.read_parquet(tmp_path / "whole.parquet")
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "people"], "--dataset needs --into"),
        (["--data", "people.csv"], "--data needs --output"),
        ([], "Give either --data FILE with --output FILE, or --dataset"),
        (["--dataset", "people", "--into", "people"], "Cannot score people:1 into its own dataset"),
        (["--dataset", "nobody", "--into", "x"], "nobody"),
    ],
)
def test_bad_scoring_requests_are_refused_and_write_nothing(cli, workspace, args, message):
    result = cli("predict", "--model", "income", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert not dataset_names(cli) - {"people", "people_scored", "clashing", "adults"}


def test_input_columns_named_like_predictions_are_refused(cli, workspace, tmp_path):
    clashing = tmp_path / "clashing.csv"
    pd.read_csv(workspace).assign(prediction="x").to_csv(clashing, index=False)
    assert cli("datasets", "add", clashing, "--name", "clashing").exit_code == 0
    result = cli("predict", "-m", "income", "--dataset", "clashing", "--into", "clashing_scored")
    assert result.exit_code == 1
    assert "already has columns named like the predictions: prediction" in result.stderr
    assert "clashing_scored" not in dataset_names(cli)
    assert not list((workspace.parent / "home" / "artifacts" / "datasets").glob("clashing_scored*"))


def test_a_version_that_failed_validation_is_scored_only_when_allowed(cli, workspace, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("expectations:\n  - {type: range, column: age, min: 30}\n")
    assert cli("datasets", "add", workspace, "--name", "adults").exit_code == 0
    assert cli("datasets", "expect", "adults", "--file", rules).exit_code == 0
    failing = tmp_path / "failing.csv"
    pd.read_csv(workspace).head(500).to_csv(failing, index=False)
    assert cli("datasets", "add", failing, "--name", "adults").exit_code == 0
    refused = cli("predict", "-m", "income", "--dataset", "adults:2", "--into", "adults_scored")
    assert refused.exit_code == 1
    assert "failed validation" in refused.stderr
    assert "adults_scored" not in dataset_names(cli)
    allowed = cli("predict", "-m", "income", "--dataset", "adults:2", "--into", "adults_scored", "--allow-invalid-data")
    assert allowed.exit_code == 0, allowed.output


def test_batch_scoring_reads_within_the_data_memory_limit(cli, workspace, tmp_path, monkeypatch):
    # A malformed limit fails as DuckDB's connection opens, so the refusal shows that scoring handed the setting over.
    monkeypatch.setenv("CONVEYOR_DATA_MEMORY_LIMIT", "lots")
    out = tmp_path / "scored.parquet"
    refused = cli("predict", "-m", "income", "-d", workspace, "-o", out)
    assert refused.exit_code == 1
    assert "Memory limit 'lots' is not one DuckDB understands" in refused.stderr
    assert not out.exists()
