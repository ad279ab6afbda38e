"""Rendering for the CLI: Rich tables, JSON output, errors."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from conveyor.errors import ConveyorError

console = Console()
err_console = Console(stderr=True)


def print_error(error: ConveyorError) -> None:
    err_console.print(f"[bold red]Error:[/] {error.message}", highlight=False, soft_wrap=True)
    if error.hint:
        err_console.print(f"[yellow]Hint:[/] {error.hint}", highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    err_console.print(f"[yellow]Warning:[/] {message}", highlight=False, soft_wrap=True)


def _json_safe(value: Any) -> Any:
    # JSON has no infinities or NaN; profiles of real data do. They travel as strings.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(_json_safe(payload), indent=2, default=str, allow_nan=False) + "\n")


def dumped(items: Iterable[Any]) -> list[Any]:
    return [item.model_dump(mode="json") for item in items]


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:,.{digits}g}" if abs(value) >= 1e5 or (value and abs(value) < 1e-3) else f"{value:.{digits}f}"
    return str(value)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*(fmt(v) for v in row))
    return grid


def leaderboard_table(trials: Sequence[Any], title: str = "Leaderboard", limit: int | None = None) -> Table:
    """Trials best first: family, CV metric mean ± std, fit and predict time."""
    shown = list(trials)[:limit] if limit else list(trials)
    metric = shown[0].metric if shown else "score"
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in ("#", "trial", "family", f"cv {metric}", "± std", "fit s", "predict s/1k"):
        grid.add_column(column, justify="right" if column not in ("family",) else "left")
    for rank, trial in enumerate(shown, start=1):
        failed = trial.status != "ok"
        grid.add_row(
            str(rank),
            str(trial.number),
            trial.family + (" (failed)" if failed else ""),
            "" if failed else f"{trial.cv_mean:.4f}",
            "" if failed else f"{trial.cv_std:.4f}",
            f"{trial.fit_seconds:.1f}",
            fmt(trial.predict_seconds_per_1k, 3),
        )
    return grid


def print_version(version: Any) -> None:
    """A dataset version: header, then one row per column with its type and short profile."""
    console.print(
        f"[bold]{version.ref}[/]  {version.rows:,} rows × {len(version.columns)} columns  "
        f"{version.content_hash}\nsource: {version.source}\ncreated: {version.created_at:%Y-%m-%d %H:%M:%S %Z}",
        highlight=False,
    )
    profiles = {p.name: p for p in version.profile}

    def summary(name: str) -> str:
        profile = profiles.get(name)
        if profile is None:
            return ""
        if profile.top_values:
            return ", ".join(f"{t.value} ({t.count:,})" for t in profile.top_values[:2])
        if profile.mean is not None:
            return f"{fmt(profile.min)} … {fmt(profile.max)}, mean {fmt(profile.mean, 3)}"
        if profile.min is not None:
            return f"{fmt(profile.min)} … {fmt(profile.max)}"
        return ""

    console.print(
        table(
            None,
            ["column", "type", "semantic", "missing %", "distinct", "summary"],
            (
                (
                    c.name,
                    c.physical_type,
                    c.semantic_type.value,
                    f"{profiles[c.name].missing_pct:.1f}" if c.name in profiles else "",
                    f"{profiles[c.name].distinct:,}" if c.name in profiles else "",
                    summary(c.name),
                )
                for c in version.columns
            ),
        )
    )
    for message in version.warnings:
        console.print(f"[yellow]note:[/] {message}", highlight=False)
