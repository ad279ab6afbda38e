"""`conveyor export`: a registered model as an MLServer directory, a KServe or a Seldon manifest, and a Dockerfile."""

from __future__ import annotations

from pathlib import Path

import typer


def export(
    model: str = typer.Argument(..., help="NAME[@ALIAS|:VERSION] of a registered model, or an MLflow model dir."),
    fmt: str = typer.Option(..., "--format", help="mlserver, kserve or seldon."),
    out: Path = typer.Option(..., "--out", help="Directory to write."),
    storage_uri: str = typer.Option(None, "--storage-uri", help="Where the cluster finds the model (kserve, seldon)."),
) -> None:
    """Write MODEL for a cluster: model dir + model-settings.json / InferenceService / Model, and a Dockerfile."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console
    from conveyor.services.exports import ExportService

    written = ExportService(services().models).export(model, fmt, out, storage_uri=storage_uri)
    for path in written:
        console.print(f"wrote {path}", highlight=False)
