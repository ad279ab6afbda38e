"""The training use case: dataset version → AutoML leaderboard in MLflow → registered model."""

from __future__ import annotations

import contextlib
import difflib
import functools
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from conveyor.domain.datasets import DatasetVersion
from conveyor.domain.models import DEFAULT_ALIAS, ModelRef, ModelVersionInfo
from conveyor.domain.ports import MetadataStore, Tracker
from conveyor.domain.progress import ProgressCallback, ProgressEvent, ignore_progress
from conveyor.domain.training import JobStatus, Task, TrainingJob, TrialResult
from conveyor.errors import InvalidInput, InvalidTrainingData, NotFound
from conveyor.services.datasets import DatasetService

if TYPE_CHECKING:
    import pandas as pd

    from conveyor import automl

DEFAULT_TIME_BUDGET_S = 60.0

logger = logging.getLogger("conveyor.training")

# Seconds kept back from the user's budget for the model card, logging and registering the model and
# exiting. Measured on this 2-core machine under load 3-5: model card 2-4 s, log_model 2-5 s (an
# ensemble of fold models pickles large), registration 0.1-0.3 s, interpreter exit about 0.5 s.
_RESERVE_FIXED_S = 8.0
_RESERVE_SHARE = 0.03
# The model card's importance and plots are skipped once less than this is left for logging and exiting.
_LOGGING_RESERVE_S = 8.0


@dataclass(frozen=True)
class TrainingOutcome:
    """What a training job produced."""

    job: TrainingJob
    dataset: DatasetVersion
    task: Task
    metric: str
    leaderboard: list[TrialResult]
    best: TrialResult
    model: ModelVersionInfo
    champion_moved: bool
    previous_champion: int | None
    run_id: str
    holdout_score: float | None = None
    holdout_rows: int = 0
    warnings: list[str] = field(default_factory=list)


def _check_target(version: DatasetVersion, target: str) -> None:
    columns = version.column_names()
    if target in columns:
        return
    close = difflib.get_close_matches(target, columns, n=1, cutoff=0.6) or [
        c for c in columns if c.strip().lower() == target.strip().lower()
    ]
    suggestion = f" Did you mean {close[0]!r}?" if close else ""
    raise InvalidTrainingData(
        f"Target column {target!r} is not in dataset {version.ref}.{suggestion}",
        hint=f"Its columns are: {', '.join(repr(c) for c in columns)}.",
    )


def _holdout_split(frame: pd.DataFrame, target: str, fraction: float, seed: int, task: Task):  # type: ignore[no-untyped-def]
    labelled = frame[frame[target].notna()]
    if task.is_classification:
        held = labelled.groupby(target, group_keys=False, observed=True).sample(frac=fraction, random_state=seed)
    else:
        held = labelled.sample(frac=fraction, random_state=seed)
    return frame.drop(index=held.index), held


def _import_engine_quietly() -> None:
    from conveyor import automl

    # A failure here surfaces again, with its own traceback, when `train` first uses the engine.
    with contextlib.suppress(Exception):
        _ = automl.run_automl


def _better(score: float, than: float, higher_is_better: bool) -> bool:
    return score > than if higher_is_better else score < than


