"""Batch prediction: score a CSV or Parquet file of any size in chunks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.domain.models import LoadedModel
from conveyor.domain.progress import ProgressCallback, ProgressEvent, ignore_progress
from conveyor.errors import InvalidInput, NotFound
from conveyor.services.models import ModelService

if TYPE_CHECKING:
    import pandas as pd

OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class PredictionOutcome:
    rows: int
    output: Path
    model: str
    version: str


def as_frame(result: Any) -> pd.DataFrame:
    """A model's answer as a DataFrame: frames pass through, arrays become `prediction` columns."""
    import numpy as np
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(result, pd.Series):
        return result.to_frame("prediction")
    array = np.asarray(result)
    if array.ndim == 2 and array.shape[1] > 1:
        return pd.DataFrame(array, columns=[f"prediction_{i}" for i in range(array.shape[1])])
    return pd.DataFrame({"prediction": array.reshape(-1)})


class PredictionService:
    """Scores tables with a registered model or an MLflow model directory."""

    def __init__(self, models: ModelService, batch_rows: int = 100_000) -> None:
        self._models = models
        self._batch_rows = batch_rows

    def predict_frame(self, model: str | LoadedModel, frame: pd.DataFrame) -> pd.DataFrame:
        loaded = self._models.load(model) if isinstance(model, str) else model
        return as_frame(loaded.predictor.predict(frame))

    def explain_frame(self, model: str | LoadedModel, frame: pd.DataFrame) -> pd.DataFrame:
        """Per-row feature contributions (`contrib_*` columns) of a Conveyor tree model for `frame`."""
        from conveyor import automl

        loaded = self._models.load(model) if isinstance(model, str) else model
        tabular = getattr(loaded.predictor, "model", None)
        if not isinstance(tabular, automl.TabularModel):
            raise InvalidInput(
                f"Model {loaded.name} is not a Conveyor tabular model; it cannot explain its predictions.",
                hint="Run without --explain.",
            )
        return automl.contributions(tabular, frame)

    def predict_file(
        self,
        model: str,
        source: str | Path,
        output: str | Path,
        on_progress: ProgressCallback = ignore_progress,
        *,
        explain: bool = False,
    ) -> PredictionOutcome:
        """Write predictions for every row of `source` to `output` (CSV or Parquet by extension).

        With `explain`, each row also gets its per-feature contributions (tree models only).
        """
        from conveyor import data

        source, output = Path(source).expanduser(), Path(output).expanduser()
        if not source.is_file():
            raise NotFound(f"File not found: {source}.", hint="Check the path of --data.")
        if output.suffix.lower() not in OUTPUT_SUFFIXES:
            raise InvalidInput(
                f"Cannot tell the output format of {output.name}.", hint="End --output with .csv or .parquet."
            )
        if not output.parent.is_dir():
            raise NotFound(f"Output folder does not exist: {output.parent}.", hint="Create it first.")
        on_progress(ProgressEvent(stage="load", message=f"Loading model {model}"))
        loaded = self._models.load(model)
        rows = 0
        with data.FrameWriter(output) as writer:
            for chunk in data.iter_frames(source, self._batch_rows):
                scored = self.predict_frame(loaded, chunk)
                scored.index = chunk.index
                if explain:
                    scored = scored.join(self.explain_frame(loaded, chunk))
                writer.write(scored)
                rows += len(chunk)
                on_progress(ProgressEvent(stage="predict", message=f"{rows:,} rows scored", completed=rows))
        return PredictionOutcome(rows=rows, output=output, model=loaded.name, version=loaded.version)
