"""`conveyor train`: AutoML on a dataset, tracked in MLflow, best model registered."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any

import typer


class TaskChoice(StrEnum):
    auto = "auto"
    binary = "binary"
    multiclass = "multiclass"
    regression = "regression"


@contextlib.contextmanager
def _collector_paused_until_the_search(on_progress: Callable[[Any], None]) -> Iterator[Callable[[Any], None]]:
    """Pause Python's cyclic garbage collector until the search is set up (or the command ends); yields
    `on_progress` wrapped to resume it then.

    The engine's libraries load on a side thread beside the ingest, and from a CSV that import is the longest
    branch to the first trial; the collector's passes over the hundreds of thousands of objects it creates cost
    about a tenth of it (scikit-learn, Optuna and pandas: 2.2-2.6 s against 2.5-3.2 s, measured alone). Work before
    the search makes no cyclic garbage worth collecting (references free the rest); the search does, so the
    collector runs again from there.
    """
    was_enabled = gc.isenabled()
    gc.disable()

    def resume_at_the_search(event: Any) -> None:
        if event.stage == "setup" and was_enabled:
            gc.enable()
        on_progress(event)

    try:
        yield resume_at_the_search
    finally:
        if was_enabled:
            gc.enable()


def train(
    context: typer.Context,
    data: str = typer.Option(
        ..., "--data", "-d", help="Dataset NAME[:VERSION], or a CSV/Parquet file to ingest first."
    ),
    target: str = typer.Option(..., "--target", "-t", help="Column to predict."),
    task: TaskChoice = typer.Option(TaskChoice.auto, "--task", help="Detected from the target when auto."),
    metric: str = typer.Option(None, "--metric", help="Metric to optimise (default by task: roc_auc, log_loss, rmse)."),
    time_budget: float = typer.Option(
        None, "--time-budget", help="Wall-clock seconds for the whole command [default: 60, none with --max-trials]."
    ),
    max_trials: int = typer.Option(None, "--max-trials", help="Stop after this many trials (reproducible runs)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    name: str = typer.Option(None, "--name", help="Registered model name (default: the dataset's name)."),
    holdout: float = typer.Option(None, "--holdout", help="Fraction of rows held out to score the final model."),
    allow_invalid_data: bool = typer.Option(
        False, "--allow-invalid-data", help="Train even on a dataset version that failed its expectations."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON instead of tables."),
) -> None:
    """Train models on a dataset within a time budget and register the best one."""
    from conveyor.entrypoints.cli.context import services, started_at
    from conveyor.entrypoints.cli.progress import TrainingDisplay
    from conveyor.entrypoints.cli.render import console, leaderboard_table, print_json, warn

    options = dict(
        task=None if task is TaskChoice.auto else task.value,
        metric=metric,
        time_budget=time_budget,
        max_trials=max_trials,
        seed=seed,
        name=name,
        holdout=holdout,
        allow_invalid_data=allow_invalid_data,
        started_at=started_at(context),
    )
    showing = (
        contextlib.nullcontext(lambda event: None) if as_json else TrainingDisplay(max_trials, started_at(context))
    )
    with showing as display, _collector_paused_until_the_search(display) as on_progress:
        outcome = services().training.train(data, target, on_progress=on_progress, **options)
    if as_json:
        print_json(
            {
                "job_id": outcome.job.id,
                "dataset": outcome.dataset.ref,
                "task": outcome.task.value,
                "metric": outcome.metric,
                "model": outcome.model.name,
                "version": outcome.model.version,
                "champion": outcome.champion_moved,
                "run_id": outcome.run_id,
                "best": outcome.best.model_dump(mode="json"),
                "holdout_score": outcome.holdout_score,
                "warnings": outcome.warnings,
                "leaderboard": [t.model_dump(mode="json") for t in outcome.leaderboard],
            }
        )
        return
    for message in outcome.warnings:
        warn(message)
    console.print(leaderboard_table(outcome.leaderboard, title=f"Leaderboard: {outcome.dataset.ref} → {target}"))
    best = outcome.best
    console.print(
        f"Best: [bold]{best.family}[/] (trial {best.number}) cv {outcome.metric} "
        f"{best.cv_mean:.4f} ± {best.cv_std:.4f}",
        highlight=False,
    )
    if outcome.holdout_score is not None:
        console.print(
            f"Held-out {outcome.metric} on {outcome.holdout_rows:,} rows: [bold]{outcome.holdout_score:.4f}[/]",
            highlight=False,
        )
    registered = f"{outcome.model.name}:{outcome.model.version}"
    if outcome.champion_moved:
        console.print(f"Registered [bold]{registered}[/] and set alias [bold]champion[/].", highlight=False)
    else:
        console.print(
            f"Registered [bold]{registered}[/]; [bold]champion[/] stays at version {outcome.previous_champion}, "
            "which scores better.",
            highlight=False,
        )
