"""`conveyor train` and `conveyor predict` through the CLI, on real data and a real MLflow store."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests_support import BAD_MANIFEST, bad_cases


@pytest.fixture
def adult_slice(tmp_path, demo_csv):
    """3,000 rows of the demo table as a plain CSV (with its missing values)."""
    path = tmp_path / "adult_slice.csv"
    with gzip.open(demo_csv, "rt") as source:
        lines = [next(source) for _ in range(3001)]
    path.write_text("".join(lines))
    return path


def mlflow_client(home):
    uri = f"sqlite:///{home / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def train(cli, *args):
    result = cli("train", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_train_tracks_trials_registers_champion_and_predicts(cli, home, adult_slice, tmp_path):
    outcome = train(cli, "--data", adult_slice, "--target", "income", "--max-trials", "4", "--seed", "0")
    assert outcome["task"] == "binary"
    assert outcome["metric"] == "roc_auc"
    assert (outcome["model"], outcome["version"], outcome["champion"]) == ("adult_slice", 1, True)
    families = {t["family"] for t in outcome["leaderboard"]}
    assert {"lightgbm", "catboost", "xgboost", "linear"} <= families
    assert outcome["best"]["cv_mean"] > 0.85

    client = mlflow_client(home)
    experiment = client.get_experiment_by_name("adult_slice")
    runs = client.search_runs([experiment.experiment_id])
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.data.tags["conveyor.dataset"] == "adult_slice:1"
    assert len(children) == len(outcome["leaderboard"])
    assert [t["status"] for t in outcome["leaderboard"]] == ["ok"] * len(children)
    assert all({"cv_roc_auc_mean", "cv_roc_auc_std", "fit_seconds"} <= set(r.data.metrics) for r in children)
    assert int(client.get_model_version_by_alias("adult_slice", "champion").version) == 1

    scoring = tmp_path / "to_score.csv"
    pd.read_csv(adult_slice).drop(columns=["income"]).head(200).to_csv(scoring, index=False)
    for suffix in ("csv", "parquet"):
        output = tmp_path / f"scored.{suffix}"
        result = cli("predict", "--model", "adult_slice", "--data", scoring, "--output", output)
        assert result.exit_code == 0, result.output
        scored = pd.read_csv(output) if suffix == "csv" else pd.read_parquet(output)
        assert list(scored.columns) == ["<=50K", ">50K", "prediction"]
        assert len(scored) == 200
        assert (scored["<=50K"] + scored[">50K"]).round(6).eq(1).all()
        assert set(scored["prediction"]) <= {"<=50K", ">50K"}

    listed = json.loads(cli("models", "list", "--json").stdout)
    assert listed[0]["aliases"] == ["champion"]


def test_model_card_is_logged_and_predict_explains(cli, home, adult_slice, tmp_path):
    train(cli, "--data", adult_slice, "--target", "income", "--max-trials", "1", "--name", "explained")
    cards = list(home.rglob("model_card.json"))
    assert len(cards) == 1
    card = json.loads(cards[0].read_text())
    assert card["evaluation"]["roc"][">50K"]["auc"] > 0.8
    assert {"roc.png", "pr.png", "calibration.png", "confusion_matrix.png"} <= {
        p.name for p in cards[0].parent.iterdir()
    }

    scoring = tmp_path / "to_score.csv"
    pd.read_csv(adult_slice).drop(columns=["income"]).head(50).to_csv(scoring, index=False)
    output = tmp_path / "explained.csv"
    result = cli("predict", "--model", "explained", "--data", scoring, "--output", output, "--explain")
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(output)
    contributions = scored.filter(like="contrib_")
    assert "contrib_bias" in contributions.columns
    assert "contrib_age" in contributions.columns
    # binary LightGBM: the contributions add up to the log-odds of the predicted probability
    log_odds = np.log(scored[">50K"] / scored["<=50K"])
    np.testing.assert_allclose(contributions.sum(axis=1), log_odds, rtol=1e-3, atol=1e-3)


def test_same_seed_gives_the_same_leaderboard(cli, adult_slice):
    def order(name):
        outcome = train(
            cli, "--data", adult_slice, "--target", "income", "--max-trials", "4", "--seed", "3", "--name", name
        )
        return [(t["family"], t["params"], round(t["cv_mean"], 10)) for t in outcome["leaderboard"]]

    assert order("first") == order("second")


def test_a_worse_model_does_not_take_the_champion_alias(cli, adult_slice, tmp_path):
    first = train(cli, "--data", adult_slice, "--target", "income", "--max-trials", "4", "--name", "income")
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("".join(adult_slice.read_text().splitlines(keepends=True)[:121]))
    second = train(cli, "--data", tiny, "--target", "income", "--max-trials", "1", "--name", "income")
    assert second["best"]["cv_mean"] < first["best"]["cv_mean"]
    assert (second["version"], second["champion"]) == (2, False)
    shown = json.loads(cli("models", "show", "income", "--json").stdout)
    assert shown[0]["aliases"] == ["champion"]
    assert shown[1]["aliases"] == []

    result = cli("models", "promote", "income:2", "--alias", "champion")
    assert result.exit_code == 0
    shown = json.loads(cli("models", "show", "income", "--json").stdout)
    assert [v["aliases"] for v in shown] == [[], ["champion"]]

    missing = cli("models", "promote", "income:9")
    assert missing.exit_code == 1
    assert "has no version 9" in missing.stderr


@pytest.mark.parametrize(
    ("dataset", "target", "task"),
    [
        ("credit_g.csv", "class", "binary"),
        ("hypothyroid.csv", "Class", "multiclass"),
        ("ames_housing.csv", "SalePrice", "regression"),
    ],
)
def test_bench_datasets_train_and_predict(cli, shared, tmp_path, dataset, target, task):
    source = shared("bench", dataset)
    frame = pd.read_csv(source)
    outcome = train(cli, "--data", source, "--target", target, "--max-trials", "1", "--name", "bench")
    assert outcome["task"] == task
    scoring = tmp_path / "rows.csv"
    frame.drop(columns=[target]).head(50).to_csv(scoring, index=False)
    result = cli("predict", "--model", "bench@champion", "--data", scoring, "--output", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "out.csv")) == 50


@pytest.mark.parametrize("case", bad_cases("train"), ids=lambda case: case["file"])
def test_bad_input_corpus_through_train(cli, case):
    source = BAD_MANIFEST.parent / case["file"]
    result = cli("train", "--data", source, "--target", case["target"], "--max-trials", "2")
    assert "Traceback" not in result.output
    if case["expect"] == "error":
        assert result.exit_code == 1, result.output
        assert "Error:" in result.stderr
        if case["file"] == "unknown_target.csv":
            assert "'churn'" in result.stderr
        return
    assert result.exit_code == 0, result.output
    assert "Warning:" in result.stderr


def test_unknown_model_is_a_clear_error(cli, tmp_path):
    source = tmp_path / "x.csv"
    source.write_text("a,b\n1,2\n")
    result = cli("predict", "--model", "nope", "--data", source, "--output", tmp_path / "o.csv")
    assert result.exit_code == 1
    assert "No registered model named 'nope'" in result.stderr


def test_an_error_while_the_engine_loads_ends_the_process_with_its_message(tmp_path, conveyor_process):
    # `train` loads the engine's libraries on a side thread from its start; a user error found meanwhile (here
    # about a second in, before that import is done) still ends the process at once, cleanly, with its message.
    missing = tmp_path / "missing.csv"
    done = conveyor_process("train", "--data", missing, "--target", "y", home=tmp_path / "home", timeout=60)
    assert done.returncode == 1
    assert f"File not found: {missing}" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Fatal" not in done.stderr


def stored_report(home, dataset):
    from conveyor.adapters.store import SqlMetadataStore
    from conveyor.adapters.store.database import create_database_engine

    return SqlMetadataStore(create_database_engine(f"sqlite:///{home / 'conveyor.db'}")).get_report(dataset, 1)


def test_a_file_trained_on_has_the_profile_report_datasets_add_gives_it(cli, home, adult_slice):
    # `train` records the file's version without its report and stores the report once the first trial is in.
    train(cli, "--data", adult_slice, "--target", "income", "--max-trials", "1")
    added = cli("datasets", "add", adult_slice, "--name", "added")
    assert added.exit_code == 0, added.output
    assert stored_report(home, "adult_slice") == stored_report(home, "added")


def test_a_train_refused_after_the_ingest_leaves_a_version_whose_report_is_made_on_request(cli, home, adult_slice):
    refused = cli("train", "--data", adult_slice, "--target", "Income", "--max-trials", "1")
    assert refused.exit_code == 1
    assert "Did you mean 'income'?" in refused.stderr
    assert stored_report(home, "adult_slice") is None
    asked = cli("datasets", "profile", "adult_slice", "--json")
    assert asked.exit_code == 0, asked.output
    assert json.loads(asked.stdout)["rows"] == 3000
    assert stored_report(home, "adult_slice") == json.loads(asked.stdout)


def test_train_leaves_the_garbage_collector_running_whether_it_succeeds_or_fails(cli, adult_slice):
    import gc

    # `train` pauses the collector from its start until the search is set up; the process goes on collecting.
    refused = cli("train", "--data", adult_slice, "--target", "Income", "--max-trials", "1")
    assert refused.exit_code == 1
    assert gc.isenabled()
    train(cli, "--data", adult_slice, "--target", "income", "--max-trials", "1")
    assert gc.isenabled()


def test_train_collects_garbage_again_from_the_search_on(cli, adult_slice, monkeypatch):
    import gc

    from conveyor.entrypoints.cli.progress import TrainingDisplay

    # the collector's state as each progress event reaches the display: paused through ingest and profile,
    # running from the search's set-up on (a search that ran without it would grow unbounded)
    seen = []
    shown = TrainingDisplay.__call__
    monkeypatch.setattr(
        TrainingDisplay,
        "__call__",
        lambda display, event: (seen.append((event.stage, gc.isenabled())), shown(display, event)),
    )
    done = cli("train", "--data", adult_slice, "--target", "income", "--max-trials", "2")
    assert done.exit_code == 0, done.output
    stages = [stage for stage, _ in seen]
    setup = stages.index("setup")
    assert setup > 0
    assert not any(enabled for _, enabled in seen[:setup])
    assert all(enabled for _, enabled in seen[setup:])
    assert "trial" in stages[setup:]


def test_a_report_that_cannot_be_stored_is_told_and_does_not_fail_the_training(
    cli, home, adult_slice, monkeypatch, caplog
):
    from conveyor.services.datasets import DatasetService

    def full_disk(service, ref):
        raise OSError("No space left on device")

    monkeypatch.setattr(DatasetService, "profile_report", full_disk)
    outcome = train(cli, "--data", adult_slice, "--target", "income", "--max-trials", "1")
    assert (outcome["model"], outcome["version"]) == ("adult_slice", 1)
    assert "Could not store the profile report of adult_slice:1 (No space left on device)" in caplog.text
    assert "conveyor datasets profile adult_slice:1" in caplog.text
    assert stored_report(home, "adult_slice") is None
