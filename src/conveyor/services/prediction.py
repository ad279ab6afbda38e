"""Batch prediction: score a CSV or Parquet file, or a dataset version, of any size in chunks on every core."""

from __future__ import annotations

import os
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.domain.models import LoadedModel
from conveyor.domain.progress import ProgressCallback, ProgressEvent, ignore_progress
from conveyor.errors import Conflict, InvalidInput, NotFound
from conveyor.services.datasets import DatasetService, IngestOutcome, check_name
from conveyor.services.models import ModelService

if TYPE_CHECKING:
    import pandas as pd

    from conveyor.domain.ports import ArtifactStore

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
    """Scores tables with a registered model or an MLflow model directory.

    Chunks are scored on a pool of threads, one per core, while the next chunk is read and the previous one
    written: the models (LightGBM, XGBoost, CatBoost, numpy) release the GIL while they compute, and a model
    trained on small data predicts on one thread, so chunk-level parallelism is what fills the cores.
    """

    def __init__(
        self,
        models: ModelService,
        datasets: DatasetService,
        artifacts: ArtifactStore,
        batch_rows: int = 100_000,
        workers: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        self._models = models
        self._datasets = datasets
        self._artifacts = artifacts
        self._batch_rows = batch_rows
        self._workers = workers or os.cpu_count() or 1
        # DuckDB's memory for the chunked reads and the scored version's ingest (None: the engine's default).
        self._memory_limit = memory_limit

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
        rows = self._score_into(loaded, source, output, on_progress, explain=explain, keep_inputs=False)
        return PredictionOutcome(rows=rows, output=output, model=loaded.name, version=loaded.version)

    def score_dataset(
        self,
        model: str,
        dataset: str,
        into: str,
        on_progress: ProgressCallback = ignore_progress,
        *,
        explain: bool = False,
        allow_failed: bool = False,
    ) -> IngestOutcome:
        """Score the version `dataset` (`NAME[:VERSION]`) into a new version of the dataset `into`.

        The new version holds the input rows with the prediction columns appended; its lineage names the input
        version as parent and the exact model version as the step that made it.
        """
        from conveyor import data

        check_name(into)
        version = self._datasets.usable_version(dataset, allow_failed=allow_failed)
        if into == version.dataset:
            raise InvalidInput(
                f"Cannot score {version.ref} into its own dataset {into!r}.", hint="Give --into a new dataset name."
            )
        on_progress(ProgressEvent(stage="load", message=f"Loading model {model}"))
        loaded = self._models.load(model)
        source = self._artifacts.local_path(version.uri)

        def write(staged: Path) -> Any:
            with tempfile.TemporaryDirectory(prefix=".conveyor-score-", dir=staged.parent) as scratch:
                scored = Path(scratch) / "scored.parquet"
                self._score_into(loaded, source, scored, on_progress, explain=explain, keep_inputs=True)
                return data.ingest(scored, staged, memory_limit=self._memory_limit)

        return self._datasets.record(
            into,
            write,
            source=f"model:{loaded.name}:{loaded.version}",
            parents=[version.ref],
            recipe={"kind": "score", "model": loaded.name, "model_version": loaded.version, "explain": explain},
            on_progress=on_progress,
        )

    def _score_into(
        self,
        loaded: LoadedModel,
        source: Path,
        output: Path,
        on_progress: ProgressCallback,
        *,
        explain: bool,
        keep_inputs: bool,
    ) -> int:
        from conveyor import data

        def score(chunk: pd.DataFrame) -> pd.DataFrame:
            scored = self.predict_frame(loaded, chunk)
            scored.index = chunk.index
            if explain:
                scored = scored.join(self.explain_frame(loaded, chunk))
            if not keep_inputs:
                return scored
            clashing = sorted(set(scored.columns) & set(chunk.columns))
            if clashing:
                raise Conflict(
                    f"The input already has columns named like the predictions: {', '.join(clashing)}.",
                    hint="Rename or drop those columns with a recipe before scoring.",
                )
            return chunk.join(scored)

        rows = 0
        with data.FrameWriter(output) as writer:
            for scored in _in_order_on_threads(
                score,
                data.iter_frames(source, self._batch_rows, memory_limit=self._memory_limit),
                self._workers,
            ):
                writer.write(scored)
                rows += len(scored)
                on_progress(ProgressEvent(stage="predict", message=f"{rows:,} rows scored", completed=rows))
        return rows


def _in_order_on_threads(work: Any, chunks: Iterable[pd.DataFrame], workers: int) -> Iterator[pd.DataFrame]:
    """`work(chunk)` for every chunk on `workers` threads, yielded in input order, at most `workers + 1` in flight.

    The bound keeps memory flat on inputs of any size; on an error the pending chunks are dropped.
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="conveyor-score") as pool:
        pending: deque[Future[pd.DataFrame]] = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(work, chunk))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
