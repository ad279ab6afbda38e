"""`conveyor predict`: score a CSV or Parquet file with a registered model."""

from __future__ import annotations

from pathlib import Path

import typer


def predict(
    model: str = typer.Option(
        ..., "--model", "-m", help="NAME[@ALIAS|:VERSION] (default alias champion) or model dir."
    ),
    data: Path = typer.Option(..., "--data", "-d", help="CSV or Parquet file with the model's input columns."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write predictions (.csv or .parquet)."),
    explain: bool = typer.Option(
        False, "--explain", help="Add per-feature contribution columns (contrib_*; LightGBM/XGBoost models)."
    ),
) -> None:
    """Write one row of predictions per input row: class probabilities and `prediction`."""
    from conveyor.entrypoints.cli.context import services
    from conveyor.entrypoints.cli.render import console

    with console.status("Scoring…") as status:
        outcome = services().prediction.predict_file(
            model, data, output, on_progress=lambda event: status.update(event.message), explain=explain
        )
    console.print(
        f"Wrote {outcome.rows:,} predictions of {outcome.model} (version {outcome.version}) to {outcome.output}",
        highlight=False,
    )
