"""`conveyor deploy`: start a named, detached server for MODEL@ALIAS and record it."""

from __future__ import annotations

import typer


def deploy(
    model: str = typer.Argument(..., help="NAME[@ALIAS|:VERSION] of a registered model, or an MLflow model dir."),
    name: str = typer.Option(..., "--name", help="Name of the deployment."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8080, "--port", help="Port to bind."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    follow: float = typer.Option(
        5.0, "--follow", min=0.0, help="Seconds between alias checks (0: stay on this version)."
    ),
    canary: str = typer.Option(
        None, "--canary", help="A second version (NAME:VERSION) taking --canary-percent of traffic."
    ),
    canary_percent: float = typer.Option(10.0, "--canary-percent", min=0.0, max=100.0),
    shadow: str = typer.Option(None, "--shadow", help="A version that scores every request but never answers."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Start serving MODEL in the background as deployment NAME; it follows its alias."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, print_json

    deployment = services().deployments.deploy(
        model,
        name,
        host=host,
        port=port,
        workers=workers,
        follow_seconds=follow,
        canary=canary,
        canary_percent=canary_percent,
        shadow=shadow,
    )
    if as_json:
        print_json(deployment.model_dump(mode="json") | {"url": deployment.url})
        return
    console.print(
        f"Deployment [bold]{deployment.name}[/] {deployment.status}: {deployment.model} "
        f"(version {deployment.model_version or '-'}) at {deployment.url}, pid {deployment.pid}",
        highlight=False,
    )
