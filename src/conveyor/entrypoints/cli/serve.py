"""`conveyor serve`: a model behind the KServe V2 and MLflow scoring REST protocols."""

from __future__ import annotations

import os

import typer


def serve(
    model: str = typer.Argument(..., help="NAME[@ALIAS|:VERSION] of a registered model, or an MLflow model dir."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8080, "--port", help="Port to bind."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    name: str = typer.Option(None, "--name", help="Model name in V2 URLs (default: the model's name)."),
) -> None:
    """Serve MODEL over HTTP until interrupted."""
    # One OpenMP thread per worker: a request of a few rows only pays for thread start-up
    # otherwise, and workers would fight over the cores. Set before any model library loads.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import uvicorn

    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import err_console
    from conveyor.entrypoints.inference.worker import MODEL_VARIABLE, NAME_VARIABLE

    served_name = name or services().serving.check(model)
    err_console.print(
        f"Serving [bold]{model}[/] as [bold]{served_name}[/] on http://{host}:{port} "
        f"({workers} worker{'s' if workers > 1 else ''}); V2 at /v2/models/{served_name}/infer, MLflow at /invocations",
        highlight=False,
    )
    os.environ[MODEL_VARIABLE] = model
    os.environ[NAME_VARIABLE] = served_name
    # Worker processes build their app from these variables through the same factory.
    uvicorn.run(
        "conveyor.entrypoints.inference.worker:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http="httptools",
        loop="uvloop",
        access_log=False,
        log_level="warning",
    )
