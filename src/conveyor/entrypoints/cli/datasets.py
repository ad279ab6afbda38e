"""`conveyor datasets`: add, list, show and list versions of datasets."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Ingest and inspect datasets.", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")


@app.command("add")
def add(
    file: Path = typer.Argument(..., help="CSV (optionally .gz/.zst) or Parquet file."),
    name: str = typer.Option(None, "--name", "-n", help="Dataset name (default: the file name)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Ingest FILE as a new immutable version of dataset NAME."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, print_json, warn
    from conveyor.services.datasets import dataset_name_for

    with console.status(f"Ingesting {file.name}…"):
        outcome = services().datasets.add(file, name or dataset_name_for(file))
    version = outcome.version
    if as_json:
        print_json({**version.model_dump(mode="json"), "created": outcome.created})
        return
    for message in version.warnings if outcome.created else ():
        warn(message)
    if outcome.created:
        console.print(
            f"Added [bold]{version.ref}[/]: {version.rows:,} rows × {len(version.columns)} columns "
            f"({version.content_hash[:19]}…)",
            highlight=False,
        )
    else:
        console.print(f"Identical data is already [bold]{version.ref}[/]; no new version.", highlight=False)


@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """List datasets with their newest version."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, print_json, table

    summaries = services().datasets.list()
    if as_json:
        print_json(
            [
                {
                    "name": s.name,
                    "versions": s.versions,
                    "latest_version": s.latest.version,
                    "rows": s.latest.rows,
                    "columns": len(s.latest.columns),
                    "created_at": s.latest.created_at.isoformat(),
                }
                for s in summaries
            ]
        )
        return
    if not summaries:
        console.print("No datasets yet. Add one with [bold]conveyor datasets add FILE --name NAME[/].")
        return
    console.print(
        table(
            "Datasets",
            ["name", "versions", "latest", "rows", "columns", "created"],
            (
                (
                    s.name,
                    s.versions,
                    s.latest.version,
                    f"{s.latest.rows:,}",
                    len(s.latest.columns),
                    s.latest.created_at.strftime("%Y-%m-%d %H:%M"),
                )
                for s in summaries
            ),
        )
    )


@app.command("versions")
def versions(name: str = typer.Argument(..., help="Dataset name."), as_json: bool = JSON_OPTION) -> None:
    """List every version of a dataset."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, dumped, print_json, table

    found = services().datasets.versions(name)
    if as_json:
        print_json([{k: v for k, v in d.items() if k != "profile"} for d in dumped(found)])
        return
    console.print(
        table(
            f"Versions of {name}",
            ["version", "rows", "columns", "hash", "created", "source"],
            (
                (
                    v.version,
                    f"{v.rows:,}",
                    len(v.columns),
                    v.content_hash[:19],
                    v.created_at.strftime("%Y-%m-%d %H:%M"),
                    v.source,
                )
                for v in found
            ),
        )
    )


@app.command("show")
def show(ref: str = typer.Argument(..., help="NAME or NAME:VERSION."), as_json: bool = JSON_OPTION) -> None:
    """Show a dataset version: schema and a short profile of each column."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import print_json, print_version

    version = services().datasets.get(ref)
    if as_json:
        print_json(version.model_dump(mode="json"))
        return
    print_version(version)
