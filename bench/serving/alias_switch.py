"""Alias switch under load: a deployment of NAME@champion keeps answering while champion moves.

Registers the harness model twice (versions 1 and 2) in a scratch workspace, deploys `demo-lgbm@champion`
with `--follow 1`, runs wrk with 16 connections for DURATION seconds, moves `champion` to version 2
halfway, and reports wrk's failures (must be 0) and the version answering at the end (must be 2).

    .venv/bin/python bench/serving/alias_switch.py [--duration 30] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(os.environ.get("MODEL_DIR", "/tmp/conveyor-bench/serving-model"))
LUA = REPO.parent / "shared" / "bench" / "serving" / "post.lua"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    from conveyor.adapters.tracking import MlflowTracker
    from conveyor.bootstrap import build_services
    from conveyor.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="conveyor-alias-switch-"))
    settings = Settings.for_home(home)
    tracker = MlflowTracker(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    source = str(MODEL_DIR / "mlflow" / "demo-lgbm")
    for _ in range(2):
        tracker.register_model("demo-lgbm", source=source, run_id=None, tags={})  # type: ignore[arg-type]
    tracker.set_alias("demo-lgbm", "champion", 1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    service = build_services(settings).deployments
    deployment = service.deploy("demo-lgbm@champion", "bench", port=port, workers=args.workers, follow_seconds=1.0)
    print(f"deployed {deployment.model} v{deployment.model_version} at {deployment.url} ({deployment.status})")
    try:
        url = f"{deployment.url}/v2/models/demo-lgbm/infer"
        body = MODEL_DIR / "payloads" / "v2_single.json"
        switch = threading.Timer(args.duration / 2, lambda: tracker.set_alias("demo-lgbm", "champion", 2))
        switch.start()
        started = time.monotonic()
        wrk = subprocess.run(
            ["wrk", "-t", "1", "-c", "16", "-d", f"{args.duration}s", "-s", str(LUA), url, "--", str(body)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        switch.join()
        line = next(x for x in wrk.stdout.splitlines() if x.startswith("WRKJSON"))
        stats = json.loads(line.split(" ", 1)[1])
        errors = sum(stats[k] for k in ("err_status", "err_connect", "err_read", "err_write", "err_timeout"))
        with urllib.request.urlopen(f"{deployment.url}/v2/models/demo-lgbm") as response:
            serving = json.loads(response.read())["versions"][0]
        print(
            f"alias switch at {args.duration / 2:.0f} s of {time.monotonic() - started:.0f} s under 16 connections: "
            f"{stats['requests']} requests, {errors} failed, p99 {stats['p99_us'] / 1000:.2f} ms, "
            f"now serving version {serving}; load {os.getloadavg()[0]:.2f}"
        )
        return 0 if errors == 0 and serving == "2" else 1
    finally:
        service.stop("bench")


if __name__ == "__main__":
    sys.exit(main())
