"""Live training display: a progress bar over the time budget and the leaderboard so far."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from conveyor.entrypoints.cli.render import console, leaderboard_table


class _Trial:
    """A trial as the progress event carries it (a plain dict), with attribute access."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


class TrainingDisplay:
    """Receives progress events and redraws; use as a context manager around `train`."""

    def __init__(self, max_trials: int | None, started_at: float) -> None:
        self._started_at = started_at
        self._trials: list[_Trial] = []
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
        )
        # Counted in trials when the search is bounded by trials, else in seconds of the budget
        # (which the service announces in its first event).
        self._by_time = max_trials is None
        self._total = float(max_trials) if max_trials else None
        self._task = self._progress.add_task("Preparing", total=self._total, detail="")
        # Transient: the command prints the final leaderboard itself once training is done.
        self._live = Live(self._render(), console=console, refresh_per_second=4, transient=True)

    def _render(self) -> Group:
        ranked = sorted(
            (t for t in self._trials if t.status == "ok"),
            key=lambda t: -t.cv_mean if t.higher_is_better else t.cv_mean,
        )
        parts: list[Any] = [self._progress]
        if ranked:
            parts.append(leaderboard_table(ranked, title=f"Leaderboard ({len(self._trials)} trials)", limit=10))
        return Group(*parts)

    def __call__(self, event: Any) -> None:
        if event.stage == "trial":
            self._trials.append(_Trial(event.data["trial"]))
        if self._by_time and event.total:
            self._total = event.total
        done = time.monotonic() - self._started_at if self._by_time else float(len(self._trials))
        if self._total is not None:
            done = min(done, self._total)
        detail = f"{len(self._trials)} trials" if self._trials else ""
        self._progress.update(
            self._task, description=event.message or event.stage, completed=done, total=self._total, detail=detail
        )
        self._live.update(self._render())

    def __enter__(self) -> TrainingDisplay:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if not any(exc) and self._total is not None:
            self._progress.update(self._task, completed=self._total, description="Done")
        self._live.__exit__(*exc)  # type: ignore[arg-type]
