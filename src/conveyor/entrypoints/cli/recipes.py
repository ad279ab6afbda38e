"""`conveyor recipes`: run a prepare or SQL recipe into a new dataset version, re-run, list and show recipes."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Transform datasets with recipes (prepare steps or one DuckDB SQL query).", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")


def _report(outcome, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    from conveyor.entrypoints.cli.render import console, print_json

    version = outcome.version
    if as_json:
        print_json({**version.model_dump(mode="json"), "created": outcome.created})
        return
    if outcome.created:
        console.print(
            f"Recipe wrote [bold]{version.ref}[/]: {version.rows:,} rows × {len(version.columns)} columns "
            f"from {', '.join(version.parents)}",
            highlight=False,
        )
    else:
        console.print(f"Same result as [bold]{version.ref}[/]; no new version.", highlight=False)


@app.command("run")
def run(file: Path = typer.Argument(..., help="Recipe YAML file."), as_json: bool = JSON_OPTION) -> None:
    """Store the recipe in FILE and run it: its output becomes a new version with lineage."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console
    from conveyor.services.recipes import load_spec

    spec = load_spec(file)
    with console.status("Running recipe…"):
        outcome = services().recipes.run(spec)
    _report(outcome, as_json)


@app.command("rerun")
def rerun(name: str = typer.Argument(..., help="Recipe name."), as_json: bool = JSON_OPTION) -> None:
    """Run a stored recipe again on the newest versions of its inputs."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console

    with console.status(f"Running recipe {name}…"):
        outcome = services().recipes.rerun(name)
    _report(outcome, as_json)


@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """List stored recipes."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, print_json, table

    found = services().recipes.list()
    if as_json:
        print_json(found)
        return
    console.print(
        table(
            "Recipes",
            ["name", "output", "kind", "inputs"],
            (
                (
                    r["name"],
                    r["output"],
                    "sql" if "sql" in r else "prepare",
                    ", ".join(r.get("inputs") or [r.get("input", "")]),
                )
                for r in found
            ),
        )
    )


@app.command("show")
def show(name: str = typer.Argument(..., help="Recipe name.")) -> None:
    """Print a stored recipe as YAML."""
    import yaml

    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console

    console.print(yaml.safe_dump(services().recipes.get(name), sort_keys=False), highlight=False, markup=False)
