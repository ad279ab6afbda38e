#!/usr/bin/env bash
# Quick local check of `conveyor serve` on the harness model: wrk for each payload x connections, one
# worker count, short runs. For iterating on the fast path; the figures of record come from ../serving.sh.
# Usage: bench/serving/quick.sh [WORKERS] [SECONDS] [PROTOCOL v2|invocations]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$(dirname "$here")")
workers=${1:-1}; seconds=${2:-5}; proto=${3:-v2}
port=${PORT:-18321}
source "$here/start_server.sh"
if [ "$proto" = v2 ]; then url="http://127.0.0.1:$port/v2/models/demo-lgbm/infer"; else url="http://127.0.0.1:$port/invocations"; fi
for payload in single batch100; do
  for conns in 1 16; do
    body="$model_dir/payloads/${proto}_${payload}.json"
    taskset -c 1 wrk -t 1 -c "$conns" -d 2s -s "$lua" "$url" -- "$body" >/dev/null
    out=$(taskset -c 1 wrk -t 1 -c "$conns" -d "${seconds}s" -s "$lua" "$url" -- "$body" | grep WRKJSON)
    python3 - "$payload" "$conns" "$out" <<'PY'
import json, sys
d = json.loads(sys.argv[3].split(" ", 1)[1])
errs = d["err_status"] + d["err_connect"] + d["err_read"] + d["err_write"] + d["err_timeout"]
print(f"{sys.argv[1]:9s} conns={sys.argv[2]:>2s} req/s={d['requests'] / d['duration_us'] * 1e6:8.1f} "
      f"p50={d['p50_us'] / 1000:6.2f}ms p99={d['p99_us'] / 1000:6.2f}ms errors={errs}")
PY
  done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
