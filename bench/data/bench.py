"""Data benchmark: `conveyor datasets add` vs DuckDB's bare read_csv → Parquet copy, and the profile vs ydata-profiling.

Run from the repository root with the project venv (see bench/data/README.md):

    .venv/bin/python bench/data/bench.py [--repeat 50] [--runs 3] [--ydata $HOME/venvs/ydata/bin/python]
                                         [--ydata-runs 3]
    .venv/bin/python bench/data/bench.py --larger-than-memory 500 --memory-limit 256MB

The input CSV (bank_marketing repeated `--repeat` times, 45,211 rows each) is generated under $TMPDIR, never in
the repository. Every timed step runs in a fresh process, alternating the two contenders, and the median is kept.
Besides wall time, each process's CPU time (user + system) is kept: on a shared machine it moves less with the
neighbours' load than wall time does.

`--larger-than-memory N` instead ingests bank_marketing × N once with DuckDB held to `--memory-limit`
(`CONVEYOR_DATA_MEMORY_LIMIT`) and reports the process's peak resident memory next to the file's size.
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

# Both profile timings in one process: the full profile (nothing reused), and the profile as `add` runs it, reusing
# the statistics pass (value counts included) and duplicate count that ingest made while typing the columns.
CONVEYOR_PROFILE = """
import sys, time
from pathlib import Path
from conveyor import data
parquet = Path(sys.argv[1])
ingest = data.ingest(parquet, parquet.with_name("again.parquet"))  # the schema ingest infers, as `add` sees it
start = time.perf_counter()
profile = data.profile(parquet, ingest.columns)
report = data.analyze(parquet, ingest.columns, profile)
full = time.perf_counter() - start
start = time.perf_counter()
profile = data.profile(parquet, ingest.columns, ingest.stats)
report = data.analyze(parquet, ingest.columns, profile, duplicate_rows=ingest.duplicate_rows)
print(full, time.perf_counter() - start)
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


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, float]:
    """Wall seconds, peak resident memory (KiB) and CPU seconds (user + system) of a fresh process."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M %U %S", *command], capture_output=True, text=True, env=env, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stdout}\n{done.stderr}")
    rss, user, system = done.stderr.strip().splitlines()[-1].split()
    return seconds, int(rss), float(user) + float(system)


def larger_than_memory(args: argparse.Namespace) -> None:
    """`conveyor datasets add` of bank_marketing × N with DuckDB held to `--memory-limit`: peak RSS vs file size."""
    csv = args.work / f"bank_marketing_x{args.larger_than_memory}.csv"
    rows = make_csv(csv, args.larger_than_memory) if not csv.exists() else None
    home = args.work / "home-big"
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "CONVEYOR_HOME": str(home), "CONVEYOR_DATA_MEMORY_LIMIT": args.memory_limit}
    seconds, rss, cpu = timed([str(CONVEYOR), "datasets", "add", str(csv), "--name", "big"], env=env)
    stored = sum(p.stat().st_size for p in (home / "artifacts").rglob("*.parquet"))
    shutil.rmtree(home, ignore_errors=True)
    result = {
        "rows": rows,
        "csv_mib": csv.stat().st_size / 2**20,
        "parquet_mib": stored / 2**20,
        "memory_limit": args.memory_limit,
        "conveyor_add_s": seconds,
        "conveyor_add_cpu_s": cpu,
        "conveyor_peak_rss_mib": rss / 1024,
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ydata", help="python of a venv with ydata-profiling (skipped when absent)")
    parser.add_argument("--ydata-runs", type=int, default=3, help="ydata-profiling runs; the median is reported")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "conveyor-bench" / "data")
    parser.add_argument("--larger-than-memory", type=int, metavar="N", help="ingest bank_marketing x N instead")
    parser.add_argument("--memory-limit", default="256MB", help="DuckDB's memory with --larger-than-memory")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.larger_than_memory:
        larger_than_memory(args)
        return
    csv = args.work / f"bank_marketing_x{args.repeat}.csv"
    rows = make_csv(csv, args.repeat) if not csv.exists() else None
    print(f"input: {csv} ({csv.stat().st_size / 2**20:.0f} MiB{f', {rows:,} rows' if rows else ''})")

    duck, conveyor, duck_rss, conveyor_rss, duck_cpu, conveyor_cpu = [], [], [], [], [], []
    for run in range(args.runs):
        target = args.work / "bare.parquet"
        seconds, rss, cpu = timed([sys.executable, "-c", DUCKDB_COPY, str(csv), str(target)])
        duck.append(seconds)
        duck_rss.append(rss)
        duck_cpu.append(cpu)
        target.unlink()
        home = args.work / f"home-{run}"
        shutil.rmtree(home, ignore_errors=True)
        env = {**os.environ, "CONVEYOR_HOME": str(home)}
        seconds, rss, cpu = timed([str(CONVEYOR), "datasets", "add", str(csv), "--name", "bank"], env=env)
        conveyor.append(seconds)
        conveyor_rss.append(rss)
        conveyor_cpu.append(cpu)
        print(
            f"run {run + 1}: duckdb copy {duck[-1]:.2f} s ({duck_cpu[-1]:.2f} s CPU), "
            f"conveyor datasets add {conveyor[-1]:.2f} s ({conveyor_cpu[-1]:.2f} s CPU), load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    stored = next((args.work / "home-0" / "artifacts").rglob("*.parquet"))
    result = {
        "rows": rows,
        "duckdb_copy_s": statistics.median(duck),
        "conveyor_add_s": statistics.median(conveyor),
        "add_over_copy": statistics.median(conveyor) / statistics.median(duck),
        "duckdb_copy_cpu_s": statistics.median(duck_cpu),
        "conveyor_add_cpu_s": statistics.median(conveyor_cpu),
        "add_over_copy_cpu": statistics.median(conveyor_cpu) / statistics.median(duck_cpu),
        "duckdb_peak_rss_mib": max(duck_rss) / 1024,
        "conveyor_peak_rss_mib": max(conveyor_rss) / 1024,
    }
    ours = [
        subprocess.run(
            [sys.executable, "-c", CONVEYOR_PROFILE, str(stored)], capture_output=True, text=True, check=True
        ).stdout.split()[-2:]
        for _ in range(args.runs)
    ]
    result["conveyor_profile_s"] = statistics.median(float(full) for full, _ in ours)
    result["conveyor_profile_in_add_s"] = statistics.median(float(reused) for _, reused in ours)
    if args.ydata and Path(args.ydata).exists():
        # ydata-profiling's time swings with the neighbours' load (6.4-13.8 s in single runs here): a median.
        timings = []
        for _ in range(args.ydata_runs):
            theirs = subprocess.run(
                [args.ydata, "-c", YDATA_PROFILE, str(stored)], capture_output=True, text=True, check=False
            )
            if theirs.returncode != 0:
                print(theirs.stderr[-2000:])
                break
            timings.append(float(theirs.stdout.split()[-1]))
        else:
            result["ydata_minimal_runs_s"] = timings
            result["ydata_minimal_s"] = statistics.median(timings)
            result["ydata_over_conveyor"] = result["ydata_minimal_s"] / result["conveyor_profile_s"]
            result["ydata_over_conveyor_in_add"] = result["ydata_minimal_s"] / result["conveyor_profile_in_add_s"]
    for home in args.work.glob("home-*"):
        shutil.rmtree(home, ignore_errors=True)
    result["load_average"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
