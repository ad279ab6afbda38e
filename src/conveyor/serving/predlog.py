"""The prediction log: every (sampled) prediction appended to date-partitioned Parquet files by a writer process.

A request only appends its record (references to its inputs and outputs) to a bounded list (`record`,
never blocks). Every `handoff_seconds` a thread of the server moves that list to a separate process
as one message, and that process gathers what arrives for up to `flush_seconds` (or `flush_rows`
rows), turns it into one Arrow table and writes it as one Parquet file. Building that table is
Python holding the GIL (about 0.2 s for 25,000 records here); in a thread of the serving process it
made the event loop wait for the GIL, 5 ms at a time, all through a flush (docs/benchmarks.md,
"Serving"). So it runs in a process of its own. The records cross to it in lists: one message per
record cost the server about 0.1 ms of pickling per request and woke the writer for every record.
When `queue_size` records wait, in the server or in the pipe, records are dropped and counted: a
slow or failing disk never slows or fails a request.

    DIR/date=YYYY-MM-DD/part-<HHMMSS>-<pid>-<n>.parquet      one file per flush, worker and day

A file is written under a hidden name and renamed when complete, so readers never see half a file.
One row per scored row: ts (UTC), request_id, row (its index in the request), model, model_version,
variant, latency_ms, and two structs: `inputs` (the model's input columns) and `outputs` (`prediction`,
`prediction_<j>` for several per row, or the predictor's own column names). Read it with DuckDB
(`read_parquet('DIR/**/*.parquet', hive_partitioning = true, union_by_name = true)`) or pandas
(`pd.read_parquet(DIR)`).
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import queue
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs
import pyarrow.parquet as pq

__all__ = ["ParquetWriter", "PredictionLog", "PredictionLogCounters"]

logger = logging.getLogger("conveyor.serving.predlog")

_spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: the server's threads and loop stay behind
_STOP = None
# How often the writer process checks that the server that started it is still there.
_PARENT_CHECK_SECONDS = 1.0


class ParquetWriter:
    """Writes each table it is given as one Parquet file under `directory/date=…/`, atomically."""

    def __init__(self, directory: Path, *, filesystem: pyarrow.fs.FileSystem | None = None) -> None:
        self.directory = directory
        self._fs = filesystem or pyarrow.fs.LocalFileSystem()
        self._sequence = itertools.count()

    def write(self, table: pa.Table) -> None:
        days = pc.strftime(table["ts"], format="%Y-%m-%d").to_numpy(zero_copy_only=False)
        unique = np.unique(days)
        for day in unique:
            part = table if len(unique) == 1 else table.filter(pa.array(days == day))
            folder = f"{self.directory}/date={day}"
            self._fs.create_dir(folder, recursive=True)
            name = f"part-{time.strftime('%H%M%S', time.gmtime())}-{os.getpid()}-{next(self._sequence)}.parquet"
            scratch = f"{folder}/.{name}"
            pq.write_table(part, scratch, filesystem=self._fs)
            self._fs.move(scratch, f"{folder}/{name}")


class PredictionLogCounters(Mapping[str, int]):
    """Records by outcome (written, dropped, sampled_out, failed), in memory shared with the writer process."""

    NAMES = ("written", "dropped", "sampled_out", "failed")

    def __init__(self) -> None:
        self._shared = _spawn.RawArray("q", len(self.NAMES))  # each slot has one writing process

    def add(self, name: str, count: int = 1) -> None:
        self._shared[self.NAMES.index(name)] += count

    def __getitem__(self, name: str) -> int:
        if name not in self.NAMES:
            raise KeyError(name)
        return int(self._shared[self.NAMES.index(name)])

    def __iter__(self) -> Iterator[str]:
        return iter(self.NAMES)

    def __len__(self) -> int:
        return len(self.NAMES)


class PredictionLog:
    """Bounded, sampled, asynchronous: `record` costs a list append; a writer process builds and writes the files.

    `writer` (e.g. a `ParquetWriter`) is pickled to that process; `counters` are readable here at any time.
    Call `close` to write what is queued and stop the process.
    """

    def __init__(
        self,
        writer: Any,
        *,
        columns: list[str] | None = None,
        sample: float = 1.0,
        queue_size: int = 10_000,
        flush_seconds: float = 10.0,
        flush_rows: int = 50_000,
        handoff_seconds: float = 0.05,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.sample = sample
        self.counters = PredictionLogCounters()
        self._rng = rng
        self._queue_size = queue_size
        self._waiting: list[tuple[Any, ...]] = []  # records not yet handed to the writer process
        self._room = queue_size  # how many may wait here: queue_size less those in the pipe at the last hand-over
        self._in_pipe = _spawn.Value("q", 0)  # records handed over that the writer process has not taken yet
        self._handed_over = 0  # records handed over in all: what a writer stopped at close had not written
        self._queue: Any = _spawn.Queue()  # bounded by `_in_pipe`, in records
        self._process = _spawn.Process(
            target=_write_records,
            args=(self._queue, writer, columns, flush_seconds, flush_rows, self.counters, self._in_pipe, os.getpid()),
            name="conveyor-prediction-log",
            daemon=True,
        )
        self._process.start()
        # `close` runs on another thread than the requests (the app's shutdown hands it to a thread while the
        # last requests and shadow scorings still record): the lock makes each record either handed over before
        # the stop marker, and so written, or counted as dropped, never put on a closed queue. It also keeps the
        # request thread and the hand-over thread from adding to the same counter at once.
        self._lock = threading.Lock()
        self._closed = False
        self._stopping = threading.Event()
        self._handoff = threading.Thread(
            target=self._hand_over_every, args=(handoff_seconds,), name="conveyor-prediction-log-handoff", daemon=True
        )
        self._handoff.start()

    def record(
        self,
        *,
        model: str,
        version: str,
        variant: str,
        request_id: str | None,
        seconds: float,
        inputs: Any,
        outputs: Any,
    ) -> None:
        """Keep one prediction for writing; never blocks, never raises."""
        if self.sample < 1.0 and self._rng() >= self.sample:
            self.counters.add("sampled_out")
            return
        item = (time.time(), model, version, variant, request_id, seconds, inputs, outputs)
        with self._lock:
            if self._closed or len(self._waiting) >= self._room:  # stopping, or the writer is behind
                self.counters.add("dropped")
            else:
                self._waiting.append(item)

    def _hand_over_every(self, seconds: float) -> None:
        while not self._stopping.wait(seconds):
            self._hand_over()

    def _hand_over(self) -> None:
        """Send the waiting records to the writer process as one list."""
        with self._lock:
            records, self._waiting = self._waiting, []
            with self._in_pipe.get_lock():
                self._in_pipe.value += len(records)
                self._room = max(0, self._queue_size - self._in_pipe.value)
            if records:
                self._queue.put_nowait(records)
                self._handed_over += len(records)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (within `timeout`, else it is lost and counted as dropped) and stop the writer."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stopping.set()
        self._handoff.join()
        self._hand_over()  # the last records, ahead of the stop marker
        self._queue.put_nowait(_STOP)
        self._process.join(timeout)
        finished = not self._process.is_alive()
        if not finished:  # stuck on its disk: the records it holds or has not taken are lost, counted as dropped
            self._process.kill()
            self._process.join()
            self.counters.add("dropped", self._handed_over - self.counters["written"] - self.counters["failed"])
        self._queue.close()
        if finished:
            self._queue.join_thread()  # everything was handed over: the feeder thread ends at once
        else:
            self._queue.cancel_join_thread()
        # Dropping the queue releases its semaphores now. Left for the end, they would not be: uvicorn ends
        # the process with the signal it stopped for, skipping exit handlers, and multiprocessing's
        # resource tracker then warns of leaked semaphores.
        self._queue = None


def _write_records(
    records: Any,
    writer: Any,
    columns: list[str] | None,
    flush_seconds: float,
    flush_rows: int,
    counters: PredictionLogCounters,
    in_pipe: Any,
    parent: int,
) -> None:
    """The writer process: gather records into files until told to stop or the server is gone."""
    # The server stops this process itself (after writing what is queued); Ctrl-C and a SIGTERM to the
    # whole process group must not cut the last file short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Building and writing a file takes a CPU for a while; a request thread waking meanwhile must get it at
    # once. At the lowest priority the writer runs on what the server leaves (if it falls behind, the server drops).
    os.nice(19)
    pending: list[tuple[Any, ...]] = []
    rows = 0
    deadline = float("inf")
    while True:
        wait = _PARENT_CHECK_SECONDS if not pending else min(_PARENT_CHECK_SECONDS, deadline - time.monotonic())
        try:
            lists = [records.get(timeout=max(0.0, wait))]
        except queue.Empty:
            lists = []
        while lists and lists[-1] is not _STOP:  # what piled up during a slow write goes into the next file
            try:
                lists.append(records.get_nowait())
            except queue.Empty:
                break
        stop = os.getppid() != parent or any(items is _STOP for items in lists)
        lists = [items for items in lists if items is not _STOP]
        with in_pipe.get_lock():
            in_pipe.value -= sum(map(len, lists))
        for item in itertools.chain.from_iterable(lists):
            if not pending:
                deadline = time.monotonic() + flush_seconds
            pending.append(item)
            rows += _length(item[6])
        if pending and (stop or rows >= flush_rows or time.monotonic() >= deadline):
            _flush(writer, pending, columns, counters)
            pending, rows = [], 0
        if stop:
            return


def _flush(
    writer: Any, items: list[tuple[Any, ...]], columns: list[str] | None, counters: PredictionLogCounters
) -> None:
    try:
        writer.write(_table(items, columns))
        counters.add("written", len(items))
    except Exception:  # a failing disk loses records, counted, and never a request
        counters.add("failed", len(items))
        logger.exception("Could not write %d prediction log records", len(items))


def _length(inputs: Any) -> int:
    return len(inputs) if isinstance(inputs, np.ndarray | pd.DataFrame) else 1


def _table(items: list[tuple[Any, ...]], columns: list[str] | None) -> pa.Table:
    """One Arrow table of `items`: requests of the same shape are stacked, then the groups concatenated."""
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for item in items:
        groups.setdefault((_layout(item[6]), _layout(item[7])), []).append(item)
    tables = [_group_table(group, columns) for group in groups.values()]
    return pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]


def _layout(value: Any) -> tuple[Any, ...]:
    if isinstance(value, np.ndarray):
        return ("array", value.ndim, value.shape[1] if value.ndim == 2 else 0, value.dtype.kind)
    if isinstance(value, pd.DataFrame):
        return ("frame", tuple(map(str, value.columns)))
    if isinstance(value, pd.Series):
        return ("series", str(value.name))
    return ("other",)


def _group_table(items: list[tuple[Any, ...]], columns: list[str] | None) -> pa.Table:
    inputs = _struct([item[6] for item in items], columns, "input")
    lengths = np.array([_length(item[6]) for item in items])
    outputs = _struct([item[7] for item in items], None, "prediction")

    def repeat(index: int) -> np.ndarray:
        return np.repeat(np.array([item[index] for item in items], dtype=object), lengths)

    stamps = np.repeat(np.array([item[0] for item in items]), lengths)
    fields = {
        "ts": pa.array((stamps * 1e6).astype("int64"), pa.timestamp("us", tz="UTC")),
        "request_id": pa.array(repeat(4), pa.string()),
        "row": pa.array(np.concatenate([np.arange(n) for n in lengths]), pa.int32()),
        "model": pa.array(repeat(1), pa.string()),
        "model_version": pa.array(repeat(2), pa.string()),
        "variant": pa.array(repeat(3), pa.string()),
        "latency_ms": pa.array(np.repeat(np.array([item[5] * 1000 for item in items]), lengths), pa.float64()),
    }
    if inputs is not None:
        fields["inputs"] = inputs
    if outputs is not None and len(outputs) == len(stamps):
        fields["outputs"] = outputs
    return pa.table(fields)


def _struct(values: list[Any], names: list[str] | None, stem: str) -> pa.StructArray | None:
    """The values of one layout as a struct array, one entry per row; None when there is nothing to log."""
    first = values[0]
    if isinstance(first, np.ndarray):
        stacked = np.concatenate(values)
        if stacked.ndim == 1:
            return pa.StructArray.from_arrays([pa.array(stacked)], names=[stem])
        labels = names if names and len(names) == stacked.shape[1] else [f"{stem}_{j}" for j in range(stacked.shape[1])]
        return pa.StructArray.from_arrays([pa.array(stacked[:, j]) for j in range(stacked.shape[1])], names=labels)
    if isinstance(first, pd.DataFrame | pd.Series):
        frame = pd.concat(values, ignore_index=True)
        if isinstance(frame, pd.Series):
            frame = frame.to_frame(stem if frame.name is None else str(frame.name))
        table = pa.Table.from_pandas(frame, preserve_index=False)
        return pa.StructArray.from_arrays([c.combine_chunks() for c in table.columns], names=table.column_names)
    if first is None:
        return None
    return pa.StructArray.from_arrays([pa.array([str(v) for v in values])], names=[stem])
