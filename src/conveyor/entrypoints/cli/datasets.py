"""`conveyor datasets`: add, list, show, versions, diff, export, profile, schema, expect and validate."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Ingest and inspect datasets.", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")


@app.command("add")
def add(
    file: str = typer.Argument(
        ..., help="CSV/TSV (optionally .gz/.zst), Parquet, JSON Lines or .xlsx file, an s3:// URL, or a database URL."
    ),
    name: str = typer.Option(None, "--name", "-n", help="Dataset name (default: the file or table name)."),
    query: str = typer.Option(None, "--query", "-q", help="With a database URL: the SQL query to read."),
    table_name: str = typer.Option(None, "--table", help="With a database URL: the table to read."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Ingest FILE (or a database query) as a new immutable version of dataset NAME."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, print_json, warn
    from conveyor.errors import InvalidInput
    from conveyor.services.datasets import dataset_name_for

    if "://" in file and not file.startswith("s3://"):
        if not name and not table_name:
            raise InvalidInput("A dataset read by a query needs a name.", hint="Add --name NAME.")
        with console.status("Reading from the database…"):
            outcome = services().datasets.add_sql(file, name or table_name, query=query, table=table_name)
    else:
        if query or table_name:
            raise InvalidInput("--query and --table go with a database URL.", hint="e.g. sqlite:///path/to.db")
        source = file if "://" in file else Path(file)
        with console.status(f"Ingesting {file}…"):
            outcome = services().datasets.add(source, name or dataset_name_for(source))
    version = outcome.version
    if as_json:
        print_json({**version.model_dump(mode="json"), "created": outcome.created})
        return
    for message in version.warnings if outcome.created else ():
        warn(message)
    if version.validation is not None and outcome.created:
        print_validation(version)
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
            ["version", "rows", "columns", "hash", "created", "source", "parents", "validation"],
            (
                (
                    v.version,
                    f"{v.rows:,}",
                    len(v.columns),
                    v.content_hash[:19],
                    v.created_at.strftime("%Y-%m-%d %H:%M"),
                    v.source,
                    ", ".join(v.parents),
                    v.validation_status.value + (" (accepted)" if v.validation and v.validation.overridden else ""),
                )
                for v in found
            ),
        )
    )


@app.command("show")
def show(ref: str = typer.Argument(..., help="NAME or NAME:VERSION."), as_json: bool = JSON_OPTION) -> None:
    """Show a dataset version: schema and a short profile of each column."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, print_json, print_version, table

    datasets = services().datasets
    version = datasets.get(ref)
    jobs = datasets.models_trained_on(version.ref)
    models = [
        {
            "job": j.id,
            "model": j.model_name,
            "model_version": j.model_version,
            "status": j.status.value,
            "target": j.target,
            "metric": j.metric,
            "score": j.best_score,
        }
        for j in jobs
    ]
    if as_json:
        print_json(
            {**version.model_dump(mode="json"), "validation_status": version.validation_status.value, "models": models}
        )
        return
    print_version(version)
    if version.parents or version.recipe:
        console.print(
            f"parents: {', '.join(version.parents) or '—'}  recipe: {(version.recipe or {}).get('name', '—')}"
        )
    if version.validation is not None:
        print_validation(version)
    if models:
        console.print(
            table(
                "Models trained on this version",
                ["job", "model", "version", "status", "target", "metric", "score"],
                (
                    (m["job"], m["model"], m["model_version"], m["status"], m["target"], m["metric"], m["score"])
                    for m in models
                ),
            )
        )
    else:
        console.print("No model has been trained on this version yet.")


def print_validation(version) -> None:  # type: ignore[no-untyped-def]
    from conveyor.entrypoints.cli.render import console, warn

    result = version.validation
    if result.status.value == "passed":
        console.print(f"Validation: [green]passed[/] ({len(result.results)} expectations)", highlight=False)
        return
    accepted = " (accepted by a user)" if result.overridden else "; training refuses it unless accepted"
    warn(f"{version.ref} failed {len(result.failures)} of {len(result.results)} expectations{accepted}:")
    for failure in result.failures:
        warn(f"  {failure.message}")


