"""`conveyor demo`: the main job end to end on the bundled census data, in a fresh workspace."""

from __future__ import annotations

import shutil
import sys
from datetime import datetime
from pathlib import Path

import typer


def _command(tool: str) -> str:
    """How the user can run `tool` from their shell: bare when on PATH, else its full path."""
    beside = Path(sys.executable).parent / tool
    if shutil.which(tool) == str(beside) or not beside.exists():
        return tool
    return str(beside)


def demo(
    home: Path = typer.Option(
        None, "--home", help="Workspace folder to create (default: a new folder under CONVEYOR_HOME/demos)."
    ),
    time_budget: float = typer.Option(60.0, "--time-budget", help="Seconds for training."),
) -> None:
    """Ingest, profile, train, register and evaluate a model on the bundled census data."""
    import time

    from conveyor.bootstrap import build_services
    from conveyor.entrypoints.cli.progress import TrainingDisplay
    from conveyor.entrypoints.cli.render import console, leaderboard_table, print_version, warn
    from conveyor.errors import Conflict
    from conveyor.settings import Settings

    if home is None:
        home = Settings().home / "demos" / datetime.now().strftime("%Y%m%d-%H%M%S")
    home = home.expanduser().resolve()
    if home.exists() and any(home.iterdir()):
        raise Conflict(f"{home} already holds files.", hint="Give an empty or new folder with --home.")
    home.mkdir(parents=True, exist_ok=True)
    settings = Settings.for_home(home)
    services = build_services(settings)
    demo_service = services.demo

    console.rule("[bold]Conveyor demo")
    console.print(f"Workspace: [bold]{home}[/]", highlight=False)
    console.print(f"Data: {demo_service.data_file().name} (UCI Adult census income, CC BY 4.0)\n", highlight=False)

    with console.status("Ingesting and profiling…"):
        ingested = demo_service.ingest()
    print_version(ingested.version)

    started = time.monotonic()
    console.print(f"\nTraining to predict [bold]income[/] for {time_budget:.0f} s, 20 % of rows held out…")
    with TrainingDisplay(None, started) as display:
        outcome = demo_service.train(time_budget=time_budget, started_at=started, on_progress=display)
    for message in outcome.warnings:
        warn(message)
    console.print(leaderboard_table(outcome.leaderboard, title="Leaderboard", limit=15))
    model_ref = f"{outcome.model.name}@champion"
    console.print(
        f"Best: [bold]{outcome.best.family}[/], cv {outcome.metric} {outcome.best.cv_mean:.4f} "
        f"± {outcome.best.cv_std:.4f}\n"
        f"Registered [bold]{outcome.model.name}[/] version {outcome.model.version} as [bold]{model_ref}[/]\n"
        f"Held-out {outcome.metric} on {outcome.holdout_rows:,} unseen rows: [bold]{outcome.holdout_score:.4f}[/]",
        highlight=False,
    )
    conveyor = _command("conveyor")
    mlflow = _command("mlflow")
    console.rule("Next")
    console.print(
        "Serve the model (KServe V2 + MLflow /invocations):\n"
        f"  CONVEYOR_HOME={home} {conveyor} serve {model_ref} --port 8080\n"
        "Score a file:\n"
        f"  CONVEYOR_HOME={home} {conveyor} predict --model {model_ref} --data FILE.csv --output predictions.csv\n"
        "Open the MLflow UI on the demo's store:\n"
        f"  {mlflow} ui --backend-store-uri {settings.mlflow_tracking_uri} --port 5000",
        highlight=False,
        soft_wrap=True,
    )
