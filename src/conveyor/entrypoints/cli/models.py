"""`conveyor models`: list, show and promote registered models."""

from __future__ import annotations

import typer

app = typer.Typer(help="Inspect and promote registered models.", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")


@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """List registered models with their newest version."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, dumped, print_json, table

    found = services().models.list()
    if as_json:
        print_json(dumped(found))
        return
    if not found:
        console.print("No registered models yet. Train one with [bold]conveyor train[/].")
        return
    console.print(
        table(
            "Registered models",
            ["name", "latest version", "aliases", "family", "metric", "cv score", "dataset"],
            (
                (
                    m.name,
                    m.version,
                    " ".join(f"@{a}" for a in m.aliases),
                    m.tags.get("conveyor.family", ""),
                    m.tags.get("conveyor.metric", ""),
                    m.tags.get("conveyor.cv_score", ""),
                    m.tags.get("conveyor.dataset", ""),
                )
                for m in found
            ),
        )
    )


@app.command("show")
def show(name: str = typer.Argument(..., help="Registered model name."), as_json: bool = JSON_OPTION) -> None:
    """Show every version of a registered model."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, dumped, print_json, table

    versions = services().models.versions(name)
    if as_json:
        print_json(dumped(versions))
        return
    console.print(
        table(
            f"Model {name}",
            ["version", "aliases", "family", "metric", "cv score", "dataset", "run"],
            (
                (
                    v.version,
                    " ".join(f"@{a}" for a in v.aliases),
                    v.tags.get("conveyor.family", ""),
                    v.tags.get("conveyor.metric", ""),
                    v.tags.get("conveyor.cv_score", ""),
                    v.tags.get("conveyor.dataset", ""),
                    v.run_id or "",
                )
                for v in versions
            ),
        )
    )


@app.command("promote")
def promote(
    ref: str = typer.Argument(..., help="NAME:VERSION to promote."),
    alias: str = typer.Option("champion", "--alias", help="Alias to move onto the version."),
) -> None:
    """Point ALIAS (default champion) at a version."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console

    moved = services().models.promote(ref, alias)
    console.print(f"[bold]{moved.name}@{alias}[/] now points at version {moved.version}.", highlight=False)
