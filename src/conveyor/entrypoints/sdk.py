"""The Python SDK for notebooks: `cv.Workspace` offers the CLI's verbs through the same services."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.bootstrap import build_services
from conveyor.settings import Settings

if TYPE_CHECKING:
    import pandas as pd


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame.from_records(records)


class TrainingResult:
    """The outcome of `Workspace.train`, with the leaderboard as a DataFrame."""

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        self.model_name: str = outcome.model.name
        self.model_version: int = outcome.model.version
        self.metric: str = outcome.metric
        self.task: str = outcome.task.value
        self.best_family: str = outcome.best.family
        self.cv_score: float = outcome.best.cv_mean
        self.holdout_score: float | None = outcome.holdout_score
        self.warnings: list[str] = list(outcome.warnings)

    @property
    def model_ref(self) -> str:
        return f"{self.model_name}:{self.model_version}"

    @property
    def leaderboard(self) -> pd.DataFrame:
        rows = [
            {
                "trial": t.number,
                "family": t.family,
                f"cv_{t.metric}": t.cv_mean,
                "cv_std": t.cv_std,
                "fit_seconds": t.fit_seconds,
                "predict_seconds_per_1k": t.predict_seconds_per_1k,
                "status": t.status,
                "params": t.params,
            }
            for t in self.outcome.leaderboard
        ]
        return _frame(rows)

    def __repr__(self) -> str:
        return (
            f"<TrainingResult {self.model_ref} {self.task} best={self.best_family} "
            f"cv_{self.metric}={self.cv_score:.4f} trials={len(self.outcome.leaderboard)}>"
        )

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>{html.escape(self.model_ref)}</b> ({self.task}) — best {html.escape(self.best_family)}, "
            f"cv {self.metric} {self.cv_score:.4f}"
            + (f", held-out {self.holdout_score:.4f}" if self.holdout_score is not None else "")
            + "</p>"
        )
        return head + self.leaderboard.drop(columns=["params"]).head(20).to_html(index=False, float_format="%.4f")


class Workspace:
    """A Conveyor workspace: datasets, training, models and prediction.

    `Workspace()` uses `CONVEYOR_HOME` (default `~/.conveyor`) and the other `CONVEYOR_*`
    settings; `Workspace(home=...)` puts every location of the workspace under that folder.
    """

    def __init__(self, home: str | Path | None = None) -> None:
        settings = Settings() if home is None else Settings.for_home(Path(home))
        self.settings = settings
        self._services = build_services(settings)

    @property
    def home(self) -> Path:
        return self.settings.home

    def __repr__(self) -> str:
        return f"<Workspace {self.home}>"

    def add_dataset(self, source: str | Path, name: str | None = None) -> Any:
        """Ingest a file (CSV, Parquet, JSON Lines, .xlsx) or an `s3://` object as a new version of dataset `name`.

        `name` defaults to the file name without its suffixes.
        """
        from conveyor.services.datasets import dataset_name_for

        return self._services.datasets.add(source, name or dataset_name_for(source)).version

    def datasets(self) -> pd.DataFrame:
        """Every dataset with its newest version."""
        return _frame(
            [
                {"name": s.name, "versions": s.versions, "rows": s.latest.rows, "columns": len(s.latest.columns)}
                for s in self._services.datasets.list()
            ]
        )

    def dataset(self, ref: str) -> Any:
        """A dataset version (`NAME` or `NAME:VERSION`) with its schema and profile."""
        return self._services.datasets.get(ref)

    def load_dataset(self, ref: str) -> pd.DataFrame:
        """A dataset version's rows."""
        return self._services.datasets.frame(self.dataset(ref))

    def profile(self, ref: str, target: str | None = None) -> Any:
        """The profile report of a dataset version; displays as HTML in a notebook (`.html()` for a file)."""
        return self._services.datasets.profile_report(ref, target=target)

    def diff_datasets(self, old: str, new: str) -> dict[str, Any]:
        """Schema changes, row-count change and per-column statistic shifts between two versions."""
        return self._services.datasets.diff(old, new)

    def export_dataset(self, ref: str, output: str | Path) -> Path:
        """Write a dataset version to a .csv or .parquet file."""
        return self._services.datasets.export(ref, output)

    def set_semantic_types(self, name: str, **types: str) -> Any:
        """Override semantic types (`ws.set_semantic_types("sales", zip="categorical")`) for every version."""
        return self._services.datasets.set_semantic_types(name, dict(types))

    def expect(self, name: str, expectations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Declare the expectations every new version of `name` is checked against."""
        return self._services.datasets.set_expectations(name, expectations)

    def validate(self, ref: str) -> Any:
        """Check a version against its dataset's expectations; returns the version with its result."""
        return self._services.datasets.validate(ref)

    def run_recipe(self, recipe: dict[str, Any] | str | Path) -> Any:
        """Run a recipe (a mapping, or a YAML file) and return the version it produced."""
        from conveyor.services.recipes import load_spec

        spec = recipe if isinstance(recipe, dict) else load_spec(recipe)
        return self._services.recipes.run(spec).version

    def train(
        self,
        data: str | Path,
        target: str,
        *,
        task: str | None = None,
        metric: str | None = None,
        time_budget: float | None = None,
        max_trials: int | None = None,
        seed: int = 0,
        name: str | None = None,
        holdout: float | None = None,
    ) -> TrainingResult:
        """Train on a dataset (`NAME[:VERSION]` or a file) and register the best model.

        The search runs for `time_budget` seconds (60 when neither it nor `max_trials` is given).
        """
        outcome = self._services.training.train(
            str(data),
            target,
            task=task,
            metric=metric,
            time_budget=time_budget,
            max_trials=max_trials,
            seed=seed,
            name=name,
            holdout=holdout,
        )
        return TrainingResult(outcome)

    def models(self) -> pd.DataFrame:
        """Every registered model with its newest version."""
        return _frame(
            [
                {"name": m.name, "version": m.version, "aliases": m.aliases, **m.tags}
                for m in self._services.models.list()
            ]
        )

    def predict(self, model: str, data: pd.DataFrame | str | Path, output: str | Path | None = None) -> Any:
        """Predictions of `model` (`NAME[@ALIAS|:VERSION]`) for a DataFrame, or for a file written to `output`."""
        if isinstance(data, (str, Path)):
            if output is None:
                raise TypeError("Predicting a file needs `output=`, the path to write the predictions to.")
            return self._services.prediction.predict_file(model, data, output)
        return self._services.prediction.predict_frame(model, data)
