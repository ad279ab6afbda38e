#!/usr/bin/env bash
# Soak: `conveyor serve` on the harness model under 16 connections for SOAK_SECONDS (default 300).
# Passes when wrk sees zero non-2xx / socket errors and the server's RSS (process group) grows < 10 %
# between the end of a 20 s warm-up and the end of the run.
# Usage: bench/serving/soak.sh [WORKERS] [PAYLOAD single|batch100]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$(dirname "$here")")
workers=${1:-1}; payload=${2:-single}; seconds=${SOAK_SECONDS:-300}
port=${PORT:-18331}
source "$here/start_server.sh"
rss() { ps -o rss= -g "$pid" | awk '{s+=$1} END {print s}'; }
url="http://127.0.0.1:$port/v2/models/demo-lgbm/infer"
body="$model_dir/payloads/v2_${payload}.json"
taskset -c 1 wrk -t 1 -c 16 -d 20s -s "$lua" "$url" -- "$body" >/dev/null
before=$(rss)
out=$(taskset -c 1 wrk -t 1 -c 16 -d "${seconds}s" -s "$lua" "$url" -- "$body" | grep WRKJSON)
after=$(rss)
python3 - "$out" "$before" "$after" "$seconds" "$workers" "$payload" <<'PY'
import json, sys
d = json.loads(sys.argv[1].split(" ", 1)[1])
before, after = int(sys.argv[2]), int(sys.argv[3])
errors = sum(d[k] for k in ("err_status", "err_connect", "err_read", "err_write", "err_timeout"))
growth = (after - before) / before * 100
print(f"soak {sys.argv[4]} s, {sys.argv[5]} worker(s), {sys.argv[6]}, 16 connections: "
      f"{d['requests']} requests, {d['requests'] / d['duration_us'] * 1e6:.0f} req/s, "
      f"p99 {d['p99_us'] / 1000:.2f} ms, errors {errors}, RSS {before / 1024:.0f} -> {after / 1024:.0f} MiB ({growth:+.1f} %)")
sys.exit(0 if errors == 0 and growth < 10 else 1)
PY
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
