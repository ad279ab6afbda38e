"""Where the one-connection latency tail comes from: per-request stage times inside the server beside wrk's.

Serves the harness model in this process as `conveyor serve` does (the same worker factory, uvicorn with
httptools and uvloop), drives it with wrk over ONE connection (wrk pinned to CPU 1, as the harness does),
and prints, for the measured run:

- wrk's p50/p99 (what the benchmark reports);
- per request, the server's own time: from the bytes read (uvicorn's `data_received`) to the response
  written, split into uvicorn's parsing before the app runs, the app, and the model call;
- the gap between one response written and the next request read (wrk's turn plus both wake-ups);
- garbage collections (count, longest) and how many slow requests had one;
- the server thread's and wrk's CPU, run-queue wait and involuntary context switches over the window,
  and the time the hypervisor took the virtual CPUs away (steal).

A request is "slow" when its wrk-visible latency would exceed the bar, so the split of the requests over
1 ms of server time, and of the gaps over 1 ms, tells where the 1 % slowest spend their time.

With `--serve` it measures `conveyor serve` itself instead (started as its own process group, as the
harness starts it; `CONVEYOR_BIN` and `CONVEYOR_ARGS` as in `start_server.sh`): wrk's figures, and CPU,
run-queue wait, involuntary switches and scheduler slice of the main thread (the event loop) of each of its
processes. With it, `--busy N` runs N busy-loop processes beside it, unpinned, from before the warm-up to the end.

Usage: .venv/bin/python bench/serving/tail.py [--seconds 15] [--payload single|batch100] [--protocol v2|invocations]
       [--port 18351] [--connections 1] [--perf SECONDS] [--slice-us N] [--server-args JSON]
       [--serve [--workers N] [--label TEXT]] [--busy N]
Run it under `flock /tmp/conveyor-bench.lock`. Needs the harness model (bench/serving.sh writes it).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MODEL_DIR = Path(os.environ.get("MODEL_DIR", "/tmp/conveyor-bench/serving-model"))
LUA = REPO.parent / "shared" / "bench" / "serving" / "post.lua"


def _threads(pid: int) -> list[int]:
    return [int(t) for t in os.listdir(f"/proc/{pid}/task")]


def _schedstat(tids: list[int]) -> tuple[int, int]:
    """CPU time and run-queue wait (ns) summed over the threads."""
    cpu = wait = 0
    for tid in tids:
        fields = Path(f"/proc/{tid}/schedstat").read_text().split()
        cpu, wait = cpu + int(fields[0]), wait + int(fields[1])
    return cpu, wait


def _involuntary(tids: list[int]) -> int:
    total = 0
    for tid in tids:
        for line in Path(f"/proc/{tid}/status").read_text().splitlines():
            if line.startswith("nonvoluntary_ctxt_switches"):
                total += int(line.split()[1])
    return total


def _set_slice(nanoseconds: int) -> None:
    """sched_setattr(2) with a custom slice for this thread (Linux 6.12+ EEVDF): a shorter one preempts on wake-up."""
    import ctypes

    class Attr(ctypes.Structure):
        _fields_ = [
            ("size", ctypes.c_uint32), ("policy", ctypes.c_uint32), ("flags", ctypes.c_uint64),
            ("nice", ctypes.c_int32), ("priority", ctypes.c_uint32), ("runtime", ctypes.c_uint64),
            ("deadline", ctypes.c_uint64), ("period", ctypes.c_uint64), ("util_min", ctypes.c_uint32),
            ("util_max", ctypes.c_uint32),
        ]  # fmt: skip

    attr = Attr(size=ctypes.sizeof(Attr), runtime=nanoseconds)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(314, 0, ctypes.byref(attr), 0) != 0:  # SYS_sched_setattr on x86-64
        raise OSError(ctypes.get_errno(), "sched_setattr")


def _scheduler_delays(perf_file: Path, watched: dict[int, str]) -> list[str]:
    """From `perf sched timehist`: how long each watched thread waited to run after its wake-ups, and for whom."""
    import collections

    import numpy as np

    text = subprocess.run(
        ["perf", "sched", "timehist", "-i", str(perf_file)], capture_output=True, text=True, check=True
    ).stdout
    delays: dict[str, list[float]] = collections.defaultdict(list)
    culprits: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    last_out: dict[str, str] = {}  # cpu -> the task switched out last there (it ran while we waited)
    placement: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)  # ms run per CPU
    for line in text.splitlines()[3:]:
        parts = line.split()
        if len(parts) < 6 or not parts[1].startswith("["):
            continue
        cpu, task = parts[1], " ".join(parts[2:-3])
        if "[" not in task:
            continue
        tid = int(task.rsplit("[", 1)[1].split("]")[0].split("/")[0])
        delay = float(parts[-2])
        name = watched.get(tid)
        if name is not None:
            delays[name].append(delay)
            placement[name][cpu] += float(parts[-1])
            if delay > 0.5:
                culprits[name][last_out.get(cpu, "?")] += 1
        last_out[cpu] = task.rsplit("[", 1)[0]
    lines = []
    for name, values in delays.items():
        a = np.asarray(values)
        top = ", ".join(f"{task} {n}" for task, n in culprits[name].most_common(4))
        lines.append(
            f"{name}: {len(a)} switches in, scheduling delay p50 {np.median(a):.3f} p99 {np.percentile(a, 99):.3f} "
            f"max {a.max():.3f} ms; over 0.5 ms {int((a > 0.5).sum())}, over 1 ms {int((a > 1).sum())}"
            + (f"; ran before those: {top}" if top else "")
            + "; ran on "
            + ", ".join(f"CPU {int(c.strip('[]'))} {ms:.0f} ms" for c, ms in sorted(placement[name].items()))
        )
    return lines


def _steal_ms() -> float:
    """Time the hypervisor ran something else on this machine's virtual CPUs, all CPUs added up."""
    ticks = int(Path("/proc/stat").read_text().split("\n", 1)[0].split()[8])
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def _percentiles(values_ns: list[int]) -> str:
    import numpy as np

    if not values_ns:
        return "none"
    a = np.asarray(values_ns) / 1e6
    p50, p90, p99, p999 = np.percentile(a, [50, 90, 99, 99.9])
    return f"p50 {p50:.3f}  p90 {p90:.3f}  p99 {p99:.3f}  p99.9 {p999:.3f}  max {a.max():.3f} ms"


