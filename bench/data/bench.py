"""Data benchmark: `conveyor datasets add` vs DuckDB's bare read_csv → Parquet copy, and the profile vs ydata-profiling.

Run from the repository root with the project venv (see bench/data/README.md):

    .venv/bin/python bench/data/bench.py [--repeat 50] [--runs 3] [--ydata $HOME/venvs/ydata/bin/python]

The input CSV (bank_marketing repeated `--repeat` times, 45,211 rows each) is generated under $TMPDIR, never in
the repository. Every timed step runs in a fresh process, alternating the two contenders, and the median is kept.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO.parent / "shared" / "datasets" / "bench" / "bank_marketing.csv.gz"
CONVEYOR = Path(sys.executable).parent / "conveyor"

DUCKDB_COPY = """
import sys, duckdb
duckdb.sql(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}')) TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd)")
"""

CONVEYOR_PROFILE = """
import sys, time
from pathlib import Path
from conveyor import data
parquet = Path(sys.argv[1])
ingest = data.ingest(parquet, parquet.with_name("again.parquet"))  # the schema ingest infers, as `add` sees it
start = time.perf_counter()
profile = data.profile(parquet, ingest.columns)
report = data.analyze(parquet, ingest.columns, profile)
print(time.perf_counter() - start)
"""

YDATA_PROFILE = """
import sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from ydata_profiling import ProfileReport
frame = pd.read_parquet(sys.argv[1])
start = time.perf_counter()
ProfileReport(frame, minimal=True, progress_bar=False).to_json()
print(time.perf_counter() - start)
"""


def make_csv(path: Path, repeat: int) -> int:
    """bank_marketing's rows `repeat` times under one header; returns the row count."""
    with gzip.open(SOURCE, "rt") as source:
        header = source.readline()
        body = source.read()
    rows = body.count("\n")
    with path.open("w") as out:
        out.write(header)
        for _ in range(repeat):
            out.write(body)
    return rows * repeat


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak resident memory (KiB) of a fresh process."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, int(done.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ydata", help="python of a venv with ydata-profiling (skipped when absent)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "conveyor-bench" / "data")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    csv = args.work / f"bank_marketing_x{args.repeat}.csv"
    rows = make_csv(csv, args.repeat) if not csv.exists() else None
    print(f"input: {csv} ({csv.stat().st_size / 2**20:.0f} MiB{f', {rows:,} rows' if rows else ''})")

    duck, conveyor, duck_rss, conveyor_rss = [], [], [], []
    for run in range(args.runs):
        target = args.work / "bare.parquet"
        seconds, rss = timed([sys.executable, "-c", DUCKDB_COPY, str(csv), str(target)])
        duck.append(seconds)
        duck_rss.append(rss)
        target.unlink()
        home = args.work / f"home-{run}"
        shutil.rmtree(home, ignore_errors=True)
        env = {**os.environ, "CONVEYOR_HOME": str(home)}
        seconds, rss = timed([str(CONVEYOR), "datasets", "add", str(csv), "--name", "bank"], env=env)
        conveyor.append(seconds)
        conveyor_rss.append(rss)
        print(f"run {run + 1}: duckdb copy {duck[-1]:.2f} s, conveyor datasets add {conveyor[-1]:.2f} s", flush=True)
    stored = next((args.work / "home-0" / "artifacts").rglob("*.parquet"))
    result = {
        "rows": rows,
        "duckdb_copy_s": statistics.median(duck),
        "conveyor_add_s": statistics.median(conveyor),
        "add_over_copy": statistics.median(conveyor) / statistics.median(duck),
        "duckdb_peak_rss_mib": max(duck_rss) / 1024,
        "conveyor_peak_rss_mib": max(conveyor_rss) / 1024,
    }
    ours = [
        float(
            subprocess.run(
                [sys.executable, "-c", CONVEYOR_PROFILE, str(stored)], capture_output=True, text=True, check=True
            ).stdout.split()[-1]
        )
        for _ in range(args.runs)
    ]
    result["conveyor_profile_s"] = statistics.median(ours)
    if args.ydata and Path(args.ydata).exists():
        theirs = subprocess.run(
            [args.ydata, "-c", YDATA_PROFILE, str(stored)], capture_output=True, text=True, check=False
        )
        if theirs.returncode == 0:
            result["ydata_minimal_s"] = float(theirs.stdout.split()[-1])
            result["ydata_over_conveyor"] = result["ydata_minimal_s"] / result["conveyor_profile_s"]
        else:
            print(theirs.stderr[-2000:])
    for home in args.work.glob("home-*"):
        shutil.rmtree(home, ignore_errors=True)
    result["load_average"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
