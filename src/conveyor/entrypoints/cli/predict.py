"""`conveyor predict`: score a CSV or Parquet file, or a dataset version, with a registered model."""

from __future__ import annotations

from pathlib import Path

import typer

from conveyor.errors import InvalidInput


def predict(
    model: str = typer.Option(
        ..., "--model", "-m", help="NAME[@ALIAS|:VERSION] (default alias champion) or model dir."
    ),
    data: Path = typer.Option(None, "--data", "-d", help="CSV or Parquet file with the model's input columns."),
    output: Path = typer.Option(None, "--output", "-o", help="Where to write predictions (.csv or .parquet)."),
    dataset: str = typer.Option(None, "--dataset", help="Score this dataset version (NAME[:VERSION]) instead."),
    into: str = typer.Option(
        None, "--into", help="With --dataset: the dataset that gets a new version (inputs + predictions)."
    ),
    explain: bool = typer.Option(
        False, "--explain", help="Add per-feature contribution columns (contrib_*; LightGBM/XGBoost models)."
    ),
    allow_invalid_data: bool = typer.Option(
        False, "--allow-invalid-data", help="Score a dataset version even though it failed its expectations."
    ),
) -> None:
    """Score a file into a predictions file, or a dataset version into a new dataset version with lineage.

    Each row gets one probability column per class and `prediction`; chunks are scored on every core.
    """
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console

    if (data is None) == (dataset is None):
        raise InvalidInput(
            "Give either --data FILE with --output FILE, or --dataset NAME[:VERSION] with --into NAME.",
            hint="`conveyor predict -m MODEL -d rows.csv -o predictions.parquet`",
        )
    if data is not None and (output is None or into is not None):
        raise InvalidInput("--data needs --output (and no --into).", hint="Add --output predictions.parquet.")
    if dataset is not None and (into is None or output is not None):
        raise InvalidInput(
            "--dataset needs --into, the dataset that receives the scored rows (and no --output).",
            hint=f"Add --into {dataset.partition(':')[0]}_scored.",
        )
    with console.status("Scoring…") as status:
        if dataset is not None:
            scored = services().prediction.score_dataset(
                model,
                dataset,
                into,
                on_progress=lambda event: status.update(event.message),
                explain=explain,
                allow_failed=allow_invalid_data,
            )
            version = scored.version
            console.print(
                f"Scored {version.rows:,} rows of {', '.join(version.parents)} with {version.recipe['model']} "
                f"(version {version.recipe['model_version']}) into {version.ref}",
                highlight=False,
            )
            return
        outcome = services().prediction.predict_file(
            model, data, output, on_progress=lambda event: status.update(event.message), explain=explain
        )
    console.print(
        f"Wrote {outcome.rows:,} predictions of {outcome.model} (version {outcome.version}) to {outcome.output}",
        highlight=False,
    )
