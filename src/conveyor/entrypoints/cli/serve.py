"""`conveyor serve`: a model behind the KServe V2 and MLflow scoring REST protocols."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import typer

from conveyor.errors import Conflict, ConveyorError


def serve(
    model: str = typer.Argument(..., help="NAME[@ALIAS|:VERSION] of a registered model, or an MLflow model dir."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8080, "--port", help="Port to bind."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    name: str = typer.Option(None, "--name", help="Model name in V2 URLs (default: the model's name)."),
    max_body_bytes: int = typer.Option(
        32 * 1024 * 1024, "--max-body-bytes", min=1, help="Largest request body (413 above)."
    ),
    max_rows: int = typer.Option(100_000, "--max-rows", min=1, help="Most rows in one request (413 above)."),
    batching: bool = typer.Option(True, "--batching/--no-batching", help="Score concurrent requests together."),
    batch_max_rows: int = typer.Option(512, "--batch-max-rows", min=1, help="Rows at which a micro-batch closes."),
    batch_max_wait_ms: float = typer.Option(
        0.0, "--batch-max-wait-ms", min=0.0, help="Extra wait for a micro-batch to fill (0: one loop turn)."
    ),
    prediction_log: Path = typer.Option(
        None, "--prediction-log", help="Append every prediction to Parquet files in this folder, by day (date=…/)."
    ),
    sample: float = typer.Option(1.0, "--prediction-log-sample", min=0.0, max=1.0, help="Share of predictions logged."),
    access_log: bool = typer.Option(False, "--access-log", help="One JSON line per request on stderr."),
    canary: str = typer.Option(
        None, "--canary", help="A second model (NAME:VERSION) taking --canary-percent of traffic."
    ),
    canary_percent: float = typer.Option(
        10.0, "--canary-percent", min=0.0, max=100.0, help="Traffic share of --canary."
    ),
    shadow: str = typer.Option(None, "--shadow", help="A model that scores every request but never answers."),
    compile_model: bool = typer.Option(
        True, "--compile/--no-compile", help="Compile LightGBM models to machine code (lleaves), cached per version."
    ),
    follow: float = typer.Option(
        0.0, "--follow", min=0.0, help="Poll the registry every N seconds and swap in the version the alias moves to."
    ),
) -> None:
    """Serve MODEL over HTTP until interrupted."""
    # One OpenMP thread per worker: a request of a few rows only pays for thread start-up
    # otherwise, and workers would fight over the cores. Set before any model library loads.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import uvicorn

    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import err_console
    from conveyor.entrypoints.inference.worker import MODEL_VARIABLE, NAME_VARIABLE, OPTIONS_VARIABLE

    workspace = services()
    served_name = name or workspace.serving.check(model)
    metrics_dir = tempfile.mkdtemp(prefix="conveyor-metrics-")  # workers share their counts here
    options = {
        "max_body_bytes": max_body_bytes,
        "max_rows": max_rows,
        "batching": batching,
        "batch_max_rows": batch_max_rows,
        "batch_max_wait_ms": batch_max_wait_ms,
        "metrics_dir": metrics_dir,
        "prediction_log_dir": str(prediction_log.expanduser().resolve()) if prediction_log else None,
        "prediction_log_sample": sample,
        "access_log": access_log,
        "canary": canary,
        "canary_percent": canary_percent if canary else 0.0,
        "shadow": shadow,
        "follow_seconds": follow,
        "compile_cache": str(workspace.settings.home / "cache" / "compiled") if compile_model else None,
    }
    err_console.print(
        f"Serving [bold]{model}[/] as [bold]{served_name}[/] on http://{host}:{port} "
        f"({workers} worker{'s' if workers > 1 else ''}); V2 at /v2/models/{served_name}/infer, MLflow at /invocations",
        highlight=False,
    )
    os.environ[MODEL_VARIABLE] = model
    os.environ[NAME_VARIABLE] = served_name
    os.environ[OPTIONS_VARIABLE] = json.dumps(options)
    # Worker processes build their app from these variables through the same factory.
    server = {
        "app": "conveyor.entrypoints.inference.worker:app_from_environment",
        "factory": True,
        "host": host,
        "port": port,
        "http": "httptools",
        "loop": "uvloop",
        "access_log": False,
        "log_level": "warning",
    }
    try:
        if workers == 1:
            uvicorn.run(**server)
            return
        from conveyor.entrypoints.inference.workers import run_workers

        try:
            code = run_workers(server, host=host, port=port, workers=workers)
        except OSError as error:
            raise Conflict(
                f"Cannot listen on {host}:{port}: {error.strerror}.",
                hint="Choose another --port (or --host), or stop what is listening there.",
            ) from error
        if code:
            raise ConveyorError(
                f"The server stopped: a worker could not load {model} (its error is above).",
                hint="Fix the model, or serve another version.",
            )
    finally:
        import shutil

        shutil.rmtree(metrics_dir, ignore_errors=True)