class TrainingService:
    """Runs AutoML on a dataset version, tracks it in MLflow and registers the best model."""

    def __init__(
        self, datasets: DatasetService, store: Callable[[], MetadataStore], tracker: Callable[[], Tracker]
    ) -> None:
        self._datasets = datasets
        # Factories: the metadata store opens on first use (beside DuckDB's ingest of a file, see DatasetService),
        # MLflow once the first trial is reported.
        self._store = store
        self._tracker = tracker

    def train(
        self,
        data: str,
        target: str,
        *,
        task: Task | str | None = None,
        metric: str | None = None,
        time_budget: float | None = None,
        max_trials: int | None = None,
        seed: int = 0,
        name: str | None = None,
        holdout: float | None = None,
        started_at: float | None = None,
        allow_invalid_data: bool = False,
        on_progress: ProgressCallback = ignore_progress,
    ) -> TrainingOutcome:
        """Train on `data` (`NAME[:VERSION]` or a file) to predict `target`.

        `time_budget` is wall-clock seconds counted from `started_at` (a `time.monotonic()`
        value, by default now), so a CLI can promise the whole process fits in the budget.
        With neither a budget nor `max_trials` the budget is 60 s; with `max_trials` alone the
        search is bounded by trials only, and the same seed gives the same model.
        A dataset version that failed its expectations is refused unless `allow_invalid_data`.
        """
        from conveyor import automl

        started_at = time.monotonic() if started_at is None else started_at
        if time_budget is not None and time_budget <= 0:
            raise InvalidInput(
                f"Time budget {time_budget} s is not positive.", hint="Give --time-budget in seconds, e.g. 60."
            )
        if time_budget is None and max_trials is None:
            time_budget = DEFAULT_TIME_BUDGET_S
        if holdout is not None and not 0 < holdout < 0.5:
            raise InvalidInput(f"Holdout fraction {holdout} is out of range.", hint="Give a fraction such as 0.2.")
        if task is not None and task not in set(Task):
            raise InvalidInput(f"Unknown task {task!r}.", hint=f"Choose one of: {', '.join(t.value for t in Task)}.")
        # The engine's libraries (scikit-learn, Optuna, pandas: 2-4 s of imports) load beside the ingest and the read
        # of the version, which DuckDB and Arrow do in native code, instead of after them.
        threading.Thread(target=_import_engine_quietly, name="conveyor-engine-import", daemon=True).start()
        if metric is not None and metric not in automl.METRICS:
            raise NotFound(f"Unknown metric {metric!r}.", hint=f"Choose one of: {', '.join(sorted(automl.METRICS))}.")
        version = self._datasets.resolve_training_data(data, on_progress, allow_failed=allow_invalid_data)
        _check_target(version, target)
        frame = self._datasets.frame(version)
        known_target = frame[target].dropna()
        if known_target.empty:
            raise InvalidTrainingData(
                f"Target column {target!r} is empty in every row of {version.ref}.",
                hint="Choose a column that holds the value to predict.",
            )
        task = Task(task) if task else automl.detect_task(known_target)
        metric = metric or automl.default_metric(task)
        holdout_frame = None
        if holdout:
            frame, holdout_frame = _holdout_split(frame, target, holdout, seed, task)
        model_name = name or version.dataset

        on_progress(ProgressEvent(stage="setup", message="Preparing the search", total=time_budget))

        def open_run() -> tuple[Tracker, str]:
            tracker = self._tracker()
            return tracker, tracker.start_job_run(
                model_name,
                run_name=f"train-{version.dataset}-v{version.version}",
                tags={
                    "conveyor.dataset": version.ref,
                    "conveyor.dataset_hash": version.content_hash,
                    "conveyor.target": target,
                    "conveyor.task": task.value,
                },
                params={
                    "dataset": version.ref,
                    "target": target,
                    "task": task.value,
                    "metric": metric,
                    "time_budget_s": time_budget,
                    "max_trials": max_trials,
                    "seed": seed,
                    "holdout": holdout,
                },
            )

        # Opening MLflow (its import, the first database's migrations) takes seconds of interpreter work: it runs
        # in a thread from the first trial's report on, so it slows neither the data preparation nor the first fit
        # (on 2 cores it took a core from LightGBM's two threads); trials are logged once it is open. The same thread
        # then stores the profile report that a file ingested for training was recorded without (about 1 s on
        # 400,000 rows, which came before the first trial).
        after_first_trial = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conveyor-after-first-trial")

        @functools.cache
        def tracking() -> Future[tuple[Tracker, str]]:
            opened = after_first_trial.submit(open_run)
            after_first_trial.submit(self._store_report, version)
            return opened

        pending: list[TrialResult] = []

        def log_pending() -> None:
            tracker, run_id = tracking().result()
            while pending:
                tracker.log_trial(run_id, model_name, pending.pop(0))

        job = self._store().create_job(
            dataset=version.dataset,
            dataset_version=version.version,
            target=target,
            task=task,
            metric=metric,
            model_name=model_name,
        )

        def on_event(event: ProgressEvent) -> None:
            if event.stage == "trial":
                pending.append(TrialResult.model_validate(event.data["trial"]))
                if tracking().done():
                    log_pending()
            on_progress(event)

        deadline = None
        if time_budget is not None:
            deadline = started_at + time_budget - (_RESERVE_FIXED_S + _RESERVE_SHARE * time_budget)
        try:
            result = automl.run_automl(
                frame,
                target,
                task=task,
                metric=metric,
                deadline=deadline,
                max_trials=max_trials,
                seed=seed,
                on_event=on_event,
            )
            log_pending()
            tracker, run_id = tracking().result()
            holdout_score = None
            if holdout_frame is not None and len(holdout_frame):
                holdout_score = automl.score_model(result.model, holdout_frame, target, metric)
            on_progress(ProgressEvent(stage="register", message=f"Registering model {model_name}"))
            metrics = {f"cv_{metric}_mean": result.best.cv_mean, f"cv_{metric}_std": result.best.cv_std}
            if holdout_score is not None:
                metrics[f"holdout_{metric}"] = holdout_score
            with tempfile.TemporaryDirectory() as scratch:
                card_deadline = None if time_budget is None else started_at + time_budget - _LOGGING_RESERVE_S
                card = self._model_card(result, frame, metric, Path(scratch) / "model_card", card_deadline)
                source = tracker.log_model(
                    run_id,
                    result.model,
                    input_example=frame.drop(columns=[target]).head(5),
                    metrics=metrics,
                    artifacts=card,
                )
            registered = tracker.register_model(
                model_name,
                source=source,
                run_id=run_id,
                tags={
                    "conveyor.dataset": version.ref,
                    "conveyor.target": target,
                    "conveyor.task": task.value,
                    "conveyor.metric": metric,
                    "conveyor.cv_score": repr(result.best.cv_mean),
                    "conveyor.higher_is_better": str(result.best.higher_is_better).lower(),
                    "conveyor.family": result.best.family,
                    "conveyor.job_id": str(job.id),
                },
            )
            previous = self._champion(tracker, model_name)
            moved = previous is None or self._beats(result.best, previous)
            if moved:
                tracker.set_alias(model_name, DEFAULT_ALIAS, registered.version)
                registered = tracker.resolve(ModelRef(name=model_name, version=registered.version))
            tracker.end_run(run_id, succeeded=True)
        except BaseException as error:
            tracker, run_id = tracking().result()
            self._store().finish_job(
                job.id,
                status=JobStatus.FAILED,
                finished_at=datetime.now(UTC),
                mlflow_run_id=run_id,
                error=str(error) or type(error).__name__,
            )
            tracker.end_run(run_id, succeeded=False)
            raise
        finally:
            after_first_trial.shutdown()
        job = self._store().finish_job(
            job.id,
            status=JobStatus.SUCCEEDED,
            finished_at=datetime.now(UTC),
            mlflow_run_id=run_id,
            model_version=registered.version,
            best_score=result.best.cv_mean,
            leaderboard=result.leaderboard,
        )
        return TrainingOutcome(
            job=job,
            dataset=version,
            task=task,
            metric=metric,
            leaderboard=result.leaderboard,
            best=result.best,
            model=registered,
            champion_moved=moved,
            previous_champion=previous.version if previous else None,
            run_id=run_id,
            holdout_score=holdout_score,
            holdout_rows=0 if holdout_frame is None else len(holdout_frame),
            warnings=list(result.warnings),
        )

    def _store_report(self, version: DatasetVersion) -> None:
        # A failure must not fail the training: the version stays without its stored report, which
        # `profile_report` computes when asked for; the user is told so.
        try:
            self._datasets.profile_report(version.ref)
        except Exception as error:
            logger.warning(
                "Could not store the profile report of %s (%s); `conveyor datasets profile %s` makes it on request.",
                version.ref,
                error,
                version.ref,
            )

    @staticmethod
    def _model_card(
        result: automl.AutoMLResult, frame: pd.DataFrame, metric: str, folder: Path, deadline: float | None
    ) -> dict[str, Path]:
        """The model card (importance, evaluation plots on out-of-fold rows) as artifacts to log with the model."""
        from conveyor import automl

        if result.oof_y is None or result.oof_prediction is None:
            return {}
        try:
            automl.write_model_card(
                result.model,
                frame[frame[result.model.target].notna()],
                result.oof_y,
                result.oof_prediction,
                folder,
                deadline=deadline,
                summary={
                    "metric": metric,
                    "cv_mean": result.best.cv_mean,
                    "cv_std": result.best.cv_std,
                    "leaderboard": [t.model_dump(mode="json") for t in result.leaderboard],
                },
            )
        except Exception as error:  # the model matters more than its card: log it without one
            result.warnings.append(f"No model card: {type(error).__name__}: {error}")
            return {}
        return {"model_card": folder}

    @staticmethod
    def _champion(tracker: Tracker, name: str) -> ModelVersionInfo | None:
        try:
            return tracker.resolve(ModelRef(name=name, alias=DEFAULT_ALIAS))
        except NotFound:
            return None

    @staticmethod
    def _beats(best: TrialResult, champion: ModelVersionInfo) -> bool:
        """The champion moves when the new model scores better on the same metric (or it cannot be compared)."""
        if champion.tags.get("conveyor.metric") != best.metric or "conveyor.cv_score" not in champion.tags:
            return True
        return _better(best.cv_mean, float(champion.tags["conveyor.cv_score"]), best.higher_is_better)
