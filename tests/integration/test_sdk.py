"""`import conveyor as cv`: the notebook verbs, through the same services as the CLI."""

from __future__ import annotations

import gzip

import mlflow
import pandas as pd
import pytest

import conveyor as cv


@pytest.fixture
def census(tmp_path, demo_csv):
    path = tmp_path / "census.csv"
    with gzip.open(demo_csv, "rt") as source:
        path.write_text("".join(next(source) for _ in range(2001)))
    return path


def test_workspace_ingests_trains_and_predicts(tmp_path, census):
    ws = cv.Workspace(home=tmp_path / "ws")
    assert ws.home == (tmp_path / "ws").resolve()

    version = ws.add_dataset(census)
    assert (version.dataset, version.version, version.rows) == ("census", 1, 2000)
    assert ws.datasets().to_dict("records") == [{"name": "census", "versions": 1, "rows": 2000, "columns": 15}]
    assert len(ws.load_dataset("census:1")) == 2000

    result = ws.train("census", target="income", max_trials=2, holdout=0.2)
    assert result.model_ref == "census:1"
    assert result.holdout_score is not None
    board = result.leaderboard
    assert list(board.columns[:4]) == ["trial", "family", "cv_roc_auc", "cv_std"]
    assert "<table" in result._repr_html_()

    rows = pd.read_csv(census).drop(columns=["income"]).head(10)
    scored = ws.predict("census", rows)
    assert list(scored.columns) == ["<=50K", ">50K", "prediction"]
    assert len(scored) == 10

    output = tmp_path / "scored.parquet"
    rows.to_csv(tmp_path / "rows.csv", index=False)
    assert ws.predict("census@champion", tmp_path / "rows.csv", output=output).rows == 10
    assert ws.models()["name"].tolist() == ["census"]


def test_sdk_errors_are_conveyor_errors(tmp_path):
    ws = cv.Workspace(home=tmp_path / "ws")
    with pytest.raises(cv.NotFound, match="No dataset named 'missing'"):
        ws.dataset("missing")
    with pytest.raises(cv.InvalidInput):
        ws.dataset("bad:name:x")


def test_the_users_own_mlflow_settings_are_left_alone(tmp_path, census, monkeypatch):
    users_store = tmp_path / "users-mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{users_store}")
    ws = cv.Workspace(home=tmp_path / "ws")
    result = ws.train(census, target="income", max_trials=1)
    assert result.model_ref == "census:1"
    assert (tmp_path / "ws" / "mlflow.db").exists()
    assert not users_store.exists()
    assert mlflow.get_tracking_uri() == f"sqlite:///{users_store}"
