"""The MLflow pyfunc wrapper that Conveyor's trained models are saved as."""

from __future__ import annotations

import pickle
from typing import Any

import mlflow.pyfunc
import pandas as pd

MODEL_ARTIFACT = "tabular_model"


class TabularPyfunc(mlflow.pyfunc.PythonModel):
    """Answers `predict` with one probability column per class plus `prediction`.

    The fitted model travels as a pickled artifact, so the class itself stays tiny and
    any MLflow-aware tool (`mlflow models serve`, MLServer's MLflow runtime) can load it.
    """

    def load_context(self, context: Any) -> None:
        with open(context.artifacts[MODEL_ARTIFACT], "rb") as handle:
            self.model = pickle.load(handle)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self.model.predict_frame(model_input)