def _descendants(pid: int) -> list[int]:
    found = []
    for tid in _threads(pid):
        for child in Path(f"/proc/{pid}/task/{tid}/children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found


def _sched_field(pid: int, name: str) -> float:
    """A field of /proc/PID/sched of the main thread (se.slice in ns, se.nr_migrations, ...)."""
    for line in Path(f"/proc/{pid}/task/{pid}/sched").read_text().splitlines():
        if line.startswith(name + " "):
            return float(line.split(":")[1])
    return float("nan")


def _wrk(args: argparse.Namespace, seconds: int) -> subprocess.Popen[str]:
    path = "/v2/models/demo-lgbm/infer" if args.protocol == "v2" else "/invocations"
    body = MODEL_DIR / "payloads" / f"{args.protocol}_{args.payload}.json"
    return subprocess.Popen(
        ["taskset", "-c", "1", "wrk", "-t", "1", "-c", str(args.connections), "-d", f"{seconds}s", "-s", str(LUA),
         f"http://127.0.0.1:{args.port}{path}", "--", str(body)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def serve_and_measure(args: argparse.Namespace) -> None:
    """wrk against `conveyor serve` in its own process group, with the scheduler counters of its processes."""
    command = [
        *shlex.split(os.environ.get("CONVEYOR_BIN", str(REPO / ".venv" / "bin" / "conveyor"))),
        "serve", str(MODEL_DIR / "mlflow" / "demo-lgbm"), "--name", "demo-lgbm", "--port", str(args.port),
        "--workers", str(args.workers), *shlex.split(os.environ.get("CONVEYOR_ARGS", "")),
    ]  # fmt: skip
    server = subprocess.Popen(command, start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    busy: list[subprocess.Popen[bytes]] = []
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the server exited ({server.returncode}): {shlex.join(command)}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/v2/health/ready", timeout=1).read()
                break
            except OSError:
                time.sleep(0.3)
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
        _wrk(args, 3).communicate()
        processes = [server.pid, *_descendants(server.pid)]
        load_before = Path("/proc/loadavg").read_text().split()[0]
        steal_before = _steal_ms()

        def counters(pid: int) -> tuple[tuple[int, int], int, float]:
            return _schedstat([pid]), _involuntary([pid]), _sched_field(pid, "se.nr_migrations")

        before = {pid: counters(pid) for pid in processes}
        started = time.perf_counter()
        wrk_process = _wrk(args, args.seconds)
        time.sleep(0.5)
        wrk_tids = _threads(wrk_process.pid)
        wrk_before = (_schedstat(wrk_tids), time.perf_counter())
        time.sleep(max(0.0, args.seconds - 1.0))
        wrk_after = (_schedstat(wrk_tids), time.perf_counter())
        output, _ = wrk_process.communicate()
        span = time.perf_counter() - started
        after = {pid: counters(pid) for pid in processes}
        steal = _steal_ms() - steal_before
        load_after = Path("/proc/loadavg").read_text().split()[0]
        slices = {pid: _sched_field(pid, "se.slice") / 1e6 for pid in processes}
    finally:
        for process in busy:
            process.kill()
            process.wait()
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    wrk = json.loads(next(line for line in output.splitlines() if line.startswith("WRKJSON")).split(" ", 1)[1])
    errors = sum(wrk[k] for k in ("err_connect", "err_read", "err_write", "err_status", "err_timeout"))
    print(
        f"RESULT {args.label or '-'} | {args.workers}w {args.protocol} {args.payload} {args.connections}c"
        f" busy={args.busy}"
        f" | {wrk['requests'] / wrk['duration_us'] * 1e6:.0f} req/s  p50 {wrk['p50_us'] / 1000:.3f}"
        f"  p90 {wrk['p90_us'] / 1000:.3f}  p99 {wrk['p99_us'] / 1000:.3f}  p99.9 {wrk['p999_us'] / 1000:.3f}"
        f"  max {wrk['lat_max_us'] / 1000:.3f} ms  errors {errors} | load {load_before}->{load_after}"
        f"  steal {steal:.0f} ms"
    )
    (wrk_cpu0, wrk_wait0), wrk_t0 = wrk_before
    (wrk_cpu1, wrk_wait1), wrk_t1 = wrk_after
    print(
        f"  wrk: CPU {(wrk_cpu1 - wrk_cpu0) / 1e7 / (wrk_t1 - wrk_t0):.0f} %, "
        f"run-queue wait {(wrk_wait1 - wrk_wait0) / 1e7 / (wrk_t1 - wrk_t0):.1f} %"
    )
    for pid in processes:
        (cpu0, wait0), inv0, moves0 = before[pid]
        (cpu1, wait1), inv1, moves1 = after[pid]
        if (cpu1 - cpu0) / 1e7 / span < 1:  # the resource tracker, an idle writer: nothing to say
            continue
        print(
            f"  pid {pid} main thread: CPU {(cpu1 - cpu0) / 1e7 / span:.0f} %, run-queue wait "
            f"{(wait1 - wait0) / 1e7 / span:.1f} %, involuntary switches {(inv1 - inv0) / span:.0f}/s, "
            f"CPU migrations {(moves1 - moves0) / span:.0f}/s, slice {slices[pid]:.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--payload", default="single", choices=["single", "batch100"])
    parser.add_argument("--protocol", default="v2", choices=["v2", "invocations"])
    parser.add_argument("--port", type=int, default=18351)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--perf", type=float, default=0, help="record scheduler events this many seconds (perf sched)")
    parser.add_argument("--slice-us", type=int, default=0, help="ask the kernel for this scheduler slice (EEVDF)")
    parser.add_argument("--server-args", default="{}", help="JSON of extra ServeOptions, e.g. a prediction log")
    parser.add_argument("--serve", action="store_true", help="measure `conveyor serve` in its own processes")
    parser.add_argument("--workers", type=int, default=1, help="with --serve: worker processes")
    parser.add_argument("--label", default="", help="with --serve: a name for the RESULT line")
    parser.add_argument("--busy", type=int, default=0, help="with --serve: busy-loop processes beside it")
    args = parser.parse_args()
    if args.serve:
        serve_and_measure(args)
        return

    import uvicorn
    from uvicorn.protocols.http import httptools_impl

    from conveyor.bootstrap import build_services
    from conveyor.entrypoints.inference import worker

    metrics_dir = tempfile.mkdtemp(prefix="conveyor-tail-metrics-")
    options = {
        "metrics_dir": metrics_dir,
        "compile_cache": str(build_services().settings.home / "cache" / "compiled"),
        **json.loads(args.server_args),
    }
    os.environ[worker.MODEL_VARIABLE] = str(MODEL_DIR / "mlflow" / "demo-lgbm")
    os.environ[worker.NAME_VARIABLE] = "demo-lgbm"
    os.environ[worker.OPTIONS_VARIABLE] = json.dumps(options)
    app = worker.app_from_environment()

    # Stage stamps (perf_counter_ns). One connection: the latest read belongs to the request in flight.
    stamps: dict[str, int] = {"read": 0, "written": 0}
    rows: list[tuple[int, int, int, int, int, int]] = []  # read, app start, model start, model end, written, gap
    model_call = {"start": 0, "end": 0}
    gcs: list[tuple[int, int, int]] = []  # start, end, generation
    gc_started = [0]
    recording = threading.Event()

    original_received = httptools_impl.HttpToolsProtocol.data_received

    def data_received(self, data: bytes) -> None:  # type: ignore[no-untyped-def]
        stamps["read"] = time.perf_counter_ns()
        original_received(self, data)

    httptools_impl.HttpToolsProtocol.data_received = data_received  # type: ignore[method-assign]

    batcher = app.runtime.batcher
    if batcher is not None:
        predict = batcher._predict

        def timed_predict(matrix):  # type: ignore[no-untyped-def]
            model_call["start"] = time.perf_counter_ns()
            try:
                return predict(matrix)
            finally:
                model_call["end"] = time.perf_counter_ns()

        batcher._predict = timed_predict

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter_ns()
        elif recording.is_set():
            gcs.append((gc_started[0], time.perf_counter_ns(), info["generation"]))

    gc.callbacks.append(on_gc)

    async def timed_app(scope, receive, send):  # type: ignore[no-untyped-def]
        read = stamps["read"]
        app_start = time.perf_counter_ns()
        await app(scope, receive, send)
        written = time.perf_counter_ns()
        if recording.is_set() and scope["type"] == "http" and scope["method"] == "POST":
            gap = read - stamps["written"] if stamps["written"] else 0
            rows.append((read, app_start, model_call["start"], model_call["end"], written, gap))
        stamps["written"] = written

    if args.slice_us:
        _set_slice(args.slice_us * 1000)

    config = uvicorn.Config(
        timed_app,
        host="127.0.0.1",
        port=args.port,
        http="httptools",
        loop="uvloop",
        access_log=False,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    report: dict[str, object] = {}

    def drive() -> None:
        url = (
            f"http://127.0.0.1:{args.port}/v2/models/demo-lgbm/infer"
            if args.protocol == "v2"
            else f"http://127.0.0.1:{args.port}/invocations"
        )
        body = MODEL_DIR / "payloads" / f"{args.protocol}_{args.payload}.json"
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/v2/health/ready", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        wrk = ["taskset", "-c", "1", "wrk", "-t", "1", "-c", str(args.connections)]
        subprocess.run([*wrk, "-d", "3s", "-s", str(LUA), url, "--", str(body)], capture_output=True, check=True)
        process = subprocess.Popen(
            [*wrk, "-d", f"{args.seconds}s", "-s", str(LUA), url, "--", str(body)], stdout=subprocess.PIPE, text=True
        )
        recording.set()
        server_tid = [os.getpid()]  # the event loop runs on the main thread
        steal_before = _steal_ms()
        before = (_schedstat(server_tid), _involuntary(server_tid), time.perf_counter_ns())
        time.sleep(0.5)
        wrk_tids = _threads(process.pid)  # wrk's main thread and its one worker thread
        wrk_before = (_schedstat(wrk_tids), _involuntary(wrk_tids))
        if args.perf:
            perf_file = Path(metrics_dir) / "perf.data"
            subprocess.run(
                ["perf", "sched", "record", "-a", "-o", str(perf_file), "--", "sleep", str(args.perf)],
                capture_output=True,
                check=True,
            )
        time.sleep(max(0.0, args.seconds - 1.0 - (time.perf_counter_ns() - before[2]) / 1e9))
        after = (_schedstat(server_tid), _involuntary(server_tid), time.perf_counter_ns())
        report["steal_ms"] = _steal_ms() - steal_before
        wrk_after = (_schedstat(wrk_tids), _involuntary(wrk_tids))
        output, _ = process.communicate()
        recording.clear()
        if args.perf:  # read after wrk's run: parsing takes a while
            report["perf"] = _scheduler_delays(perf_file, {os.getpid(): "server", **dict.fromkeys(wrk_tids, "wrk")})
        report["wrk"] = json.loads(
            next(line for line in output.splitlines() if line.startswith("WRKJSON")).split(" ", 1)[1]
        )
        report["server"] = (before, after)
        report["wrk_sched"] = (wrk_before, wrk_after)
        report["threads"] = sorted(Path(f"/proc/{t}/comm").read_text().strip() for t in _threads(os.getpid()))
        server.should_exit = True

    def drive_then_stop() -> None:
        try:
            drive()
        finally:  # a failed measurement still stops the server
            server.should_exit = True

    threading.Thread(target=drive_then_stop, daemon=True).start()
    load_before = Path("/proc/loadavg").read_text().split()[0]
    server.run()

    wrk = report["wrk"]
    (cpu0, wait0), inv0, t0 = report["server"][0]
    (cpu1, wait1), inv1, t1 = report["server"][1]
    span = (t1 - t0) / 1e9
    (wcpu0, wwait0), winv0 = report["wrk_sched"][0]
    (wcpu1, wwait1), winv1 = report["wrk_sched"][1]
    wspan = span - 0.5
    print(
        f"{args.protocol} {args.payload}, {args.connections} connection(s), {args.seconds} s, "
        f"load before {load_before}, after {Path('/proc/loadavg').read_text().split()[0]}"
    )
    print(
        f"wrk: {wrk['requests'] / wrk['duration_us'] * 1e6:.0f} req/s  p50 {wrk['p50_us'] / 1000:.3f}  "
        f"p90 {wrk['p90_us'] / 1000:.3f}  p99 {wrk['p99_us'] / 1000:.3f}  p99.9 {wrk['p999_us'] / 1000:.3f}  "
        f"max {wrk['lat_max_us'] / 1000:.3f} ms"
    )
    n = len(rows)
    print(f"requests recorded in the server: {n}")
    print("server, read -> written:   " + _percentiles([r[4] - r[0] for r in rows]))
    print("  parse, read -> app:      " + _percentiles([r[1] - r[0] for r in rows]))
    print("  app, start -> written:   " + _percentiles([r[4] - r[1] for r in rows]))
    if rows and rows[0][2]:
        print("  model call:              " + _percentiles([r[3] - r[2] for r in rows]))
    if args.connections == 1:
        print("gap, written -> next read: " + _percentiles([r[5] for r in rows if r[5] > 0]))
        slow_server = [r for r in rows if r[4] - r[0] > 1_000_000]
        slow_gap = [r for r in rows if r[5] > 1_000_000]
        print(
            f"requests over 1 ms in the server: {len(slow_server)} ({100 * len(slow_server) / max(n, 1):.2f} %); "
            f"gaps over 1 ms: {len(slow_gap)} ({100 * len(slow_gap) / max(n, 1):.2f} %)"
        )
        with_gc = sum(1 for r in slow_server if any(s < r[4] and e > r[0] for s, e, _ in gcs))
        print(f"  slow in the server with a GC inside: {with_gc}")
    by_gen: dict[int, list[int]] = {}
    for s, e, g in gcs:
        by_gen.setdefault(g, []).append(e - s)
    for g, durations in sorted(by_gen.items()):
        print(
            f"GC generation {g}: {len(durations)} collections, longest {max(durations) / 1e6:.3f} ms, "
            f"over 0.5 ms: {sum(d > 500_000 for d in durations)}"
        )
    print(
        f"server thread: CPU {(cpu1 - cpu0) / 1e7 / span:.0f} %, run-queue wait {(wait1 - wait0) / 1e7 / span:.1f} %, "
        f"involuntary switches {inv1 - inv0} ({(inv1 - inv0) / span:.0f}/s)"
    )
    print(
        f"wrk: CPU {(wcpu1 - wcpu0) / 1e7 / wspan:.0f} %, run-queue wait {(wwait1 - wwait0) / 1e7 / wspan:.1f} %, "
        f"involuntary switches {winv1 - winv0} ({(winv1 - winv0) / wspan:.0f}/s)"
    )
    for line in report.get("perf", []):
        print("perf sched, " + line)
    print(f"steal (hypervisor) over the window, both CPUs: {report['steal_ms']:.0f} ms in {span:.1f} s")
    print(f"server threads: {', '.join(report['threads'])}")


if __name__ == "__main__":
    main()