@app.command("diff")
def diff(
    old: str = typer.Argument(..., help="NAME:V1"),
    new: str = typer.Argument(..., help="NAME:V2"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Compare two versions: schema changes, row-count change and per-column statistic shifts."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, fmt, print_json, table

    found = services().datasets.diff(old, new)
    if as_json:
        print_json(found)
        return
    rows = found["rows"]
    same = " (identical content)" if found["same_content"] else ""
    console.print(
        f"[bold]{found['old']} → {found['new']}[/]{same}\n"
        f"rows: {rows['old']:,} → {rows['new']:,} ({rows['change']:+,})",
        highlight=False,
    )
    for label, key in (("added columns", "added_columns"), ("removed columns", "removed_columns")):
        if found[key]:
            console.print(f"{label}: {', '.join(found[key])}", highlight=False)
    for change in found["type_changes"]:
        console.print(
            f"type of {change['column']}: {change['old_type']}/{change['old_semantic']} → "
            f"{change['new_type']}/{change['new_semantic']}",
            highlight=False,
        )
    if found["column_shifts"]:
        console.print(
            table(
                "Column statistics that changed",
                ["column", "statistic", "old", "new", "change %"],
                (
                    (s["column"], key, fmt(c["old"]), fmt(c["new"]), fmt(c.get("change_pct")))
                    for s in found["column_shifts"]
                    for key, c in s["changes"].items()
                ),
            )
        )


@app.command("export")
def export(
    ref: str = typer.Argument(..., help="NAME or NAME:VERSION."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write: .csv or .parquet."),
) -> None:
    """Write a version to a CSV or Parquet file."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console

    written = services().datasets.export(ref, output)
    console.print(f"Wrote {written}", highlight=False)


@app.command("profile")
def profile(
    ref: str = typer.Argument(..., help="NAME or NAME:VERSION."),
    target: str = typer.Option(None, "--target", "-t", help="Column whose association with every other to measure."),
    html_path: Path = typer.Option(None, "--html", help="Write a self-contained HTML report to this file."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the version's profile: distributions, correlations, target association and warnings."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, print_json, warn

    report = services().datasets.profile_report(ref, target=target)
    if html_path is not None:
        partial = html_path.with_name(f".{html_path.name}.partial")
        partial.write_text(report.html(), encoding="utf-8")
        partial.replace(html_path)
    if as_json:
        print_json(report.data)
        return
    data = report.data
    console.print(
        f"[bold]{report.ref}[/]: {data['rows']:,} rows × {data['columns']} columns, "
        f"{data['duplicate_rows']:,} duplicate rows",
        highlight=False,
    )
    if data.get("target"):
        top = list(data["target"]["association"].items())[:10]
        console.print(
            f"association with {data['target']['column']}: " + ", ".join(f"{k} {v:.2f}" for k, v in top),
            highlight=False,
        )
    for message in report.warnings:
        warn(message)
    if html_path is not None:
        console.print(f"Report written to {html_path}", highlight=False)


@app.command("schema")
def schema(
    name: str = typer.Argument(..., help="Dataset name."),
    set_: list[str] = typer.Option(
        None, "--set", help="COLUMN=TYPE (numeric, categorical, boolean, datetime, text, identifier); repeatable."
    ),
    unset: list[str] = typer.Option(None, "--unset", help="COLUMN: go back to the inferred type; repeatable."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show or override the semantic types of a dataset's columns (overrides apply to every version)."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, print_json, table
    from conveyor.errors import InvalidInput

    datasets = services().datasets
    changes: dict[str, str | None] = {}
    for item in set_ or []:
        column, sep, kind = item.rpartition("=")
        if not sep or not column:
            raise InvalidInput(f"--set {item!r} is not COLUMN=TYPE.", hint="e.g. --set zip_code=categorical")
        changes[column] = kind.strip().lower()
    for column in unset or []:
        changes[column] = None
    version = datasets.set_semantic_types(name, changes) if changes else datasets.get(name)
    overrides = datasets.semantic_overrides(name)
    if as_json:
        print_json({"columns": [c.model_dump(mode="json") for c in version.columns], "overrides": overrides})
        return
    console.print(
        table(
            f"Schema of {version.ref}",
            ["column", "type", "semantic", "overridden"],
            (
                (c.name, c.physical_type, c.semantic_type.value, "yes" if c.name in overrides else "")
                for c in version.columns
            ),
        )
    )


@app.command("expect")
def expect(
    name: str = typer.Argument(..., help="Dataset name."),
    file: Path = typer.Option(None, "--file", "-f", help="YAML file of expectations to declare."),
    suggest: bool = typer.Option(False, "--suggest", help="Suggest expectations from a reference version."),
    reference: int = typer.Option(None, "--from", help="Reference version for --suggest (default: newest)."),
    save: bool = typer.Option(False, "--save", help="With --suggest: declare the suggestions."),
    output: Path = typer.Option(None, "--output", "-o", help="With --suggest: write them to this YAML file."),
) -> None:
    """Declare the expectations every new version of a dataset is checked against, or suggest some."""
    import yaml

    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, print_json

    datasets = services().datasets
    if suggest:
        ref = f"{name}:{reference}" if reference else name
        found = datasets.suggest_expectations(ref)
        text = yaml.safe_dump({"expectations": found}, sort_keys=False, allow_unicode=True)
        if output is not None:
            output.write_text(text, encoding="utf-8")
        if save:
            datasets.set_expectations(name, found)
        console.print(text, highlight=False, markup=False)
        return
    if file is not None:
        declared = datasets.declare_expectations_file(name, file)
        console.print(f"{len(declared)} expectations declared for {name}; new versions are checked against them.")
        return
    print_json(datasets.expectations(name))


@app.command("validate")
def validate(
    ref: str = typer.Argument(..., help="NAME or NAME:VERSION."),
    accept: bool = typer.Option(False, "--accept", help="Let training use this version even though it failed."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check a version against its dataset's expectations and store the result (exit status 1 when it fails)."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console, print_json

    datasets = services().datasets
    version = datasets.accept(ref) if accept else datasets.validate(ref)
    if as_json:
        print_json(version.validation.model_dump(mode="json"))
    else:
        print_validation(version)
        if accept:
            console.print(f"{version.ref} accepted: training may use it.")
    if not version.usable:
        from conveyor.errors import ConveyorError

        raise ConveyorError(
            f"{version.ref} failed validation.",
            hint=f"Fix the data, or let training use it anyway: conveyor datasets validate {version.ref} --accept",
        )
