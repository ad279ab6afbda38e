"""Explanations and the model card: feature importance, per-row contributions, evaluation on out-of-fold rows.

Computation only: arrays and frames in, JSON-ready dicts and PNG files written to a folder out. The
service logs the folder with the registered model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from conveyor.automl.model import FoldEnsemble, TabularModel, TemperatureScaled, WeightedEnsemble
from conveyor.domain.training import Task
from conveyor.errors import InvalidInput

# curves are thinned to this many points, so the JSON stays small for the web UI
MAX_CURVE_POINTS = 200
MAX_SCATTER_POINTS = 2000
CALIBRATION_BINS = 10


def _tree_members(estimator: Any, weight: float = 1.0) -> list[tuple[Any, float]]:
    """The LightGBM and XGBoost models inside `estimator`, with their share of its prediction."""
    if isinstance(estimator, WeightedEnsemble):
        return [
            m
            for member, w in zip(estimator.members, estimator.weights, strict=True)
            for m in _tree_members(member, weight * w)
        ]
    if isinstance(estimator, TemperatureScaled):
        return _tree_members(estimator.estimator, weight)
    if isinstance(estimator, FoldEnsemble):
        share = weight / len(estimator.estimators)
        return [m for member in estimator.estimators for m in _tree_members(member, share)]
    module = type(estimator).__module__
    if module.startswith("lightgbm") and estimator.get_params().get("linear_tree"):
        return []  # LightGBM computes no SHAP values for trees with linear models in their leaves
    if module.startswith(("lightgbm", "xgboost")):
        return [(estimator, weight)]
    return []


def _member_contributions(estimator: Any, features: pd.DataFrame) -> np.ndarray:
    if type(estimator).__module__.startswith("lightgbm"):
        return np.asarray(estimator.predict(features, pred_contrib=True), dtype=float)
    import xgboost

    matrix = xgboost.DMatrix(features, enable_categorical=True)
    # the rounds the sklearn wrapper predicts with: up to the best one when early stopping chose it
    best = getattr(estimator, "best_iteration", None)
    rounds = (0, best + 1) if best is not None else (0, 0)
    contributions = estimator.get_booster().predict(matrix, pred_contribs=True, iteration_range=rounds)
    # multiclass: (n, k, f+1) → (n, k*(f+1)), LightGBM's layout
    return np.asarray(contributions, dtype=float).reshape(len(features), -1)


def _all_classes(values: np.ndarray, member: Any, n_classes: int, n_features: int) -> np.ndarray:
    """A multiclass member's contributions laid out for every class (zeros for classes its fold never saw)."""
    if n_classes == 1 or values.shape[1] == n_classes * (n_features + 1):
        return values
    seen = np.asarray(member.classes_, dtype=int)
    full = np.zeros((len(values), n_classes, n_features + 1))
    full[:, seen, :] = values.reshape(len(values), len(seen), n_features + 1)
    return full.reshape(len(values), -1)


