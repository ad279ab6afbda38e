"""Time one single-row request inside the inference app, as `conveyor serve` builds it, without HTTP.

The app comes from the workers' own factory on the harness model (compiled), and requests are handed
to it as uvicorn hands them over one connection: one per event-loop turn. The figure is the time per
request minus the same loop with no request (5 rounds of 5,000; min and median). `--profile` adds
cProfile's table of one more round. For an A/B run it with `PYTHONPATH=OTHER/src` in turn.

    .venv/bin/python bench/serving/app_time.py [--profile] [--protocols v2,invocations]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

MODEL_DIR = Path(os.environ.get("MODEL_DIR", "/tmp/conveyor-bench/serving-model"))
PATHS = {"v2": "/v2/models/demo-lgbm/infer", "invocations": "/invocations"}


def build_app():
    from conveyor.bootstrap import build_services
    from conveyor.entrypoints.inference import worker

    options = {
        "metrics_dir": tempfile.mkdtemp(prefix="conveyor-metrics-"),
        "compile_cache": str(build_services().settings.home / "cache" / "compiled"),
    }
    os.environ[worker.MODEL_VARIABLE] = str(MODEL_DIR / "mlflow" / "demo-lgbm")
    os.environ[worker.NAME_VARIABLE] = "demo-lgbm"
    os.environ[worker.OPTIONS_VARIABLE] = json.dumps(options)
    return worker.app_from_environment()


async def requests(app, protocol: str, n: int, *, call: bool = True) -> list[dict]:
    body = (MODEL_DIR / "payloads" / f"{protocol}_single.json").read_bytes()
    path = PATHS[protocol]
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "asgi": {"version": "3.0"},
        "extensions": {},
    }
    message = {"type": "http.request", "body": body, "more_body": False}
    sent: list[dict] = []

    async def receive() -> dict:
        return message

    async def send(event: dict) -> None:
        sent[:] = [*sent[-1:], event]

    for _ in range(n):
        if call:
            await app(dict(scope), receive, send)
        await asyncio.sleep(0)  # the next request comes in a later loop turn, as over one connection
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocols", default="v2,invocations")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    import uvloop

    app = build_app()
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    n = args.requests
    for protocol in args.protocols.split(","):
        loop.run_until_complete(requests(app, protocol, n))  # warm-up
        times = []
        for _ in range(5):
            started = time.perf_counter()
            sent = loop.run_until_complete(requests(app, protocol, n))
            with_app = time.perf_counter() - started
            started = time.perf_counter()
            loop.run_until_complete(requests(app, protocol, n, call=False))
            times.append((with_app - (time.perf_counter() - started)) / n * 1e6)
        status = sent[0]["status"]
        print(
            f"{protocol}: {min(times):.1f} / {statistics.median(times):.1f} us per request in the app "
            f"(min / median of 5 x {n}); status {status}; load {os.getloadavg()[0]:.2f}"
        )
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            loop.run_until_complete(requests(app, protocol, n))
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
