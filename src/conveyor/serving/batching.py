"""Adaptive micro-batching: concurrent requests scored in one model call, answers never reordered or mixed.

Requests decoded in the same event-loop turn (several connections whose bytes arrived together) are
stacked into one matrix and scored in one call; each request gets back exactly its own rows, by offset.
A batch closes at the end of the loop turn in which its first request was submitted (`max_wait=0`,
the default: a lone request waits for nothing), or `max_wait` seconds later, or as soon as it holds
`max_rows`. Under load more requests arrive per turn and batches grow by themselves.

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
        self.stats = BatchStats()

    async def submit(self, matrix: np.ndarray) -> np.ndarray:
        """This request's predictions, scored with whatever else is submitted in this loop turn."""
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._pending.append((matrix, future))
        self._rows += len(matrix)
        if self._rows >= self.max_rows:
            self.flush()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
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
        stats = self.stats
        stats.batches += 1
        stats.requests += len(pending)
        stats.sizes[len(pending)] = stats.sizes.get(len(pending), 0) + 1
        try:
            if len(pending) == 1:
                results = [self._predict(pending[0][0])]
                stats.rows += len(pending[0][0])
            else:
                stacked = np.concatenate([m for m, _ in pending])
                stats.rows += len(stacked)
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
