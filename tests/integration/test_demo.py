"""`conveyor demo`: the main job end to end on the bundled data, in a fresh workspace."""

from __future__ import annotations

import re

from mlflow import MlflowClient


def test_demo_runs_the_main_job_in_a_fresh_workspace(cli, tmp_path):
    workspace = tmp_path / "demo-home"
    result = cli("demo", "--home", workspace, "--time-budget", "25")
    assert result.exit_code == 0, result.output
    assert str(workspace) in result.stdout
    assert "48,842 rows" in result.stdout
    assert "Leaderboard" in result.stdout
    held_out = re.search(r"Held-out roc_auc on ([\d,]+) unseen rows: ([0-9.]+)", result.stdout)
    assert held_out, result.stdout
    assert 9_700 < int(held_out.group(1).replace(",", "")) < 9_800
    assert float(held_out.group(2)) > 0.85
    assert f"CONVEYOR_HOME={workspace}" in result.stdout
    assert "serve adult_income@champion" in result.stdout
    assert f"--backend-store-uri sqlite:///{workspace}/mlflow.db" in result.stdout

    uri = f"sqlite:///{workspace / 'mlflow.db'}"
    champion = MlflowClient(tracking_uri=uri, registry_uri=uri).get_model_version_by_alias("adult_income", "champion")
    assert int(champion.version) == 1


def test_demo_refuses_a_folder_that_holds_files(cli, tmp_path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    result = cli("demo", "--home", occupied)
    assert result.exit_code == 1
    assert "already holds files" in result.stderr
    assert (occupied / "keep.txt").read_text() == "mine"
