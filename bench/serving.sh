#!/usr/bin/env bash
# Online serving: conveyor side by side with MLServer and `mlflow models serve` through
# ../shared/bench/serving. Environment: VENV (the harness venv, outside the repo), OUT, and any
# bench.sh option as arguments (e.g. --servers conveyor --workers 1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
shared=${SHARED:-$(cd "$repo/../shared" && pwd)}
export VENV=${VENV:-$HOME/venvs/servebench}
export OUT=${OUT:-${TMPDIR:-/tmp}/conveyor-bench/serving/$(date -u +%Y%m%dT%H%M%S)}
export MODEL_DIR=${MODEL_DIR:-${TMPDIR:-/tmp}/conveyor-bench/serving-model}
export CONVEYOR_BIN="$repo/.venv/bin/conveyor"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [ ! -x "$VENV/bin/python" ]; then
  python3.11 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r "$shared/bench/serving/requirements.txt"
fi
cd "$shared/bench/serving"
./bench.sh "$@"
