"""The demo: the platform's main job end to end on the bundled data, in a fresh workspace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conveyor.demo_data import ADULT_CENSUS_INCOME
from conveyor.domain.progress import ProgressCallback, ignore_progress
from conveyor.services.datasets import DatasetService, IngestOutcome
from conveyor.services.training import TrainingOutcome, TrainingService

DEMO_DATASET = "adult_census_income"
DEMO_TARGET = "income"
DEMO_MODEL = "adult_income"


@dataclass(frozen=True)
class DemoOutcome:
    ingest: IngestOutcome
    training: TrainingOutcome


class DemoService:
    """Ingests the bundled census table and trains an income classifier on it."""

    def __init__(self, datasets: DatasetService, training: TrainingService) -> None:
        self._datasets = datasets
        self._training = training

    @staticmethod
    def data_file() -> Path:
        return ADULT_CENSUS_INCOME

    def ingest(self, on_progress: ProgressCallback = ignore_progress) -> IngestOutcome:
        return self._datasets.add(ADULT_CENSUS_INCOME, DEMO_DATASET, on_progress)

    def train(
        self, *, time_budget: float, started_at: float | None = None, on_progress: ProgressCallback = ignore_progress
    ) -> TrainingOutcome:
        return self._training.train(
            DEMO_DATASET,
            DEMO_TARGET,
            time_budget=time_budget,
            name=DEMO_MODEL,
            holdout=0.2,
            started_at=started_at,
            on_progress=on_progress,
        )
