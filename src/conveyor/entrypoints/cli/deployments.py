"""`conveyor deployments`: list, show, stop and read the logs of deployments."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage deployments (named model servers).", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")


def _service():  # type: ignore[no-untyped-def]
    from conveyor.entrypoints.cli.context import services

    return services().deployments


def _row(d) -> dict:  # type: ignore[no-untyped-def]
    return d.model_dump(mode="json") | {"url": d.url}


@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """List deployments with their status, URL and model version."""
    from conveyor.entrypoints.cli.render import console, print_json, table

    found = _service().list()
    if as_json:
        print_json([_row(d) for d in found])
        return
    if not found:
        console.print("No deployments yet. Start one with [bold]conveyor deploy MODEL@champion --name NAME[/].")
        return
    console.print(
        table(
            "Deployments",
            ["name", "status", "model", "version", "url", "pid", "started"],
            (
                (
                    d.name,
                    d.status,
                    d.model,
                    d.model_version or "-",
                    d.url,
                    d.pid or "-",
                    f"{d.started_at:%Y-%m-%d %H:%M:%S}",
                )
                for d in found
            ),
        )
    )


@app.command("show")
def show(name: str = typer.Argument(...), as_json: bool = JSON_OPTION) -> None:
    """Show one deployment."""
    from conveyor.entrypoints.cli.render import console, print_json

    d = _service().show(name)
    if as_json:
        print_json(_row(d))
        return
    for key, value in _row(d).items():
        console.print(f"[bold]{key}[/]: {value}", highlight=False)


@app.command("stop")
def stop(name: str = typer.Argument(...)) -> None:
    """Stop a deployment's server."""
    from conveyor.entrypoints.cli.render import console

    d = _service().stop(name)
    console.print(f"Deployment [bold]{d.name}[/] {d.status}.")


@app.command("logs")
def logs(name: str = typer.Argument(...), lines: int = typer.Option(50, "--lines", "-n", min=1)) -> None:
    """Print the last lines of a deployment's server log."""
    typer.echo(_service().logs(name, lines))
