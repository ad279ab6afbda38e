"""Scoring a fitted model on labelled rows it never saw (a held-out slice)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from conveyor.automl.metrics import METRICS
from conveyor.automl.model import TabularModel
from conveyor.errors import InvalidTrainingData


def score_model(model: TabularModel, frame: pd.DataFrame, target: str, metric: str) -> float:
    """`metric` of `model` on `frame`'s rows, whose `target` column holds the truth.

    Rows with a class the model never saw cannot be scored by a probability metric and are
    left out; rows without a target are left out too.
    """
    labelled = frame[frame[target].notna()]
    if model.task.is_classification:
        index_of = {str(label): i for i, label in enumerate(model.classes_)}
        known = labelled[target].astype(str).isin(index_of)
        labelled = labelled[known]
        truth = labelled[target].astype(str).map(index_of).to_numpy(dtype=int)
    else:
        truth = labelled[target].to_numpy(dtype=float)
    if labelled.empty:
        raise InvalidTrainingData(
            "No held-out row has a target the model knows; nothing to score.",
            hint="Hold out more rows, or train without a holdout.",
        )
    predicted = model.predict_frame(labelled.drop(columns=[target]))
    if model.task.is_classification:
        prediction = predicted[[str(label) for label in model.classes_]].to_numpy(dtype=float)
    else:
        prediction = predicted["prediction"].to_numpy(dtype=float)
    return METRICS[metric].score(np.asarray(truth), prediction)
