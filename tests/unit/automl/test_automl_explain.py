"""Explanations and the model card: contributions add up, the card's files exist and are valid."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conveyor.automl import contributions, run_automl, write_model_card
from conveyor.automl.explain import feature_importance, raw_scores
from conveyor.errors import InvalidInput

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("families", [["lightgbm"], ["xgboost"], ["lightgbm", "xgboost"]])
def test_tree_contributions_sum_to_the_raw_prediction(families: list[str], adult: pd.DataFrame) -> None:
    frame = adult.head(1500)
    result = run_automl(frame, "income", max_trials=len(families), families=families)
    rows = frame.drop(columns=["income"]).head(25)
    explained = contributions(result.model, rows)
    assert "contrib_bias" in explained.columns
    assert any(column.startswith("contrib_age") for column in explained.columns)
    np.testing.assert_allclose(explained.sum(axis=1), raw_scores(result.model, rows), rtol=1e-4, atol=1e-4)
    if families == ["lightgbm"]:
        # a single binary model: the raw score is the log-odds of its probability
        probability = result.model.predict_frame(rows)[">50K"]
        np.testing.assert_allclose(1 / (1 + np.exp(-explained.sum(axis=1))), probability, rtol=1e-4)


def test_contributions_refuse_models_without_trees(diabetes: pd.DataFrame) -> None:
    result = run_automl(diabetes, "target", max_trials=1, families=["linear"])
    with pytest.raises(InvalidInput):
        contributions(result.model, diabetes.head(3))


def test_classification_model_card(breast_cancer: pd.DataFrame, tmp_path: Path) -> None:
    result = run_automl(breast_cancer, "target", max_trials=2, families=["lightgbm", "linear"])
    assert result.oof_y is not None
    assert result.oof_prediction is not None
    assert len(result.oof_y) == len(breast_cancer) == len(result.oof_prediction)
    written = write_model_card(result.model, breast_cancer, result.oof_y, result.oof_prediction, tmp_path / "card")
    names = {path.name for path in written}
    assert {"model_card.json", "roc.png", "pr.png", "calibration.png", "confusion_matrix.png"} <= names
    assert all(path.read_bytes().startswith(PNG_MAGIC) for path in written if path.suffix == ".png")
    card = json.loads((tmp_path / "card" / "model_card.json").read_text())
    assert card["evaluation"]["roc"]["1"]["auc"] > 0.95
    assert np.asarray(card["evaluation"]["confusion_matrix"]).sum() == len(breast_cancer)
    assert abs(sum(card["feature_importance"].values()) - 1.0) < 1e-6


def test_regression_model_card(diabetes: pd.DataFrame, tmp_path: Path) -> None:
    result = run_automl(diabetes, "target", max_trials=1, families=["linear"])
    written = write_model_card(
        result.model, diabetes, result.oof_y, result.oof_prediction, tmp_path, sample_rows=len(diabetes)
    )
    assert {"model_card.json", "residuals.png", "predicted_vs_actual.png", "feature_importance.png"} <= {
        p.name for p in written
    }
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["evaluation"]["r2"] > 0.3
    assert max(card["feature_importance"], key=card["feature_importance"].get) in {"bmi", "s5", "bp"}


def test_a_late_model_card_skips_the_dear_parts(diabetes: pd.DataFrame, tmp_path: Path) -> None:
    result = run_automl(diabetes, "target", max_trials=1, families=["linear"])
    written = write_model_card(result.model, diabetes, result.oof_y, result.oof_prediction, tmp_path, deadline=0.0)
    assert [p.name for p in written] == ["model_card.json"]
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["skipped"] == ["feature_importance", "plots"]
    assert card["evaluation"]["rmse"] > 0


def test_linear_leaves_get_a_card_by_permutation_but_no_contributions(diabetes: pd.DataFrame, tmp_path: Path) -> None:
    result = run_automl(diabetes, "target", max_trials=1, families=["lightgbm"])
    assert result.model.params["linear_tree"] is True
    with pytest.raises(InvalidInput, match="linear leaves"):
        contributions(result.model, diabetes.head(3))
    write_model_card(result.model, diabetes, result.oof_y, result.oof_prediction, tmp_path, sample_rows=len(diabetes))
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert abs(sum(card["feature_importance"].values()) - 1.0) < 1e-6


def test_permutation_importance_gives_up_when_its_predictions_cannot_finish_by_the_deadline(
    diabetes: pd.DataFrame,
) -> None:
    result = run_automl(diabetes, "target", max_trials=1, families=["linear"])
    rows = diabetes.drop(columns=["target"])
    assert feature_importance(result.model, rows, deadline=time.monotonic()) is None
    assert feature_importance(result.model, rows, deadline=time.monotonic() + 60.0)
