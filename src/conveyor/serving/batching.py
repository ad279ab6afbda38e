"""Adaptive micro-batching: concurrent requests scored in one model call, answers never reordered or mixed.

Requests decoded in the same event-loop turn (several connections whose bytes arrived together) are
stacked into one matrix and scored in one call; each request gets back exactly its own rows, by offset.
With `max_wait=0` (the default) the first request of a loop turn is scored at once: nothing can join
it yet, and a lone request (one connection) no longer waits for the end of its turn, two more loop
turns and a future. The requests after it in the same turn form a batch that closes at the end of the
turn, or as soon as it holds `max_rows`. With
`max_wait` > 0 every batch stays open that many seconds. Under load more requests arrive per turn
and batches grow by themselves.

The batcher runs on the event loop thread and knows no web framework.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BatchStats", "MicroBatcher"]


@dataclass
class BatchStats:
    """Counts for the metrics endpoint: batches run, and their sizes in requests and rows."""

    batches: int = 0
    requests: int = 0
    rows: int = 0
    # requests per batch -> how many batches had that many
    sizes: dict[int, int] = field(default_factory=dict)


class MicroBatcher:
    """Collects concurrent requests' matrices and scores them together with `predict`."""

    def __init__(self, predict: Callable[[np.ndarray], np.ndarray], *, max_rows: int = 256, max_wait: float = 0.0):
        self._predict = predict
        self.max_rows = max_rows
        self.max_wait = max_wait
        self._pending: list[tuple[np.ndarray, asyncio.Future[np.ndarray]]] = []
        self._rows = 0
        self._timer: asyncio.Handle | None = None
        self._turn_taken = False  # a request was submitted in this loop turn already
        self.stats = BatchStats()

    async def submit(self, matrix: np.ndarray) -> np.ndarray:
        """This request's predictions: at once if it is the first of its loop turn (`max_wait=0`), else scored
        with whatever else is submitted in that turn (or within `max_wait`)."""
        loop = asyncio.get_running_loop()
        if self.max_wait == 0 and not self._turn_taken:
            self._turn_taken = True
            loop.call_soon(self._next_turn)
            if not self._pending:
                self._count([len(matrix)])
                return self._predict(matrix)
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self._pending.append((matrix, future))
        self._rows += len(matrix)
        if self._rows >= self.max_rows:
            self.flush()
        elif self._timer is None:
            # call_soon runs after the tasks already scheduled for this turn, i.e. the other requests
            # whose bytes came in with this one: they join the batch.
            if self.max_wait > 0:
                self._timer = loop.call_later(self.max_wait, self.flush)
            else:
                self._timer = loop.call_soon(self.flush)
        return await future

    def flush(self) -> None:
        """Score everything pending now, in one call, and hand each request its own rows."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending, self._rows = self._pending, [], 0
        if not pending:
            return
        self._count([len(m) for m, _ in pending])
        try:
            if len(pending) == 1:
                results = [self._predict(pending[0][0])]
            else:
                stacked = np.concatenate([m for m, _ in pending])
                predicted = self._predict(stacked)
                bounds = np.cumsum([len(m) for m, _ in pending])[:-1]
                results = np.split(predicted, bounds)
        except Exception as exc:  # every waiting request learns of the failure
            for _, future in pending:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(pending, results, strict=True):
            if not future.done():
                future.set_result(result)

    def _next_turn(self) -> None:
        self._turn_taken = False

    def _count(self, rows: list[int]) -> None:
        stats = self.stats
        stats.batches += 1
        stats.requests += len(rows)
        stats.rows += sum(rows)
        stats.sizes[len(rows)] = stats.sizes.get(len(rows), 0) + 1
