"""Micro-batching never mixes or reorders answers; canary splits are exact; metrics render Prometheus text."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pytest

from conveyor.serving.batching import MicroBatcher
from conveyor.serving.metrics import ServingMetrics
from conveyor.serving.predlog import ParquetWriter, PredictionLog
from conveyor.serving.routing import Router


def test_concurrent_requests_share_a_call_and_get_their_own_rows() -> None:
    calls: list[int] = []

    def predict(matrix: np.ndarray) -> np.ndarray:
        calls.append(len(matrix))
        return matrix[:, 0] * 10

    async def main() -> list[np.ndarray]:
        batcher = MicroBatcher(predict, max_rows=1000)
        requests = [np.full((i % 3 + 1, 2), float(i)) for i in range(20)]
        answers = await asyncio.gather(*(batcher.submit(m) for m in requests))
        assert batcher.stats.batches == len(calls) < 20
        return [a for a in answers], requests  # type: ignore[return-value]

    answers, requests = asyncio.run(main())  # type: ignore[misc]
    for answer, request in zip(answers, requests, strict=True):
        np.testing.assert_array_equal(answer, request[:, 0] * 10)
    assert sum(calls) == sum(len(r) for r in requests)


def test_a_lone_request_is_scored_at_once_and_the_ones_after_it_in_its_turn_together() -> None:
    calls: list[int] = []

    def predict(matrix: np.ndarray) -> np.ndarray:
        calls.append(len(matrix))
        return matrix[:, 0]

    async def main() -> None:
        batcher = MicroBatcher(predict)
        other_task_ran = False

        async def other() -> None:
            nonlocal other_task_ran
            other_task_ran = True

        task = asyncio.create_task(other())
        await batcher.submit(np.ones((1, 2)))
        assert not other_task_ran, "a lone request waited for a loop turn"
        await task
        await asyncio.sleep(0)  # a later turn: the next request is the first of its turn again
        answers = await asyncio.gather(*(batcher.submit(np.full((1, 2), float(i))) for i in range(5)))
        assert [a.tolist() for a in answers] == [[float(i)] for i in range(5)]
        assert calls == [1, 1, 4]  # the first of the five alone, the four after it in one call
        assert batcher.stats.sizes == {1: 2, 4: 1}

    asyncio.run(main())


def test_batches_close_at_max_rows_and_failures_reach_every_waiter() -> None:
    sizes: list[int] = []

    def predict(matrix: np.ndarray) -> np.ndarray:
        sizes.append(len(matrix))
        if (matrix < 0).any():
            raise RuntimeError("bad batch")
        return matrix[:, 0]

    async def main() -> None:
        batcher = MicroBatcher(predict, max_rows=4)
        await asyncio.gather(*(batcher.submit(np.ones((2, 1))) for _ in range(4)))
        assert max(sizes) <= 4
        results = await asyncio.gather(
            batcher.submit(np.ones((1, 1))),  # the first of its turn: scored alone
            batcher.submit(np.ones((1, 1))),
            batcher.submit(-np.ones((1, 1))),
            return_exceptions=True,
        )
        assert results[0].tolist() == [1.0]
        assert all(isinstance(r, RuntimeError) for r in results[1:])

    asyncio.run(main())


class _Named:
    def __init__(self, version: str) -> None:
        self.version = version


@pytest.mark.parametrize("percent", [10, 25, 50, 1])
def test_canary_split_is_exact(percent: int) -> None:
    router = Router(_Named("1"), canary=_Named("2"), canary_percent=percent)  # type: ignore[arg-type]
    picks = [router.pick()[1] for _ in range(1000)]
    assert picks.count("canary") == percent * 10
    assert "canary" in picks[: 100 // percent + 1]  # spread out, not bunched at the end


def test_swap_serves_the_new_runtime_from_the_next_pick() -> None:
    router = Router(_Named("1"))  # type: ignore[arg-type]
    assert router.pick()[0].version == "1"
    router.swap(_Named("2"))  # type: ignore[arg-type]
    assert router.pick()[0].version == "2"
    assert router.swaps == 1


def test_metrics_render_and_add_up_workers(tmp_path: Path) -> None:
    one, two = ServingMetrics(tmp_path), ServingMetrics(tmp_path)
    one.observe("v2", 200, 0.001, rows=1, version="3")
    one.observe("v2", 400, 0.002, version="3")
    two.observe("v2", 200, 0.003, rows=100, version="3")
    two.observe_batches({4: 2})
    two.model.update({"name": "m", "version": "3"})
    # the second worker publishes under another file name than the first's pid
    (tmp_path / "other.json").write_text(orjson.dumps(two.state()).decode())
    text = one.render()
    assert 'conveyor_requests_total{endpoint="v2",code="200",model_version="3",variant="primary"} 2' in text
    assert 'conveyor_request_errors_total{endpoint="v2",code="400"} 1' in text
    assert 'conveyor_request_duration_seconds_bucket{endpoint="v2",le="+Inf"} 3' in text
    assert 'conveyor_batch_requests_bucket{le="4"} 2' in text
    assert 'conveyor_model_info{name="m",version="3"} 1' in text


class _SlowWriter(ParquetWriter):
    """Parquet files, each written after `delay` seconds (a stalled volume). Runs in the writer process."""

    def __init__(self, directory: Path, delay: float) -> None:
        super().__init__(directory)
        self.delay = delay

    def write(self, table: pa.Table) -> None:
        time.sleep(self.delay)
        super().write(table)


class _BrokenDisk:
    def write(self, table: pa.Table) -> None:
        raise OSError("disk full")


def _record(log: PredictionLog, i: int) -> None:
    log.record(
        model="m", version="1", variant="primary", request_id=f"r{i}", seconds=0.001,
        inputs=np.array([[float(i), 2.0]]), outputs=np.array([0.5]),
    )  # fmt: skip


def test_prediction_log_never_blocks_on_a_slow_disk_and_counts_drops(tmp_path: Path) -> None:
    writer = _SlowWriter(tmp_path, delay=0.5)
    log = PredictionLog(writer, columns=["a", "b"], queue_size=5, flush_rows=1)  # a slow write per record
    started = time.perf_counter()
    for i in range(200):
        _record(log, i)
    elapsed = time.perf_counter() - started
    assert elapsed < writer.delay  # 200 records queued (or dropped) in less than one slow write
    assert log.counters["dropped"] > 0
    log.close(timeout=30)
    assert log.counters["written"] + log.counters["dropped"] == 200
    rows = pd.read_parquet(tmp_path).sort_values("ts").to_dict("records")
    assert len(rows) == log.counters["written"]
    first = rows[0]
    assert first["inputs"] == {"a": 0.0, "b": 2.0}
    assert first["outputs"] == {"prediction": 0.5}
    assert (first["request_id"], first["row"], first["model_version"]) == ("r0", 0, "1")


def test_prediction_log_stopped_on_its_stuck_disk_counts_what_it_held_as_dropped(tmp_path: Path) -> None:
    log = PredictionLog(_SlowWriter(tmp_path, delay=60), columns=["a", "b"], queue_size=50, flush_rows=10)
    for i in range(30):
        _record(log, i)
    log.close(timeout=1)  # the writer is inside its first minute-long write: stopped, its records lost
    assert log.counters["written"] == 0
    assert log.counters["dropped"] == 30


def test_prediction_log_gathers_a_file_per_flush_interval(tmp_path: Path) -> None:
    log = PredictionLog(ParquetWriter(tmp_path), columns=["a", "b"], flush_seconds=60)
    for i in range(30):
        _record(log, i)
    log.close(timeout=30)
    (path,) = tmp_path.rglob("*.parquet")  # nothing was due before close: one table, one file
    assert pd.read_parquet(path)["request_id"].tolist() == [f"r{i}" for i in range(30)]


def test_prediction_log_sampling_and_a_failing_disk() -> None:
    log = PredictionLog(_BrokenDisk(), sample=0.5, rng=iter([0.1, 0.9] * 10).__next__)
    for i in range(20):
        _record(log, i)
    log.close(timeout=30)
    assert log.counters["sampled_out"] == 10
    assert log.counters["failed"] == 10


def test_prediction_log_counts_a_record_after_close_as_dropped(tmp_path: Path) -> None:
    log = PredictionLog(ParquetWriter(tmp_path), columns=["a", "b"])
    log.close(timeout=30)
    _record(log, 0)  # a request still finishing during shutdown: counted, never raised
    log.close()  # a second close is harmless
    assert log.counters["dropped"] == 1
    assert list(tmp_path.rglob("*.parquet")) == []


def test_prediction_log_counts_every_record_made_while_it_closes(tmp_path: Path) -> None:
    import threading

    log = PredictionLog(ParquetWriter(tmp_path), columns=["a", "b"])
    recorded = 0
    recording, closed = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def requests_still_finishing() -> None:  # the event loop's last requests while the shutdown closes the log
        nonlocal recorded
        try:
            while not closed.is_set():
                _record(log, recorded)
                recorded += 1
                if recorded == 100:
                    recording.set()
        except BaseException as error:  # a record must never raise; the assert below shows what did
            failures.append(error)
            recording.set()

    thread = threading.Thread(target=requests_still_finishing)
    thread.start()
    recording.wait(30)
    log.close(timeout=30)
    closed.set()
    thread.join(30)
    assert failures == []
    assert log.counters["dropped"] > 0  # the records made while it was closing
    assert log.counters["written"] + log.counters["dropped"] == recorded  # none lost uncounted
    assert len(pd.read_parquet(tmp_path)) == log.counters["written"]


def test_prediction_log_writer_runs_at_the_lowest_priority(tmp_path: Path) -> None:
    import multiprocessing
    import os

    log = PredictionLog(ParquetWriter(tmp_path))
    try:
        (writer,) = [p for p in multiprocessing.active_children() if p.name == "conveyor-prediction-log"]
        deadline = time.monotonic() + 30
        while os.getpriority(os.PRIO_PROCESS, writer.pid) != 19 and time.monotonic() < deadline:
            time.sleep(0.05)  # it lowers its own priority as it starts
        assert os.getpriority(os.PRIO_PROCESS, writer.pid) == 19
    finally:
        log.close(timeout=30)


def test_prediction_log_writes_what_it_holds_when_its_server_is_killed(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    script = f"""
import time, numpy as np
from pathlib import Path
from conveyor.serving.predlog import ParquetWriter, PredictionLog
log = PredictionLog(ParquetWriter(Path({str(tmp_path / "log")!r})), flush_seconds=600)
for i in range(3):
    log.record(model="m", version="1", variant="primary", request_id=str(i), seconds=0.0,
               inputs=np.array([[1.0]]), outputs=np.array([0.5]))
