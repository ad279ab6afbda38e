"""Fold executors side by side: the same trials in-process and in local worker processes, wall time each.

Usage: .venv/bin/python bench/automl_executors.py [--trials 6] [--workers 2] DATASET...
(DATASET names from ../shared/datasets/bench/manifest.json). Prints one line per dataset and executor
with the load average; run under `flock /tmp/conveyor-bench.lock`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import pandas as pd

from conveyor.automl import run_automl
from conveyor.automl.executors import InProcessExecutor, LocalProcessExecutor

BENCH = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    manifest = {d["name"]: d for d in json.loads((BENCH / "manifest.json").read_text())}
    for name in args.datasets:
        entry = manifest[name]
        frame = pd.read_csv(BENCH / entry["file"])
        task = None if entry["task"] == "classification" else entry["task"]
        for label, make in (
            ("in-process", InProcessExecutor),
            (f"{args.workers} processes", lambda: LocalProcessExecutor(args.workers)),
        ):
            load = os.getloadavg()[0]
            started = time.monotonic()
            with make() as executor:
                result = run_automl(frame, entry["target"], task=task, max_trials=args.trials, executor=executor)
            seconds = time.monotonic() - started
            print(
                f"{name:20s} {label:12s} {seconds:6.1f} s  best {result.best.family} {result.best.cv_mean:.5f}"
                f"  load {load:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
