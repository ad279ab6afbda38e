"""The services of the workspace the CLI works on, built once per process."""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

    from conveyor.bootstrap import Services


@cache
def services() -> Services:
    from conveyor.bootstrap import build_services

    return build_services()


def close_services() -> None:
    """Close the metadata database if this process opened it (SQLite then folds its write-ahead log into the file)."""
    if services.cache_info().currsize:
        services().close()


def started_at(context: typer.Context) -> float:
    """When the command started (`time.monotonic()`), as `main()` recorded it."""
    recorded = context.obj.get("started_at") if isinstance(context.obj, dict) else None
    return recorded if recorded is not None else time.monotonic()