def contributions(model: TabularModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Per-row feature contributions (SHAP values of the tree models) on the raw-score scale.

    Columns `contrib_<feature>` and `contrib_bias` (per class `contrib_<class>_<feature>` for multiclass);
    they sum to the model's raw score: log-odds for binary, the prediction for regression. For an
    ensemble they cover its LightGBM and XGBoost members, weighted by their share of it.
    """
    members = _tree_members(model.estimator)
    if not members:
        raise InvalidInput(
            "Per-row contributions need LightGBM or XGBoost trees with constant leaves (LightGBM has none for "
            f"linear leaves); this model is {model.family}.",
            hint="Train with those families, or read the model card's global feature importance.",
        )
    features = model.preprocessor.transform(frame)
    total_weight = sum(w for _, w in members)
    n_classes = len(model.classes_) if model.task is Task.MULTICLASS else 1
    summed = sum(
        w / total_weight * _all_classes(_member_contributions(m, features), m, n_classes, features.shape[1])
        for m, w in members
    )
    names = [*map(str, features.columns), "bias"]
    if model.task is Task.MULTICLASS:
        columns = [f"contrib_{label}_{name}" for label in model.classes_ for name in names]
    else:
        columns = [f"contrib_{name}" for name in names]
    return pd.DataFrame(np.asarray(summed), columns=columns, index=frame.index)


def raw_scores(model: TabularModel, frame: pd.DataFrame) -> np.ndarray:
    """The tree members' weighted raw score per row (what `contributions` sums to), for checks."""
    members = _tree_members(model.estimator)
    features = model.preprocessor.transform(frame)
    total_weight = sum(w for _, w in members)
    scores = []
    for member, weight in members:
        if type(member).__module__.startswith("lightgbm"):
            raw = member.predict(features, raw_score=True)
        else:
            raw = member.predict(features, output_margin=True)
        scores.append(weight / total_weight * np.asarray(raw, dtype=float))
    return np.sum(scores, axis=0)


def feature_importance(
    model: TabularModel, frame: pd.DataFrame, *, deadline: float | None = None
) -> dict[str, float] | None:
    """Global importance per model feature, normalised to sum to 1, highest first.

    Mean absolute contribution for tree models; otherwise the mean change of the predictions when a
    column is shuffled, on the given rows. `None` when that shuffling cannot finish by the monotonic
    `deadline` (it predicts once per column, which for an ensemble of fold models takes seconds).
    """
    names = [str(c) for c in model.preprocessor.transform(frame.head(1)).columns]
    if _tree_members(model.estimator):
        values = np.abs(contributions(model, frame).to_numpy())
        per_class = values.reshape(len(frame), -1, len(names) + 1)[:, :, :-1]
        raw = per_class.mean(axis=(0, 1))
    else:
        shuffled = _permutation_importance(model, frame, deadline)
        if shuffled is None:
            return None
        raw = shuffled
    total = float(np.sum(raw)) or 1.0
    ranked = sorted(zip(names, (float(v) / total for v in raw), strict=True), key=lambda kv: -kv[1])
    return dict(ranked)


def _permutation_importance(model: TabularModel, frame: pd.DataFrame, deadline: float | None) -> np.ndarray | None:
    features = model.preprocessor.transform(frame)
    rng = np.random.default_rng(0)

    def predict(X: pd.DataFrame) -> np.ndarray:
        if model.task is Task.REGRESSION:
            return np.asarray(model.estimator.predict(X), dtype=float)
        return np.asarray(model.estimator.predict_proba(X), dtype=float)

    started = time.monotonic()
    base = predict(features)
    once = time.monotonic() - started
    drops = []
    for name in features.columns:
        if deadline is not None and time.monotonic() + once > deadline:
            return None
        shuffled = features.copy()
        shuffled[name] = shuffled[name].to_numpy()[rng.permutation(len(shuffled))]
        drops.append(float(np.mean(np.abs(predict(shuffled) - base))))
    return np.asarray(drops)


def _thin(*arrays: np.ndarray, limit: int = MAX_CURVE_POINTS) -> list[list[float]]:
    keep = np.unique(np.linspace(0, len(arrays[0]) - 1, min(limit, len(arrays[0]))).round().astype(int))
    return [np.asarray(a, dtype=float)[keep].round(6).tolist() for a in arrays]


def evaluation(task: Task, y: np.ndarray, prediction: np.ndarray, classes: list[Any]) -> dict[str, Any]:
    """Evaluation curves and tables on out-of-fold predictions, as JSON-ready data."""
    if task is Task.REGRESSION:
        residuals = y - prediction
        idx = np.linspace(0, len(y) - 1, min(MAX_SCATTER_POINTS, len(y))).round().astype(int)
        return {
            "task": task.value,
            "rmse": float(skm.root_mean_squared_error(y, prediction)),
            "mae": float(skm.mean_absolute_error(y, prediction)),
            "r2": float(skm.r2_score(y, prediction)),
            "predicted_vs_actual": {"actual": y[idx].round(6).tolist(), "predicted": prediction[idx].round(6).tolist()},
            "residuals": {"predicted": prediction[idx].round(6).tolist(), "residual": residuals[idx].round(6).tolist()},
        }
    labels = [str(c) for c in classes]
    predicted = prediction.argmax(axis=1)
    result: dict[str, Any] = {
        "task": task.value,
        "classes": labels,
        "accuracy": float(skm.accuracy_score(y, predicted)),
        "confusion_matrix": skm.confusion_matrix(y, predicted, labels=np.arange(len(labels))).tolist(),
    }
    # one-vs-rest curves: the positive class for binary, every class for multiclass
    positives = [1] if task is Task.BINARY else list(range(len(labels)))
    result["roc"], result["pr"], result["calibration"] = {}, {}, {}
    for k in positives:
        truth, score = (y == k).astype(int), prediction[:, k]
        if truth.min() == truth.max():
            continue
        fpr, tpr, _ = skm.roc_curve(truth, score)
        precision, recall, _ = skm.precision_recall_curve(truth, score)
        observed, expected = calibration_curve(truth, score, n_bins=CALIBRATION_BINS, strategy="quantile")
        fpr_t, tpr_t = _thin(fpr, tpr)
        recall_t, precision_t = _thin(recall, precision)
        result["roc"][labels[k]] = {"fpr": fpr_t, "tpr": tpr_t, "auc": float(skm.roc_auc_score(truth, score))}
        result["pr"][labels[k]] = {
            "recall": recall_t,
            "precision": precision_t,
            "average_precision": float(skm.average_precision_score(truth, score)),
        }
        result["calibration"][labels[k]] = {
            "predicted": expected.round(6).tolist(),
            "observed": observed.round(6).tolist(),
        }
    return result


def _plots(card: dict[str, Any], folder: Path, late: Callable[[], bool], skipped: list[str]) -> list[Path]:
    """Draw the card's plots as PNGs into `folder`; once `late()`, the rest are listed in `skipped` instead."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    written = []

    def save(name: str, draw: Any) -> None:
        if late():
            skipped.append(name)
            return
        figure = Figure(figsize=(5, 4), dpi=80)
        axes = figure.subplots()
        draw(axes)
        figure.tight_layout()
        path = folder / f"{name}.png"
        figure.savefig(path)
        written.append(path)

    evaluated = card["evaluation"]
    if evaluated["task"] == "regression":
        pva, res = evaluated["predicted_vs_actual"], evaluated["residuals"]

        def predicted_vs_actual(ax: Any) -> None:
            ax.scatter(pva["actual"], pva["predicted"], s=4, alpha=0.5)
            low, high = min(pva["actual"]), max(pva["actual"])
            ax.plot([low, high], [low, high], color="grey", linewidth=1)
            ax.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual (out of fold)")

        def residuals(ax: Any) -> None:
            ax.scatter(res["predicted"], res["residual"], s=4, alpha=0.5)
            ax.axhline(0, color="grey", linewidth=1)
            ax.set(xlabel="predicted", ylabel="actual − predicted", title="Residuals (out of fold)")

        save("predicted_vs_actual", predicted_vs_actual)
        save("residuals", residuals)
    else:

        def curves(key: str, x: str, y: str, title: str) -> Any:
            def draw(ax: Any) -> None:
                for label, curve in evaluated[key].items():
                    ax.plot(curve[x], curve[y], label=label)
                ax.set(xlabel=x, ylabel=y, title=title)
                if len(evaluated[key]) <= 10:
                    ax.legend(fontsize="small")

            return draw

        def confusion(ax: Any) -> None:
            matrix = np.asarray(evaluated["confusion_matrix"])
            ax.imshow(matrix, cmap="Blues")
            ticks = range(len(evaluated["classes"]))
            ax.set_xticks(ticks, evaluated["classes"], rotation=90, fontsize="small")
            ax.set_yticks(ticks, evaluated["classes"], fontsize="small")
            ax.set(xlabel="predicted", ylabel="actual", title="Confusion matrix (out of fold)")

        save("roc", curves("roc", "fpr", "tpr", "ROC (out of fold)"))
        save("pr", curves("pr", "recall", "precision", "Precision-recall (out of fold)"))
        save("calibration", curves("calibration", "predicted", "observed", "Calibration (out of fold)"))
        save("confusion_matrix", confusion)

    importance = list(card["feature_importance"].items())[:20][::-1]
    if not importance:
        return written

    def importance_bars(ax: Any) -> None:
        ax.barh([name for name, _ in importance], [value for _, value in importance])
        ax.set(xlabel="share of importance", title="Feature importance")

    save("feature_importance", importance_bars)
    return written


def write_model_card(
    model: TabularModel,
    frame: pd.DataFrame,
    oof_y: np.ndarray,
    oof_prediction: np.ndarray,
    folder: Path,
    *,
    summary: dict[str, Any] | None = None,
    sample_rows: int = 100,
    seed: int = 0,
    deadline: float | None = None,
) -> list[Path]:
    """Write `model_card.json` and the evaluation PNGs for `model` into `folder`; the written paths.

    `frame` holds raw training rows (a sample of `sample_rows` is explained); `oof_y` and
    `oof_prediction` are the out-of-fold truth (class indices or numbers) and predictions. Past the
    monotonic `deadline`, the dearer parts (importance, plots) are skipped and listed under "skipped".
    """

    def late() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    folder.mkdir(parents=True, exist_ok=True)
    sample = frame.sample(min(sample_rows, len(frame)), random_state=seed) if len(frame) > sample_rows else frame
    skipped = []
    card: dict[str, Any] = {
        "family": model.family,
        "task": model.task.value,
        "target": model.target,
        "params": model.params,
        **(summary or {}),
        "evaluation": evaluation(
            model.task, np.asarray(oof_y), np.asarray(oof_prediction, dtype=float), model.classes_
        ),
    }
    importance = None if late() else feature_importance(model, sample, deadline=deadline)
    card["feature_importance"] = importance or {}
    if importance is None:
        skipped.append("feature_importance")
    plots = []
    if late():
        skipped.append("plots")
    else:
        plots = _plots(card, folder, late, skipped)
    card["skipped"] = skipped
    path = folder / "model_card.json"
    path.write_text(json.dumps(card, indent=1, default=str))
    return [path, *plots]
