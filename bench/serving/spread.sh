#!/usr/bin/env bash
# How connections spread over the workers, and where the tail comes from: ROUNDS wrk runs at 16
# connections (3 s warm-up, then SECONDS measured, new connections each time, like the harness), each
# printed with the established connections per worker process (sampled 2 s into the measured run) and,
# from /proc/PID/task/*/schedstat over all but the last second of the measured run, the CPU time and the time spent runnable
# but waiting for a CPU, per server process and for wrk (as shares of that window).
# Usage: bench/serving/spread.sh [WORKERS] [ROUNDS] [PAYLOAD single|batch100] [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$(dirname "$here")")
workers=${1:-2}; rounds=${2:-5}; payload=${3:-single}; seconds=${4:-10}
port=${PORT:-18341}
source "$here/start_server.sh"
url="http://127.0.0.1:$port/v2/models/demo-lgbm/infer"
body="$model_dir/payloads/v2_${payload}.json"
sleep 20  # every worker listening, not only the first one ready
sched() {  # pid, then CPU and run-queue wait in ns summed over its threads
  for p in "$@"; do echo "$p $(cat /proc/"$p"/task/*/schedstat 2>/dev/null | awk '{c += $1; w += $2} END {print c + 0, w + 0}')"; done
}
for round in $(seq "$rounds"); do
  taskset -c 1 wrk -t 1 -c 16 -d 3s -s "$lua" "$url" -- "$body" >/dev/null
  out=$(mktemp)
  taskset -c 1 wrk -t 1 -c 16 -d "${seconds}s" -s "$lua" "$url" -- "$body" >"$out" &
  wrk_pid=$!
  procs=$(ps -o pid= -g "$pid" | tr -d ' ')
  before=$(sched $procs $wrk_pid); started=$(date +%s.%N)
  sleep 2
  split=$(ss -tnpH state established "( sport = :$port )" | grep -o 'pid=[0-9]*' | sort | uniq -c | awk '{print $1}' | sort -rn | paste -sd/ || true)
  sleep $((seconds - 3))
  after=$(sched $procs $wrk_pid); span=$(echo "$(date +%s.%N) - $started" | bc -l)
  wait $wrk_pid
  python3 - "$round" "$split" "$(grep WRKJSON "$out")" "$before" "$after" "$wrk_pid" "$span" <<'PY'
import json, sys
d = json.loads(sys.argv[3].split(" ", 1)[1])
before = {l.split()[0]: [int(x) for x in l.split()[1:]] for l in sys.argv[4].splitlines()}
after = {l.split()[0]: [int(x) for x in l.split()[1:]] for l in sys.argv[5].splitlines()}
span = float(sys.argv[7])
usage = []
for p, (cpu, wait) in after.items():
    cpu0, wait0 = before.get(p, [cpu, wait])
    if cpu - cpu0 > 0.05e9 * span:  # the busy ones: workers and wrk
        name = "wrk" if p == sys.argv[6] else "srv"
        usage.append(f"{name} cpu {(cpu - cpu0) / 1e7 / span:3.0f}% waiting {(wait - wait0) / 1e7 / span:3.0f}%")
print(f"round {sys.argv[1]}: connections per worker {sys.argv[2]:>6s}  req/s {d['requests'] / d['duration_us'] * 1e6:7.0f}  "
      f"p50 {d['p50_us'] / 1000:6.2f}  p90 {d['p90_us'] / 1000:6.2f}  p99 {d['p99_us'] / 1000:7.2f} ms  | " + "; ".join(usage))
PY
  rm -f "$out"
done
echo "$workers worker(s), $payload, load: $(cut -d' ' -f1-3 /proc/loadavg)"
