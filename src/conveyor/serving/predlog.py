"""The prediction log: every (sampled) prediction appended to JSON Lines files by a background thread.

A request only puts a reference to its inputs and outputs on a bounded queue (`record`, never blocks);
the writer thread turns them into JSON and appends them to `DIR/predictions-<date>-<pid>.jsonl`, one
file per worker process and day, read later by monitoring. When the queue is full the record is
dropped and counted: a slow or failing disk never slows or fails a request.

Each line: {"ts", "request_id", "model", "model_version", "variant", "latency_ms", "inputs", "outputs"}
with `inputs` as {column: [values]} and `outputs` as a list (or {column: [values]}).
"""

from __future__ import annotations

import logging
import os
import queue
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

__all__ = ["JsonLinesWriter", "PredictionLog"]

logger = logging.getLogger("conveyor.serving.predlog")

_STOP = object()


class JsonLinesWriter:
    """Appends lines to one file per day and process under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._day = ""
        self._file: Any = None

    def write(self, lines: list[bytes]) -> None:
        day = time.strftime("%Y%m%d", time.gmtime())
        if day != self._day or self._file is None:
            self.close()
            self._day = day
            self._file = open(self.directory / f"predictions-{day}-{os.getpid()}.jsonl", "ab")  # noqa: SIM115
        self._file.write(b"".join(lines))
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class PredictionLog:
    """Bounded, sampled, asynchronous: `record` costs a queue put; a thread does the writing."""

    def __init__(
        self,
        writer: Any,
        *,
        columns: list[str] | None = None,
        sample: float = 1.0,
        queue_size: int = 10_000,
        counters: dict[str, int] | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._writer = writer
        self._columns = columns
        self.sample = sample
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        # Shared with the metrics (written by two threads; single increments of a dict value are atomic
        # enough for counters read once a second).
        self.counters = (
            counters if counters is not None else {"written": 0, "dropped": 0, "sampled_out": 0, "failed": 0}
        )
        self._rng = rng
        self._thread = threading.Thread(target=self._run, name="conveyor-prediction-log", daemon=True)
        self._thread.start()

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
        """Queue one prediction for writing; never blocks, never raises."""
        if self.sample < 1.0 and self._rng() >= self.sample:
            self.counters["sampled_out"] += 1
            return
        item = (time.time(), model, version, variant, request_id, seconds, inputs, outputs)
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.counters["dropped"] += 1

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (within `timeout`) and stop the thread."""
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            while len(batch) < 1000:  # write what has piled up in one go
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(b is _STOP for b in batch)
            records = [b for b in batch if b is not _STOP]
            if records:
                try:
                    self._writer.write([self._line(r) for r in records])
                    self.counters["written"] += len(records)
                except Exception:  # a failing disk loses records, counted, and never a request
                    self.counters["failed"] += len(records)
                    logger.exception("Could not write %d prediction log records", len(records))
            if stop:
                close = getattr(self._writer, "close", None)
                if callable(close):
                    close()
                return

    def _line(self, item: tuple[Any, ...]) -> bytes:
        ts, model, version, variant, request_id, seconds, inputs, outputs = item
        record = {
            "ts": ts,
            "request_id": request_id,
            "model": model,
            "model_version": version,
            "variant": variant,
            "latency_ms": round(seconds * 1000, 3),
            "inputs": _columns_of(inputs, self._columns),
            "outputs": _jsonable(outputs),
        }
        return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY, default=_default) + b"\n"


def _columns_of(inputs: Any, names: list[str] | None) -> Any:
    if isinstance(inputs, pd.DataFrame):
        return {str(c): _jsonable(inputs[c].to_numpy()) for c in inputs.columns}
    if isinstance(inputs, np.ndarray) and inputs.ndim == 2 and names and inputs.shape[1] == len(names):
        return {name: inputs[:, j].tolist() for j, name in enumerate(names)}
    return _jsonable(inputs)


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return {str(c): _jsonable(value[c].to_numpy()) for c in value.columns}
    if isinstance(value, pd.Series):
        return _jsonable(value.to_numpy())
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
