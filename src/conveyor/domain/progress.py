"""Progress events that long work emits, so the CLI can draw bars and the UI can stream them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProgressEvent(BaseModel):
    """One step of long work: `stage` names the work, `completed`/`total` size it when known."""

    model_config = ConfigDict(frozen=True)

    stage: str
    message: str = ""
    completed: float | None = None
    total: float | None = None
    data: dict[str, Any] = Field(default_factory=dict)


ProgressCallback = Callable[[ProgressEvent], None]


def ignore_progress(event: ProgressEvent) -> None:
    """A progress callback for callers that do not show progress."""