print("recorded", flush=True)
time.sleep(600)
"""
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            assert server.stdout.readline() == "recorded\n"
            time.sleep(1)  # the queue's feeder thread hands the records over within milliseconds
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
            (writer,) = [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        finally:
            server.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{writer}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{writer}").exists(), "the writer process outlived its server"
    assert sorted(pd.read_parquet(tmp_path / "log")["request_id"]) == ["0", "1", "2"]


def test_parquet_files_by_day_read_by_duckdb_and_pandas(tmp_path: Path) -> None:
    import duckdb
    import pandas as pd

    from conveyor.serving.predlog import ParquetWriter

    log = PredictionLog(ParquetWriter(tmp_path / "log"), columns=["a", "b"])
    _record(log, 1)
    log.record(
        model="m", version="2", variant="shadow", request_id="f", seconds=0.002,
        inputs=pd.DataFrame({"a": [1.5, 2.5], "c": ["x", "y"]}), outputs=pd.DataFrame({"no": [0.2, 0.4]}),
    )  # fmt: skip
    log.close(timeout=10)
    (path,) = [p for p in (tmp_path / "log").rglob("*") if p.is_file()]
    assert path.parent.name.startswith("date=")
    assert path.suffix == ".parquet"  # no scratch file left behind
    rows = duckdb.sql(
        f"SELECT request_id, row, variant, inputs.a AS a, inputs.c AS c, outputs.prediction AS p, outputs.no AS no "
        f"FROM read_parquet('{tmp_path}/log/**/*.parquet', hive_partitioning = true) ORDER BY request_id, row"
    ).fetchall()
    assert rows == [("f", 0, "shadow", 1.5, "x", None, 0.2), ("f", 1, "shadow", 2.5, "y", None, 0.4),
                    ("r1", 0, "primary", 1.0, None, 0.5, None)]  # fmt: skip
    frame = pd.read_parquet(tmp_path / "log")
    assert len(frame) == 3
    assert str(frame["ts"].dtype) == "datetime64[us, UTC]"
