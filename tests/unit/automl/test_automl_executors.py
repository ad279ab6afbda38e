"""Fold executors: worker processes give the same trials as the in-process loop; the choice follows the rule."""

from __future__ import annotations

import pandas as pd

from conveyor.automl import run_automl
from conveyor.automl.executors import InProcessExecutor, LocalProcessExecutor, choose_executor


def test_worker_processes_give_the_same_leaderboard_as_the_in_process_loop(wine: pd.DataFrame) -> None:
    serial = run_automl(wine, "target", max_trials=2, families=["lightgbm", "linear"], executor=InProcessExecutor())
    with LocalProcessExecutor(workers=2) as pool:
        parallel = run_automl(wine, "target", max_trials=2, families=["lightgbm", "linear"], executor=pool)
    assert [(t.family, t.cv_mean, t.params) for t in parallel.leaderboard] == [
        (t.family, t.cv_mean, t.params) for t in serial.leaderboard
    ]


def test_worker_processes_only_for_single_threaded_models_and_idle_cores() -> None:
    assert isinstance(choose_executor(5_000, idle=-1.5), InProcessExecutor)
    assert isinstance(choose_executor(500_000, idle=8.0), InProcessExecutor)
    pool = choose_executor(5_000, idle=6.0)
    try:
        assert isinstance(pool, LocalProcessExecutor)
        assert pool.workers == 6
    finally:
        pool.shutdown()


def test_the_in_process_executor_hands_errors_back_through_the_future() -> None:
    future = InProcessExecutor().submit(int, "not a number")
    assert isinstance(future.exception(), ValueError)
