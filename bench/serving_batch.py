"""Batch scoring: does scoring chunks on several threads pay? `predict_file` timed with 1 and 2 threads.

"no pool" scores each chunk on the calling thread between reading it and writing it (the service's
chunk loop with the thread pool replaced by a plain `map`), "1 thread" overlaps one scoring thread
with reading and writing, "2 threads" scores two chunks at a time besides.

Models: Conveyor's own (one trial of a single family on the demo table, 32,561 rows: `linear` and
`lightgbm` by default, scored through their pipeline as `conveyor predict` does) and the serving harness's MLflow
LightGBM model (MLflow's pyfunc). Input: the demo table's feature columns repeated to `--rows` rows, as
Parquet. Each model is loaded once and run once untimed; then each configuration `--repeats` times,
alternating, and the best time is kept.

Usage: flock /tmp/conveyor-bench.lock .venv/bin/python bench/serving_batch.py [--rows 400000] [--batch-rows 100000]
       [--repeats 3] [--families linear,lightgbm]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from conveyor import automl
from conveyor.bootstrap import Services
from conveyor.domain.models import LoadedModel
from conveyor.services import prediction
from conveyor.services.prediction import PredictionService
from conveyor.settings import Settings

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO.parent / "shared" / "datasets" / "demo" / "adult_census_income.csv.gz"
HARNESS_MODEL = Path(os.environ.get("MODEL_DIR", "/tmp/conveyor-bench/serving-model")) / "mlflow" / "demo-lgbm"


class _Models:
    """Hands the service an already loaded model, or loads a model directory."""

    def __init__(self, loaded: dict[str, LoadedModel], services: Services) -> None:
        self._loaded = loaded
        self._services = services

    def load(self, spec: str) -> LoadedModel:
        return self._loaded[spec] if spec in self._loaded else self._services.models.load(spec)


class _Tabular:
    def __init__(self, model: automl.TabularModel) -> None:
        self.model = model

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.model.predict_frame(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--batch-rows", type=int, default=100_000, help="rows per chunk (the service's default)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--families", default="linear,lightgbm")
    args = parser.parse_args()

    table = pd.read_csv(DEMO)
    features = table.drop(columns=["income"])
    loaded: dict[str, LoadedModel] = {}
    for family in args.families.split(","):
        started = time.perf_counter()
        result = automl.run_automl(table, "income", families=[family], max_trials=1, seed=0)
        print(f"trained {family} in {time.perf_counter() - started:.1f} s")
        loaded[family] = LoadedModel(
            name=family, version="1", path=Path("."), predictor=_Tabular(result.model), inputs=None, metadata={}
        )

    services = Services(Settings())
    models = _Models(loaded, services)
    with tempfile.TemporaryDirectory(prefix="conveyor-batch-bench-") as scratch:
        source = Path(scratch) / "rows.parquet"
        repeated = pd.concat([features] * (args.rows // len(features) + 1), ignore_index=True).head(args.rows)
        repeated.to_parquet(source)
        harness_source = Path(scratch) / "harness.parquet"
        targets = [(family, source) for family in loaded]
        if HARNESS_MODEL.is_dir():
            # The harness model takes every column as an integer: the categoricals as codes, as its payloads do.
            coded = repeated.copy()
            for column in coded.columns:
                if coded[column].dtype == object or str(coded[column].dtype).startswith("str"):
                    coded[column] = coded[column].astype("category").cat.codes.astype("int64")
            coded.astype("int64").to_parquet(harness_source)
            targets.append((str(HARNESS_MODEL), harness_source))
            loaded[str(HARNESS_MODEL)] = services.models.load(str(HARNESS_MODEL))  # loaded once, not per run
        load = Path("/proc/loadavg").read_text().split()[0]
        print(f"{args.rows:,} rows in chunks of {args.batch_rows:,}, {os.cpu_count()} CPUs, load {load}")
        for spec, rows_file in targets:
            best: dict[int, float] = {}
            PredictionService(models, services.datasets, services.artifacts, args.batch_rows).predict_file(
                spec, rows_file, Path(scratch) / "out.parquet"
            )  # warm-up, not timed
            for _ in range(args.repeats):
                for workers in (0, 1, 2):
                    pooled = prediction._in_order_on_threads
                    if workers == 0:
                        prediction._in_order_on_threads = lambda work, chunks, _: map(work, chunks)
                    try:
                        service = PredictionService(
                            models, services.datasets, services.artifacts, args.batch_rows, workers=workers or 1
                        )
                        started = time.perf_counter()
                        service.predict_file(spec, rows_file, Path(scratch) / "out.parquet")
                        seconds = time.perf_counter() - started
                    finally:
                        prediction._in_order_on_threads = pooled
                    best[workers] = min(best.get(workers, seconds), seconds)
            label = "harness LightGBM (MLflow pyfunc)" if spec == str(HARNESS_MODEL) else f"conveyor {spec}"
            print(
                f"{label:34s} no pool {best[0]:6.2f} s   1 thread {best[1]:6.2f} s   2 threads {best[2]:6.2f} s   "
                f"load {Path('/proc/loadavg').read_text().split()[0]}"
            )


if __name__ == "__main__":
    main()
