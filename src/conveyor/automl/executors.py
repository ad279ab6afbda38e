"""Where a trial's folds are fitted: in this process, or in a pool of local worker processes.

An executor is a `concurrent.futures.Executor` with a `workers` count, so a Dask client's executor
(`distributed.Client.get_executor()`) can stand in for the local pool later. The search hands it
self-contained fold fits (data, family, parameters in; fitted model and predictions out) in waves of
`workers` folds and checks the clock between waves.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, Protocol

from conveyor.automl.families.base import MULTITHREAD_MIN_ROWS, idle_cores

# Worker processes pay off only with this many idle cores: on 2 cores under load 3-4, five LightGBM folds of
# magic_telescope took 3.2-4.3 s serially and 5.6 s (warm) to 13.3 s (cold) in two worker processes.
MIN_IDLE_CORES = 2.0


class FoldExecutor(Protocol):
    """What the search needs of an executor: `submit` as in `concurrent.futures`, and how many run at once."""

    workers: int

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]: ...

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None: ...


class InProcessExecutor(Executor):
    """Runs each call at once in the calling thread: no start-up, no copies of the data."""

    workers = 1

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the caller through the future, like any executor
            future.set_exception(error)
        return future


class LocalProcessExecutor(ProcessPoolExecutor):
    """A pool of `workers` local processes, started from a clean server process (no forked threads)."""

    def __init__(self, workers: int) -> None:
        super().__init__(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))
        self.workers = workers


def choose_executor(n_rows: int, *, idle: float | None = None) -> FoldExecutor:
    """Worker processes when the models run single-threaded (small data) and enough cores sit idle.

    On larger data the boosting families use every core themselves, and a busy machine has no idle core
    to win: then the folds run one after the other in this process. `idle` defaults to `idle_cores()`.
    """
    idle = idle_cores() if idle is None else idle
    if n_rows >= MULTITHREAD_MIN_ROWS or idle < MIN_IDLE_CORES:
        return InProcessExecutor()
    return LocalProcessExecutor(workers=int(idle))
