"""Serving metrics in the Prometheus text format: requests, errors, latency and batch-size histograms.

Counting is a few dict operations per request on the event loop thread (no locks, no client library).
With several worker processes each one writes its counts to `share_dir/<pid>.json` about once a
second (`snapshot_to`), and `render` adds up every worker's latest file, so any worker answers a scrape
for the whole server.
"""

from __future__ import annotations

import bisect
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["LATENCY_BUCKETS", "ROW_BUCKETS", "ServingMetrics"]

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class _Histogram:
    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value

    def state(self) -> dict[str, Any]:
        return {"counts": list(self.counts), "count": self.count, "sum": self.sum}


class ServingMetrics:
    """Counters and histograms of one worker; `render()` gives the whole server's exposition text."""

    def __init__(self, share_dir: Path | None = None, *, clock: Any = time.monotonic) -> None:
        self.share_dir = share_dir
        self._clock = clock
        self.requests: dict[tuple[str, str, str, str], int] = {}  # (endpoint, code, model version, variant)
        self.latency: dict[str, _Histogram] = {}
        self.rows = _Histogram(ROW_BUCKETS)
        self.batch_requests = _Histogram(ROW_BUCKETS)
        # the prediction log's counters once there is one (`PredictionLog.counters`)
        self.prediction_log: Mapping[str, int] = {"written": 0, "dropped": 0, "sampled_out": 0, "failed": 0}
        self.model: dict[str, str] = {}
        self._last_snapshot = 0.0

    def observe(
        self, endpoint: str, status: int, seconds: float, *, rows: int = 0, version: str = "", variant: str = "primary"
    ) -> None:
        key = (endpoint, str(status), version, variant)
        self.requests[key] = self.requests.get(key, 0) + 1
        hist = self.latency.get(endpoint)
        if hist is None:
            hist = self.latency[endpoint] = _Histogram(LATENCY_BUCKETS)
        hist.observe(seconds)
        if rows:
            self.rows.observe(rows)

    def observe_batches(self, sizes: dict[int, int]) -> None:
        """Fold in batch sizes counted by the micro-batcher since the last call (then clears them)."""
        for size, times in sizes.items():
            for _ in range(times):
                self.batch_requests.observe(size)
        sizes.clear()

    def state(self) -> dict[str, Any]:
        return {
            "requests": [[*k, v] for k, v in self.requests.items()],
            "latency": {k: h.state() for k, h in self.latency.items()},
            "rows": self.rows.state(),
            "batch_requests": self.batch_requests.state(),
            "prediction_log": dict(self.prediction_log),
            "model": dict(self.model),
        }

    def snapshot_to(self, *, force: bool = False) -> None:
        """Write this worker's counts for the others to read (at most once a second unless forced)."""
        if self.share_dir is None:
            return
        now = self._clock()
        if not force and now - self._last_snapshot < 1.0:
            return
        self._last_snapshot = now
        target = self.share_dir / f"{os.getpid()}.json"
        scratch = target.with_suffix(".tmp")
        try:
            scratch.write_text(json.dumps(self.state()))
            scratch.replace(target)
        except OSError:
            pass  # metrics never fail a request

    def _states(self) -> list[dict[str, Any]]:
        states = [self.state()]
        if self.share_dir is not None and self.share_dir.is_dir():
            own = f"{os.getpid()}.json"
            for path in self.share_dir.glob("*.json"):
                if path.name == own:
                    continue
                try:
                    states.append(json.loads(path.read_text()))
                except (OSError, ValueError):
                    continue
        return states

    def render(self) -> str:
        """The Prometheus text exposition (format 0.0.4) of every worker's counts, added up."""
        states = self._states()
        requests: dict[tuple[str, ...], int] = {}
        latency: dict[str, dict[str, Any]] = {}
        rows = _empty(ROW_BUCKETS)
        batches = _empty(ROW_BUCKETS)
        plog: dict[str, int] = {}
        model: dict[str, str] = {}
        for state in states:
            for *key, value in state["requests"]:
                requests[tuple(key)] = requests.get(tuple(key), 0) + value
            for endpoint, h in state["latency"].items():
                _add(latency.setdefault(endpoint, _empty(LATENCY_BUCKETS)), h)
            _add(rows, state["rows"])
            _add(batches, state["batch_requests"])
            for k, v in state["prediction_log"].items():
                plog[k] = plog.get(k, 0) + v
            model.update(state.get("model") or {})
        out: list[str] = []
        out.append("# HELP conveyor_requests_total Prediction requests answered, by endpoint and status code.")
        out.append("# TYPE conveyor_requests_total counter")
        for (endpoint, code, version, variant), value in sorted(requests.items()):
            out.append(
                f'conveyor_requests_total{{endpoint="{endpoint}",code="{code}",model_version="{version}",'
                f'variant="{variant}"}} {value}'
            )
        out.append("# HELP conveyor_request_errors_total Prediction requests answered with a 4xx or 5xx code.")
        out.append("# TYPE conveyor_request_errors_total counter")
        errors: dict[tuple[str, str], int] = {}
        for (endpoint, code, _, _), value in requests.items():
            if code[0] in "45":
                errors[(endpoint, code)] = errors.get((endpoint, code), 0) + value
        for (endpoint, code), value in sorted(errors.items()):
            out.append(f'conveyor_request_errors_total{{endpoint="{endpoint}",code="{code}"}} {value}')
        out.append("# HELP conveyor_request_duration_seconds Time from request received to response written.")
        out.append("# TYPE conveyor_request_duration_seconds histogram")
        for endpoint, h in sorted(latency.items()):
            out.extend(
                _histogram_lines("conveyor_request_duration_seconds", LATENCY_BUCKETS, h, f'endpoint="{endpoint}"')
            )
        out.append("# HELP conveyor_request_rows Rows per prediction request.")
        out.append("# TYPE conveyor_request_rows histogram")
        out.extend(_histogram_lines("conveyor_request_rows", ROW_BUCKETS, rows, ""))
        out.append("# HELP conveyor_batch_requests Requests scored together in one model call (micro-batching).")
        out.append("# TYPE conveyor_batch_requests histogram")
        out.extend(_histogram_lines("conveyor_batch_requests", ROW_BUCKETS, batches, ""))
        out.append("# HELP conveyor_prediction_log_total Prediction log records, by outcome.")
        out.append("# TYPE conveyor_prediction_log_total counter")
        for outcome, value in sorted(plog.items()):
            out.append(f'conveyor_prediction_log_total{{outcome="{outcome}"}} {value}')
        out.append("# HELP conveyor_model_info The model being served (value 1).")
        out.append("# TYPE conveyor_model_info gauge")
        labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(model.items()))
        out.append(f"conveyor_model_info{{{labels}}} 1")
        out.append(f"conveyor_workers {len(states)}")
        return "\n".join(out) + "\n"


def _empty(bounds: tuple[float, ...]) -> dict[str, Any]:
    return {"counts": [0] * (len(bounds) + 1), "count": 0, "sum": 0.0}


def _add(into: dict[str, Any], h: dict[str, Any]) -> None:
    into["counts"] = [a + b for a, b in zip(into["counts"], h["counts"], strict=True)]
    into["count"] += h["count"]
    into["sum"] += h["sum"]


def _histogram_lines(name: str, bounds: tuple[float, ...], h: dict[str, Any], labels: str) -> list[str]:
    sep = "," if labels else ""
    lines = []
    cumulative = 0
    for bound, count in zip(bounds, h["counts"], strict=False):
        cumulative += count
        lines.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {cumulative}')
    lines.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {h["count"]}')
    suffix = f"{{{labels}}}" if labels else ""
    lines.append(f"{name}_sum{suffix} {h['sum']}")
    lines.append(f"{name}_count{suffix} {h['count']}")
    return lines


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
