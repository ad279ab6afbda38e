#!/usr/bin/env bash
# A/B of two source trees of `conveyor serve`, interleaved (A B A B ...), through `tail.py --serve`.
# Usage: bench/serving/ab.sh SRC_A SRC_B ROUNDS [tail.py options...]
#   SRC_A/SRC_B: a `src` folder (e.g. `git archive COMMIT src | tar -x -C /tmp/a`), or `.` for this checkout.
#   A_BIN/B_BIN: a prefix for that side's command (e.g. "taskset -c 0"); A_ARGS/B_ARGS: extra serve arguments.
# Each run prints a RESULT line labelled A or B. Run it under `flock /tmp/conveyor-bench.lock`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$(dirname "$here")")
src_a=$1; src_b=$2; rounds=$3; shift 3
run() {  # label src prefix args tail-options...
  local label=$1 src=$2 prefix=$3 args=$4; shift 4
  local path=""; [ "$src" = . ] || path="PYTHONPATH=$src"
  # shellcheck disable=SC2086
  CONVEYOR_BIN="$prefix env $path $repo/.venv/bin/conveyor" CONVEYOR_ARGS="$args" \
    "$repo/.venv/bin/python" "$here/tail.py" --serve --label "$label" "$@"
}
for _ in $(seq "$rounds"); do
  run A "$src_a" "${A_BIN:-}" "${A_ARGS:-}" "$@"
  run B "$src_b" "${B_BIN:-}" "${B_ARGS:-}" "$@"
done
